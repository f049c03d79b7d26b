// Calibration: streams a calibration set through the fp32 model and turns what it sees at each
// observed tensor into a quantisation range. Memory is bounded whatever the set's size: rows are
// read one batch at a time and histograms have a fixed number of bins.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "tinyq/status.h"

namespace tinyq::quant {

struct TensorStats;  // quant/histogram.h

enum class CalibrationMethod { kMinMax, kPercentile, kEntropy, kMse };
// "minmax", "percentile", "entropy", "mse"; anything else is kInvalidArgument naming the value.
Result<CalibrationMethod> parse_calibration_method(std::string_view name);
const char* calibration_method_name(CalibrationMethod method);

// A real-valued range [min, max] that a quantiser maps onto an integer grid. Always contains 0.
struct Range {
  float min = 0.0f;
  float max = 0.0f;
};

struct CalibrationProgress {
  int pass = 0;          // 0 = min/max pass, 1 = histogram pass
  int passes = 2;
  int64_t rows_done = 0;
  int64_t rows_total = 0;
};

struct ObserveOptions {
  int bins = 2048;             // histogram bins per tensor (fixed: memory does not grow with the set)
  int64_t rows_per_run = 1;    // rows fed per run (1 = each sample on its own, as the model is used)
  std::function<void(const CalibrationProgress&)> progress;  // may be empty
};

struct RangeOptions {
  CalibrationMethod method = CalibrationMethod::kMinMax;
  double percentile = 99.999;  // kPercentile: share of |values| (symmetric) or of values kept
  bool symmetric = false;      // s8 symmetric activations: the range is [-a, a]
  int quant_levels = 256;      // grid size the entropy / mse searches quantise onto
};

// What calibration saw at each observed tensor: exact min/max and a fixed-bin histogram.
class Observations {
 public:
  Observations();
  ~Observations();
  Observations(Observations&&) noexcept;
  Observations& operator=(Observations&&) noexcept;

  // The tensors observed, in the order they were asked for.
  const std::vector<std::string>& tensors() const;
  int64_t rows() const;  // calibration rows seen
  // The range for one observed tensor under a method; kNotFound for a tensor not observed.
  Result<Range> range(const std::string& tensor, const RangeOptions& options) const;
  // range() for every observed tensor.
  Result<std::map<std::string, Range>> ranges(const RangeOptions& options) const;
  // What was seen at one observed tensor (exact min/max, histograms); nullptr when not observed.
  const TensorStats* stats(const std::string& tensor) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  friend Result<Observations> observe(const ir::Model&, std::span<const std::string>, const std::string&,
                                      const ObserveOptions&);
};

// Runs the fp32 model (graph passes off, so every named tensor exists as written) over every row
// of the .npz calibration set and observes the float tensors `tensors` (graph inputs or
// intermediate values). Arrays named after model inputs are fed; others (labels) are ignored.
// Errors name the file and the array: a missing input, a row shape that does not fit, NaN/Inf.
Result<Observations> observe(const ir::Model& model, std::span<const std::string> tensors,
                             const std::string& npz_path, const ObserveOptions& options = {});

}  // namespace tinyq::quant
