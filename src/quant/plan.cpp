// Placement: which nodes are quantised, and which of their inputs are activations and weights.
// Each op type has a small rule (its weight input and per-channel axis), found in one table.
#include "quant/plan.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

namespace tinyq::quant {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The declared element type of a value, kUndefined when the graph does not say.
DType declared_dtype(const ir::Graph& g, const std::string& name) {
  if (const ir::ValueInfo* v = g.find_input(name)) return v->dtype;
  for (const auto& v : g.value_info)
    if (v.name == name) return v.dtype;
  return DType::kUndefined;
}

bool float_or_unknown(const ir::Graph& g, const std::string& name) {
  const DType t = declared_dtype(g, name);
  return t == DType::kUndefined || t == DType::kFloat32;
}

// The output-channel axis of a weight of rank `rank` for node n; -1 when the weight has no
// channel axis tinyq quantises per channel.
using AxisRule = std::function<int64_t(const ir::Node& n, int64_t rank)>;

// The dims [begin, end) of a weight of rank `rank` that one output sums over for one input
// channel (see WeightSite::group_begin).
using GroupRule = std::function<std::pair<int64_t, int64_t>(const ir::Node& n, int64_t rank)>;

struct OpRule {
  int64_t min_weight_rank;
  int64_t max_weight_rank;
  AxisRule axis;
  GroupRule group;
};

std::pair<int64_t, int64_t> spatial_dims(const ir::Node&, int64_t rank) { return {2, rank}; }

const std::map<std::string, OpRule>& op_rules() {
  static const std::map<std::string, OpRule> kRules = {
      // Conv weight [M, C/group, k...]: output channels on axis 0.
      {"Conv", {3, 5, [](const ir::Node&, int64_t) { return int64_t{0}; }, spatial_dims}},
      // ConvTranspose weight [C, M/group, k...]: output channels (within a group) on axis 1.
      {"ConvTranspose", {3, 5, [](const ir::Node&, int64_t) { return int64_t{1}; }, spatial_dims}},
      // Gemm B is [N, K] with transB, else [K, N].
      {"Gemm", {2, 2,
                [](const ir::Node& n, int64_t) {
                  const ir::Attribute* t = n.attr("transB");
                  return int64_t{t && t->i != 0 ? 0 : 1};
                },
                [](const ir::Node& n, int64_t) {
                  const ir::Attribute* t = n.attr("transB");
                  return t && t->i != 0 ? std::pair<int64_t, int64_t>{1, 2} : std::pair<int64_t, int64_t>{0, 1};
                }}},
      // MatMul B [K, N]: columns on the last axis; batched weights are quantised per tensor.
      {"MatMul", {1, 8, [](const ir::Node&, int64_t rank) { return rank == 2 ? int64_t{1} : int64_t{-1}; },
                  [](const ir::Node&, int64_t rank) { return std::pair<int64_t, int64_t>{std::max<int64_t>(rank - 2, 0), std::max<int64_t>(rank - 1, 1)}; }}},
  };
  return kRules;
}

Status check_names(const ir::Graph& g, const PlacementOptions& o) {
  std::set<std::string> names, types;
  for (const auto& n : g.nodes) {
    names.insert(n.name);
    types.insert(n.op_type);
  }
  for (const auto& t : o.op_types)
    if (!op_rules().count(t)) {
      std::string known;
      for (const auto& k : quantizable_op_types()) known += (known.empty() ? "" : ", ") + k;
      return Status::invalid_argument("op type '" + t + "' cannot be quantised by tinyq (it quantises " + known + ")");
    }
  for (const auto& n : o.include_nodes)
    if (!names.count(n)) return Status::invalid_argument("include node '" + n + "' matches no node in the graph");
  for (const auto& n : o.exclude_nodes)
    if (!names.count(n)) return Status::invalid_argument("exclude node '" + n + "' matches no node in the graph");
  for (const auto& t : o.exclude_op_types)
    if (!types.count(t)) return Status::invalid_argument("exclude op type '" + t + "' matches no node in the graph");
  return Status::ok();
}

// Why n cannot be quantised, or nullopt when it can; fills `site` when it can.
std::optional<std::string> place(const ir::Graph& g, const ir::Node& n, const OpRule& rule, bool per_channel,
                                 NodeSite* site) {
  if (!n.domain.empty() && n.domain != "ai.onnx") return "not in the default ONNX domain";
  if (n.inputs.size() < 2 || n.inputs[0].empty() || n.inputs[1].empty()) return "has fewer than two inputs";
  if (g.is_initializer(n.inputs[0])) return "its data input '" + n.inputs[0] + "' is a constant";
  if (!float_or_unknown(g, n.inputs[0])) return "its data input '" + n.inputs[0] + "' is not float32";
  if (g.is_initializer(n.inputs[1]) && g.initializers.at(n.inputs[1]).dtype() != DType::kFloat32)
    return "its weight '" + n.inputs[1] + "' is not float32";
  site->node = site_name(n);
  site->op_type = n.op_type;
  site->activations = {n.inputs[0]};
  if (!g.is_initializer(n.inputs[1])) {
    // Two run-time operands: only MatMul multiplies those; Conv/Gemm weights must be constant.
    if (n.op_type != "MatMul") return "its weight '" + n.inputs[1] + "' is not an initializer";
    if (!float_or_unknown(g, n.inputs[1])) return "its input '" + n.inputs[1] + "' is not float32";
    if (n.inputs[1] != n.inputs[0]) site->activations.push_back(n.inputs[1]);
    return std::nullopt;
  }
  const Tensor& w = g.initializers.at(n.inputs[1]);
  if (w.rank() < rule.min_weight_rank || w.rank() > rule.max_weight_rank)
    return "its weight '" + n.inputs[1] + "' has rank " + std::to_string(w.rank());
  if (w.numel() == 0) return "its weight '" + n.inputs[1] + "' is empty";
  WeightSite ws;
  ws.node = site->node;
  ws.input = 1;
  ws.initializer = n.inputs[1];
  ws.axis = per_channel ? rule.axis(n, w.rank()) : -1;
  std::tie(ws.group_begin, ws.group_end) = rule.group(n, w.rank());
  site->weights.push_back(ws);
  return std::nullopt;
}

}  // namespace

