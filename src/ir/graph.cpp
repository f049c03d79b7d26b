#include "ir/graph.h"

#include <set>
#include <unordered_map>

namespace tinyq::ir {

std::string Node::describe() const {
  std::string out = op_type;
  if (!name.empty()) return out + " '" + name + "'";
  if (!outputs.empty() && !outputs[0].empty()) return out + " (output '" + outputs[0] + "')";
  return out + " #" + std::to_string(index);
}

const ValueInfo* Graph::find_input(const std::string& name) const {
  for (const auto& v : inputs)
    if (v.name == name) return &v;
  return nullptr;
}

const ValueInfo* Graph::find_output(const std::string& name) const {
  for (const auto& v : outputs)
    if (v.name == name) return &v;
  return nullptr;
}

int64_t Model::opset() const {
  auto it = opset_imports.find("");
  if (it != opset_imports.end()) return it->second;
  it = opset_imports.find("ai.onnx");
  if (it != opset_imports.end()) return it->second;
  return 0;
}

Status topo_sort(Graph& g) {
  std::set<std::string> available;
  for (const auto& in : g.inputs) available.insert(in.name);
  for (const auto& [name, t] : g.initializers) available.insert(name);
  std::unordered_map<std::string, int> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs)
      if (!o.empty()) {
        if (producer.count(o) || available.count(o))
          return Status::corrupt("value '" + o + "' is produced more than once (by " +
                                 g.nodes[i].op_type + " '" + g.nodes[i].name + "')");
        producer[o] = static_cast<int>(i);
      }
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& in : g.nodes[i].inputs)
      if (!in.empty() && !available.count(in) && !producer.count(in)) {
        g.nodes[i].index = static_cast<int>(i);
        return Status::corrupt(g.nodes[i].describe() + ": input '" + in + "' is not produced by any node, graph input or initializer");
      }

  std::vector<Node> sorted;
  sorted.reserve(g.nodes.size());
  std::vector<bool> done(g.nodes.size(), false);
  size_t remaining = g.nodes.size();
  while (remaining > 0) {
    bool progressed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (done[i]) continue;
      bool ready = true;
      for (const auto& in : g.nodes[i].inputs)
        if (!in.empty() && !available.count(in)) { ready = false; break; }
      if (!ready) continue;
      done[i] = true;
      --remaining;
      progressed = true;
      for (const auto& o : g.nodes[i].outputs)
        if (!o.empty()) available.insert(o);
      sorted.push_back(std::move(g.nodes[i]));
    }
    if (!progressed) {
      for (size_t i = 0; i < g.nodes.size(); ++i)
        if (!done[i]) {
          g.nodes[i].index = static_cast<int>(i);
          return Status::corrupt("graph has a cycle through " + g.nodes[i].describe());
        }
    }
  }
  g.nodes = std::move(sorted);
  for (size_t i = 0; i < g.nodes.size(); ++i) g.nodes[i].index = static_cast<int>(i);
  return Status::ok();
}

}  // namespace tinyq::ir
