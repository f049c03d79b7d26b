#include "quant/tap.h"

#include <set>

namespace tinyq::quant {

namespace {

// The declaration the graph already has for `name` (an input or a value_info entry), if any.
const ir::ValueInfo* declared(const ir::Graph& g, const std::string& name) {
  if (const ir::ValueInfo* v = g.find_input(name)) return v;
  for (const auto& v : g.value_info)
    if (v.name == name) return &v;
  return nullptr;
}

}  // namespace

Result<ir::Model> expose_tensors(const ir::Model& model, std::span<const std::string> names) {
  const ir::Graph& g = model.graph;
  std::set<std::string> produced;
  for (const auto& node : g.nodes)
    for (const auto& o : node.outputs)
      if (!o.empty()) produced.insert(o);

  ir::Model out = model;
  std::set<std::string> outputs;
  for (const auto& v : g.outputs) outputs.insert(v.name);
  for (const std::string& name : names) {
    if (outputs.count(name)) continue;
    if (g.is_initializer(name))
      return Status::invalid_argument("cannot expose tensor '" + name +
                                      "': it is an initializer (a constant), not a value computed by the model");
    if (!produced.count(name) && !g.find_input(name))
      return Status::not_found("cannot expose tensor '" + name + "': no node or graph input produces it");
    const ir::ValueInfo* decl = declared(g, name);
    ir::ValueInfo v = decl ? *decl : ir::ValueInfo{};
    v.name = name;
    out.graph.outputs.push_back(std::move(v));
    outputs.insert(name);
  }
  return out;
}

}  // namespace tinyq::quant
