// Static and dynamic post-training quantisation on tinyq's IR: placement (plan.h), calibration
// (calibrate.h), parameter choice, then write_qdq. The public file-level API
// (include/tinyq/quantize.h) and the benchmarks are thin layers over this.
#pragma once

#include <string>
#include <vector>

#include "quant/calibrate.h"
#include "quant/plan.h"

namespace tinyq::quant {

struct StaticOptions {
  PlacementOptions placement;
  RangeOptions range;  // method and percentile; `symmetric` follows `activations`
  ActivationType activations = ActivationType::kU8Asymmetric;
  // Activations that are graph inputs keep their exact calibrated min/max whatever the method:
  // clipping a model's own input buys no resolution worth the error (an image in [0,1] is
  // exactly k/255, which the min/max grid reproduces without loss).
  bool exact_input_ranges = true;
  // Calibrated ranges widen by this fraction on each side the graph leaves open (see
  // widen_range), because data beyond the calibration set saturates an activation otherwise.
  double range_margin = 0.0;
  QdqParams::Rounding rounding = QdqParams::Rounding::kSumPreserving;
  ObserveOptions observe;
};

// The range an activation is quantised over: `calibrated` widened by `margin` of itself on each
// side (min * (1 + margin), max * (1 + margin)) unless the graph bounds that side: a Clip with
// constant bounds, Relu (>= 0), Sigmoid/HardSigmoid ([0, 1]), Tanh ([-1, 1]); a graph input
// stays as calibrated when `exact_input` (its data range is the data's own, e.g. [0, 1] images).
Range widen_range(const ir::Graph& g, const std::string& tensor, const Range& calibrated, double margin, bool exact_input);

// Scale and zero point for a calibrated range: u8 asymmetric maps [min, max] onto 0..255 with 0
// exactly representable; s8 symmetric maps [-a, a] onto -127..127 with zero point 0.
ActivationParams activation_params(const Range& range, ActivationType type);

// An activation whose calibrated range clips more than kClipWarningShare of the values calibration
// saw there: the method judged them outliers, but when they are not (a Relu6's many values at 6,
// which the entropy method may cut to a fraction of the range), accuracy collapses. Reported, not
// changed: the user chose the method.
constexpr double kClipWarningShare = 0.01;
struct ClippedActivation {
  std::string tensor;
  double share = 0.0;  // of the calibration values seen at the tensor
  Range seen;          // exact min/max over the calibration set
  Range kept;          // the quantisation range
};

struct Quantized {
  ir::Model model;
  QuantPlan plan;
  int64_t calibration_rows = 0;  // static only
  std::vector<ClippedActivation> clipped;  // static only, in plan order
};

// Calibration once, parameters many times (the benchmarks sweep methods over one observation).
struct Calibrated {
  QuantPlan plan;
  Observations observations;
};
Result<Calibrated> calibrate(const ir::Model& fp32, const PlacementOptions& placement, const std::string& npz_path,
                             const ObserveOptions& observe);
// Parameters from the observations, then the file. `plan` may differ from calibrated.plan in
// weight granularity only (its activations must have been observed).
Result<Quantized> quantize_calibrated(const ir::Model& fp32, const QuantPlan& plan, const Observations& observations,
                                      const StaticOptions& options);

// calibrate() + quantize_calibrated().
Result<Quantized> quantize_static(const ir::Model& fp32, const std::string& npz_path, const StaticOptions& options);
// Weights int8 offline, activations quantised per run (DynamicQuantizeLinear).
Result<Quantized> quantize_dynamic(const ir::Model& fp32, const PlacementOptions& placement,
                                   QdqParams::Rounding rounding = QdqParams::Rounding::kSumPreserving);

}  // namespace tinyq::quant
