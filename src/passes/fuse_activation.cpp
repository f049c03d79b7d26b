#include "passes/fuse_activation.h"

#include <algorithm>
#include <map>
#include <set>

namespace tinyq::passes {

namespace {

bool produces_fusable_output(const ir::Node& n) {
  return (n.op_type == "Conv" || n.op_type == "ConvTranspose" || n.op_type == "Gemm" || n.op_type == "MatMul") &&
         (n.domain.empty() || n.domain == "ai.onnx") && n.outputs.size() == 1 && !n.has_clamp();
}

// The clamp bounds of a Relu or float Clip, when they are known constants.
bool activation_bounds(const ir::Graph& g, const ir::Node& act, int64_t opset, float* lo, float* hi) {
  if (!act.domain.empty() && act.domain != "ai.onnx") return false;
  if (act.op_type == "Relu") {
    if (!act.attributes.empty()) return false;
    *lo = 0.0f;
    *hi = std::numeric_limits<float>::infinity();
    return true;
  }
  if (act.op_type != "Clip") return false;
  *lo = -std::numeric_limits<float>::infinity();
  *hi = std::numeric_limits<float>::infinity();
  if (opset < 11) {
    for (const auto& [k, a] : act.attributes) {
      if (k == "min") *lo = a.f;
      else if (k == "max") *hi = a.f;
      else return false;
    }
    return true;
  }
  if (!act.attributes.empty()) return false;
  for (size_t i = 1; i < act.inputs.size() && i < 3; ++i) {
    if (act.inputs[i].empty()) continue;
    auto it = g.initializers.find(act.inputs[i]);
    if (it == g.initializers.end() || it->second.dtype() != DType::kFloat32 || it->second.numel() != 1) return false;
    (i == 1 ? *lo : *hi) = it->second.data<float>()[0];
  }
  return *lo <= *hi;
}

}  // namespace

int fuse_activations(ir::Graph& g, int64_t opset) {
  std::map<std::string, int> consumers;
  for (const auto& n : g.nodes)
    for (const auto& in : n.inputs)
      if (!in.empty()) ++consumers[in];
  std::set<std::string> graph_outputs;
  for (const auto& o : g.outputs) graph_outputs.insert(o.name);
  std::map<std::string, int> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const auto& o : g.nodes[i].outputs) producer[o] = static_cast<int>(i);

  std::vector<bool> removed(g.nodes.size(), false);
  int fused = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node& act = g.nodes[i];
    if (act.inputs.empty() || act.outputs.size() != 1) continue;
    auto p = producer.find(act.inputs[0]);
    if (p == producer.end()) continue;
    ir::Node& prod = g.nodes[p->second];
    if (!produces_fusable_output(prod)) continue;
    const std::string& mid = prod.outputs[0];
    if (consumers[mid] != 1 || graph_outputs.count(mid)) continue;
    float lo, hi;
    if (!activation_bounds(g, act, opset, &lo, &hi)) continue;
    prod.clamp_min = lo;
    prod.clamp_max = hi;
    prod.outputs[0] = act.outputs[0];
    producer[act.outputs[0]] = p->second;
    removed[i] = true;
    ++fused;
  }
  if (!fused) return 0;
  std::vector<ir::Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!removed[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  for (size_t i = 0; i < g.nodes.size(); ++i) g.nodes[i].index = static_cast<int>(i);
  return fused;
}

}  // namespace tinyq::passes
