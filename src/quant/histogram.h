// The range maths of calibration: fixed-bin histograms and the methods that turn what was observed
// at one tensor into a quantisation range (minmax, percentile, entropy, mse). Pure functions.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "quant/calibrate.h"
#include "tinyq/status.h"

namespace tinyq::quant {

// Every range is at least this wide, so a scale is never zero: a constant-zero tensor gets
// [0, kMinRangeWidth] (asymmetric) or [-kMinRangeWidth/2, kMinRangeWidth/2] (symmetric). Its
// values all quantise exactly to the zero point whatever the width; 1e-6 keeps scale = width/255
// a normal float32 and wastes no resolution on tensors of ordinary magnitude.
inline constexpr float kMinRangeWidth = 1e-6f;

// Probability given to empty bins of the quantised distribution in KL(P || Q), so a bin that P
// fills and Q leaves empty costs a large but finite divergence (the usual TensorRT/MXNet smoothing).
inline constexpr double kKlSmoothing = 1e-4;

// Fixed bins over [lo, hi]: bin i counts values in [edge(i), edge(i + 1)); the last bin also
// counts hi. Values outside [lo, hi] count in the end bins. lo == hi puts everything in bin 0.
class Histogram {
 public:
  Histogram() = default;
  Histogram(double lo, double hi, int bins);

  void add(float v, int64_t n = 1) { counts_[bin_of(v)] += n; }
  void add(std::span<const float> values) {
    for (float v : values) ++counts_[bin_of(v)];
  }

  double lo() const { return lo_; }
  double hi() const { return hi_; }
  int bins() const { return static_cast<int>(counts_.size()); }
  double width() const { return bins() ? (hi_ - lo_) / bins() : 0.0; }
  // Left edge of bin i; edge(bins()) is hi exactly.
  double edge(int i) const { return i >= bins() ? hi_ : lo_ + i * width(); }
  const std::vector<int64_t>& counts() const { return counts_; }
  int64_t total() const;

 private:
  int bin_of(float v) const {
    const double x = (static_cast<double>(v) - lo_) * inv_width_;
    if (!(x > 0.0)) return 0;  // also lo == hi (inv_width_ 0)
    return x >= counts_.size() ? bins() - 1 : static_cast<int>(x);
  }
  double lo_ = 0.0, hi_ = 0.0, inv_width_ = 0.0;
  std::vector<int64_t> counts_;
};

// What calibration keeps per observed tensor: exact extremes, then histograms over them.
struct TensorStats {
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
  int64_t count = 0;     // values seen (in the min/max pass)
  Histogram values;      // x over [min, max]: asymmetric ranges
  Histogram magnitudes;  // |x| over [0, max(|min|, |max|)]: symmetric ranges

  // Pass 0: extremes and count.
  void add_extremes(std::span<const float> v);
  // Between the passes: sizes both histograms to the extremes seen.
  void start_histograms(int bins);
  // Pass 1: both histograms.
  void add_to_histograms(std::span<const float> v);
};

// Share of the values seen (0..1) that the range [lo, hi] clips: histogram bins whose centre lies
// outside it (resolution: one bin of the [min, max] histogram).
double clipped_fraction(const TensorStats& stats, double lo, double hi);

// KL(P || Q) of keeping bins [begin, end) of h (0 <= begin < end <= bins, levels >= 1): P is
// those bins with the mass outside added to the end bins, Q the kept bins merged onto `levels`
// grid cells and spread back over each cell's non-empty bins; zero Q bins get kKlSmoothing; a
// window that keeps no mass gives +inf. The entropy method minimises it (TensorRT's calibrator).
double clipping_divergence(const Histogram& h, int begin, int end, int levels);

// The range for one tensor under options.method; kInvalidArgument for a percentile outside
// (0, 100] or quant_levels < 2. Every range contains 0 and is at least kMinRangeWidth wide;
// symmetric ones are [-a, a].
Result<Range> compute_range(const TensorStats& stats, const RangeOptions& options);

}  // namespace tinyq::quant