Result<QuantPlan> plan_quantization(const ir::Graph& g, const PlacementOptions& options) {
  TINYQ_RETURN_IF_ERROR(check_names(g, options));
  QuantPlan plan;
  for (const auto& n : g.nodes) {
    if (!contains(options.op_types, n.op_type) || contains(options.exclude_op_types, n.op_type)) continue;
    if (!options.include_nodes.empty() && !contains(options.include_nodes, n.name)) continue;
    if (contains(options.exclude_nodes, n.name)) continue;
    NodeSite site;
    if (auto why = place(g, n, op_rules().at(n.op_type), options.per_channel, &site)) {
      plan.skipped.push_back({site_name(n), n.op_type, *why});
      continue;
    }
    for (const auto& a : site.activations)
      if (!contains(plan.activations, a)) plan.activations.push_back(a);
    plan.nodes.push_back(std::move(site));
  }
  // An explicitly included node that stays fp32 is the caller's mistake, not a silent skip.
  for (const auto& s : plan.skipped)
    if (contains(options.include_nodes, s.node))
      return Status::invalid_argument("include node '" + s.node + "' (" + s.op_type + ") cannot be quantised: " + s.reason);
  for (const auto& name : options.include_nodes) {
    bool placed = std::any_of(plan.nodes.begin(), plan.nodes.end(), [&](const NodeSite& s) { return s.node == name; });
    bool skipped = std::any_of(plan.skipped.begin(), plan.skipped.end(), [&](const SkippedNode& s) { return s.node == name; });
    if (!placed && !skipped) {
      auto it = std::find_if(g.nodes.begin(), g.nodes.end(), [&](const ir::Node& n) { return n.name == name; });
      return Status::invalid_argument("include node '" + name + "' is a " + it->op_type +
                                      ", not one of the op types being quantised");
    }
  }
  if (plan.nodes.empty()) {
    std::string why = "no node can be quantised (tinyq quantises Conv, ConvTranspose, Gemm and MatMul with a float32 weight)";
    for (const auto& s : plan.skipped) why += "; " + s.op_type + " '" + s.node + "' " + s.reason;
    return Status::invalid_argument(why);
  }
  return plan;
}

}  // namespace tinyq::quant
