#include "quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "kernels/quant_params.h"
#include "quant/histogram.h"

namespace tinyq::quant {

namespace {

// u8 grid: 0..255.
constexpr float kU8Levels = 255.0f;
// s8 symmetric grid: -127..127, so [-a, a] maps onto +-127 and 0 is exact.
constexpr float kS8Max = 127.0f;

bool is_graph_input(const ir::Graph& g, const std::string& t) { return g.find_input(t) != nullptr; }

// A bound the graph puts on a value; unset when that side is open.
struct Bounds {
  std::optional<float> lo, hi;
};

std::optional<float> scalar_constant(const ir::Graph& g, const ir::Node& n, size_t input) {
  if (input >= n.inputs.size() || n.inputs[input].empty()) return std::nullopt;
  auto it = g.initializers.find(n.inputs[input]);
  if (it == g.initializers.end() || it->second.numel() != 1 || it->second.dtype() != DType::kFloat32) return std::nullopt;
  return it->second.data<float>()[0];
}

Bounds graph_bounds(const ir::Graph& g, const std::string& t) {
  const ir::Node* p = nullptr;
  for (const auto& n : g.nodes)
    if (std::find(n.outputs.begin(), n.outputs.end(), t) != n.outputs.end()) p = &n;
  if (!p || (!p->domain.empty() && p->domain != "ai.onnx")) return {};
  const std::string& op = p->op_type;
  if (op == "Relu") return {0.0f, std::nullopt};
  if (op == "Sigmoid" || op == "HardSigmoid") return {0.0f, 1.0f};
  if (op == "Tanh") return {-1.0f, 1.0f};
  if (op == "Clip") {
    Bounds b{scalar_constant(g, *p, 1), scalar_constant(g, *p, 2)};
    if (const ir::Attribute* a = p->attr("min")) b.lo = a->f;  // opset < 11
    if (const ir::Attribute* a = p->attr("max")) b.hi = a->f;
    return b;
  }
  return {};
}

}  // namespace

Range widen_range(const ir::Graph& g, const std::string& tensor, const Range& r, double margin, bool exact_input) {
  if (margin <= 0.0 || (exact_input && is_graph_input(g, tensor))) return r;
  const Bounds b = graph_bounds(g, tensor);
  const float grow = static_cast<float>(1.0 + margin);
  Range out{r.min * grow, r.max * grow};
  if (b.lo) out.min = std::max(out.min, std::min(*b.lo, r.min));
  if (b.hi) out.max = std::min(out.max, std::max(*b.hi, r.max));
  return out;
}

ActivationParams activation_params(const Range& range, ActivationType type) {
  ActivationParams p;
  p.type = type;
  const float lo = std::min(range.min, 0.0f), hi = std::max(range.max, 0.0f);
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return p;  // all zeros: any scale is exact
  if (type == ActivationType::kS8Symmetric) {
    p.scale = std::max(-lo, hi) / kS8Max;
    p.zero_point = 0;
    return p;
  }
  float scale = (hi - lo) / kU8Levels;
  p.zero_point = kernels::quantize_saturate(-lo / scale, 0, 0, 255);
  // The rounded zero point moves the grid; widen the scale so both ends stay representable.
  if (p.zero_point < 255) scale = std::max(scale, hi / (kU8Levels - static_cast<float>(p.zero_point)));
  if (p.zero_point > 0) scale = std::max(scale, -lo / static_cast<float>(p.zero_point));
  p.scale = scale;
  return p;
}

Result<Calibrated> calibrate(const ir::Model& fp32, const PlacementOptions& placement, const std::string& npz_path,
                             const ObserveOptions& observe_options) {
  TINYQ_ASSIGN_OR_RETURN(QuantPlan plan, plan_quantization(fp32.graph, placement));
  TINYQ_ASSIGN_OR_RETURN(Observations obs, observe(fp32, plan.activations, npz_path, observe_options));
  return Calibrated{std::move(plan), std::move(obs)};
}

Result<Quantized> quantize_calibrated(const ir::Model& fp32, const QuantPlan& plan, const Observations& observations,
                                      const StaticOptions& options) {
  QdqParams params;
  params.rounding = options.rounding;
  RangeOptions ro = options.range;
  ro.symmetric = options.activations == ActivationType::kS8Symmetric;
  RangeOptions exact = ro;
  exact.method = CalibrationMethod::kMinMax;
  std::vector<ClippedActivation> clipped;
  for (const auto& t : plan.activations) {
    const bool keep_exact = options.exact_input_ranges && is_graph_input(fp32.graph, t);
    TINYQ_ASSIGN_OR_RETURN(Range r, observations.range(t, keep_exact ? exact : ro));
    r = widen_range(fp32.graph, t, r, options.range_margin, options.exact_input_ranges);
    params.activations[t] = activation_params(r, options.activations);
    if (const TensorStats* s = observations.stats(t)) {
      const double share = clipped_fraction(*s, r.min, r.max);
      if (share > kClipWarningShare) clipped.push_back({t, share, Range{s->min, s->max}, r});
    }
  }
  TINYQ_ASSIGN_OR_RETURN(ir::Model m, write_qdq(fp32, plan, params));
  return Quantized{std::move(m), plan, observations.rows(), std::move(clipped)};
}

Result<Quantized> quantize_static(const ir::Model& fp32, const std::string& npz_path, const StaticOptions& options) {
  TINYQ_ASSIGN_OR_RETURN(Calibrated c, calibrate(fp32, options.placement, npz_path, options.observe));
  return quantize_calibrated(fp32, c.plan, c.observations, options);
}

Result<Quantized> quantize_dynamic(const ir::Model& fp32, const PlacementOptions& placement, QdqParams::Rounding rounding) {
  TINYQ_ASSIGN_OR_RETURN(QuantPlan plan, plan_quantization(fp32.graph, placement));
  QdqParams params;
  params.dynamic = true;
  params.rounding = rounding;
  TINYQ_ASSIGN_OR_RETURN(ir::Model m, write_qdq(fp32, plan, params));
  return Quantized{std::move(m), std::move(plan), 0, {}};
}

}  // namespace tinyq::quant
