#include "quant/histogram.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace tinyq::quant {

namespace {

// Prefix sums over the bins of a histogram: mass, and first and second moments of the bin centres.
struct Moments {
  std::vector<double> n, s1, s2;  // [i] sums bins [0, i)
  double w2_12 = 0.0;             // variance of a value spread uniformly over one bin

  explicit Moments(const Histogram& h) : n(h.bins() + 1, 0.0), s1(n), s2(n) {
    const double w = h.width();
    w2_12 = w * w / 12.0;
    for (int j = 0; j < h.bins(); ++j) {
      const double c = h.lo() + (j + 0.5) * w, m = static_cast<double>(h.counts()[j]);
      n[j + 1] = n[j] + m;
      s1[j + 1] = s1[j] + m * c;
      s2[j + 1] = s2[j] + m * c * c;
    }
  }
  double mass(int a, int b) const { return n[b] - n[a]; }
  // Sum over bins [a, b) of count * E[(x - t)^2], x uniform over its bin: the squared error of
  // clipping those values to t.
  double clip_error(int a, int b, double t) const {
    const double m = mass(a, b);
    return (s2[b] - s2[a]) - 2.0 * t * (s1[b] - s1[a]) + t * t * m + m * w2_12;
  }
};

// Expected squared rounding error of one value on a grid of `levels` points over [lo, hi].
double rounding_noise(double lo, double hi, int levels) {
  const double step = (hi - lo) / (levels - 1);
  return step * step / 12.0;
}

// --- percentile -------------------------------------------------------------------------------

// The largest edge with at most `allowed` mass below it.
double lower_cut(const Histogram& h, const Moments& m, double allowed) {
  int L = 0;
  while (L < h.bins() && m.mass(0, L + 1) <= allowed) ++L;
  return h.edge(L);
}

// The smallest edge with at most `allowed` mass above it.
double upper_cut(const Histogram& h, const Moments& m, double allowed) {
  int R = h.bins();
  while (R > 0 && m.mass(R - 1, h.bins()) <= allowed) --R;
  return h.edge(R);
}

// --- entropy ----------------------------------------------------------------------------------

// Prefix sums for window_divergence: with them one window costs O(levels), not O(bins).
struct DivergenceSums {
  std::vector<double> mass;     // [i]: counts of bins [0, i)
  std::vector<int> nonzero;     // [i]: non-empty bins among [0, i)
  std::vector<double> c_log_c;  // [i]: sum of c log c over bins [0, i)

  explicit DivergenceSums(const Histogram& h) : mass(h.bins() + 1, 0.0), nonzero(h.bins() + 1, 0), c_log_c(mass) {
    for (int j = 0; j < h.bins(); ++j) {
      const double c = static_cast<double>(h.counts()[j]);
      mass[j + 1] = mass[j] + c;
      nonzero[j + 1] = nonzero[j] + (c > 0.0);
      c_log_c[j + 1] = c_log_c[j] + (c > 0.0 ? c * std::log(c) : 0.0);
    }
  }
};

// KL(P || Q) for keeping bins [L, R) of h: P is those bins with the mass outside folded into the
// end bins (what clipping does); Q is the kept bins merged onto `levels` grid cells, each cell's
// mass spread back over its non-empty bins (what quantising does). As in TensorRT's calibrator.
// Q is constant over the non-empty bins of a cell, so KL = sum p log p - sum p log q takes one
// log per cell; only the two end bins (which carry the clipped mass) are handled on their own.
double window_divergence(const Histogram& h, const DivergenceSums& s, int L, int R, int levels) {
  const int n = h.bins(), k = R - L;
  const double total = s.mass[n], kept = s.mass[R] - s.mass[L];
  if (kept <= 0.0) return std::numeric_limits<double>::infinity();
  const double below = s.mass[L], above = s.mass[n] - s.mass[R];
  const int zeros = k - (s.nonzero[R] - s.nonzero[L]);
  const double q_norm = 1.0 + kKlSmoothing * zeros;
  const double c_first = static_cast<double>(h.counts()[L]), c_last = static_cast<double>(h.counts()[R - 1]);
  auto plogp = [&](double mass) { return mass > 0.0 ? mass / total * std::log(mass / total) : 0.0; };

  // sum p log p: interior bins from the prefix sums, then the end bins with their extra mass.
  double p_log_p = 0.0;
  if (k == 1) {
    p_log_p = plogp(c_first + below + above);
  } else {
    p_log_p = plogp(c_first + below) + plogp(c_last + above);
    if (k > 2) {
      const double m = s.mass[R - 1] - s.mass[L + 1];
      p_log_p += ((s.c_log_c[R - 1] - s.c_log_c[L + 1]) - m * std::log(total)) / total;
    }
  }

  // sum p log q: each cell's own mass at its q, plus the clipped mass at its end bin's q.
  double p_log_q = 0.0, log_q_first = 0.0, log_q_last = 0.0;
  for (int g = 0; g < levels; ++g) {
    const int b0 = L + static_cast<int>(int64_t{g} * k / levels), b1 = L + static_cast<int>(int64_t{g + 1} * k / levels);
    const int nz = s.nonzero[b1] - s.nonzero[b0];
    if (nz == 0) continue;
    const double m = s.mass[b1] - s.mass[b0];
    const double log_q = std::log(m / nz / kept / q_norm);
    p_log_q += m / total * log_q;
    if (b0 <= L && L < b1) log_q_first = log_q;
    if (b0 <= R - 1 && R - 1 < b1) log_q_last = log_q;
  }
  const double log_q_empty = std::log(kKlSmoothing / q_norm);
  p_log_q += below / total * (c_first > 0.0 ? log_q_first : log_q_empty);
  p_log_q += above / total * (c_last > 0.0 ? log_q_last : log_q_empty);
  return p_log_p - p_log_q;
}

// The window of least divergence among windows of every width from `levels` bins up to all of
// them, placed by `window_start(width)`.
template <typename Start>
std::pair<int, int> least_divergence(const Histogram& h, int levels, Start window_start) {
  const DivergenceSums sums(h);
  const int n = h.bins();
  std::pair<int, int> best{0, n};
  double best_kl = std::numeric_limits<double>::infinity();
  for (int k = std::min(levels, n); k <= n; ++k) {
    const int L = window_start(k);
    const double kl = window_divergence(h, sums, L, L + k, levels);
    if (kl < best_kl) {
      best_kl = kl;
      best = {L, L + k};
    }
  }
  return best;
}

// Symmetric: windows [0, k) of the |x| histogram, onto half the grid (one sign's levels).
double entropy_threshold(const Histogram& magnitudes, int quant_levels) {
  const int half = std::max(1, quant_levels / 2);
  return magnitudes.edge(least_divergence(magnitudes, half, [](int) { return 0; }).second);
}

// Asymmetric: windows shrink toward zero proportionally on both sides (a one-sided distribution,
// such as a Relu's, shrinks toward its lower end as in TensorRT), onto the whole grid.
std::pair<double, double> entropy_window(const Histogram& values, int quant_levels) {
  const int n = values.bins();
  const double zero = std::clamp(-values.lo() / values.width(), 0.0, static_cast<double>(n));  // in bins
  auto start = [&](int k) {
    return std::clamp(static_cast<int>(std::lround(zero * (1.0 - static_cast<double>(k) / n))), 0, n - k);
  };
  const auto [L, R] = least_divergence(values, quant_levels, start);
  return {values.edge(L), values.edge(R)};
}

// --- mse --------------------------------------------------------------------------------------

// Symmetric: a = edge(k) minimising rounding noise on [-a, a] for the kept |x| plus the squared
// clipping error of the rest.
double mse_threshold(const Histogram& magnitudes, int quant_levels) {
  const Moments m(magnitudes);
  const int n = magnitudes.bins();
  double best = magnitudes.hi(), best_err = std::numeric_limits<double>::infinity();
  for (int k = 1; k <= n; ++k) {
    const double a = magnitudes.edge(k);
    if (a <= 0.0) continue;
    const double err = m.mass(0, k) * rounding_noise(-a, a, quant_levels) + m.clip_error(k, n, a);
    if (err < best_err) {
      best_err = err;
      best = a;
    }
  }
  return best;
}

// Asymmetric: every pair of edges lo <= 0 <= hi (lo = 0 or hi = 0 when the values do not reach
// there), with the same error model. Prefix sums make each pair O(1).
std::pair<double, double> mse_window(const Histogram& values, int quant_levels) {
  const Moments m(values);
  const int n = values.bins();
  int last_L = 0;  // lower cuts: edges at or below zero
  while (last_L < n && values.edge(last_L + 1) <= 0.0) ++last_L;
  int first_R = n;  // upper cuts: edges at or above zero
  while (first_R > 0 && values.edge(first_R - 1) >= 0.0) --first_R;
  std::pair<double, double> best{values.lo(), values.hi()};
  double best_err = std::numeric_limits<double>::infinity();
  for (int L = 0; L <= last_L; ++L) {
    const double lo = std::min(values.edge(L), 0.0);
    const double below = m.clip_error(0, L, lo);
    for (int R = std::max(first_R, L + 1); R <= n; ++R) {
      const double hi = std::max(values.edge(R), 0.0);
      if (hi <= lo) continue;
      const double err = below + m.mass(L, R) * rounding_noise(lo, hi, quant_levels) + m.clip_error(R, n, hi);
      if (err < best_err) {
        best_err = err;
        best = {lo, hi};
      }
    }
  }
  return best;
}

// Makes [lo, hi] contain 0 and be at least kMinRangeWidth wide; symmetric gives [-a, a].
Range finish(double lo, double hi, bool symmetric) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  if (symmetric) {
    const float a = std::max(static_cast<float>(std::max(-lo, hi)), kMinRangeWidth / 2);
    return {-a, a};
  }
  if (hi - lo < kMinRangeWidth) hi = lo + kMinRangeWidth;
  return {static_cast<float>(lo), static_cast<float>(hi)};
}

}  // namespace

Histogram::Histogram(double lo, double hi, int bins)
    : lo_(lo), hi_(hi), inv_width_(hi > lo ? bins / (hi - lo) : 0.0), counts_(static_cast<size_t>(bins), 0) {}

double clipped_fraction(const TensorStats& stats, double lo, double hi) {
  const Histogram& h = stats.values;
  const int64_t total = h.total();
  if (total == 0) return 0.0;
  int64_t clipped = 0;
  for (int i = 0; i < h.bins(); ++i) {
    const double centre = h.lo() + (i + 0.5) * h.width();
    if (centre < lo || centre > hi) clipped += h.counts()[i];
  }
  return static_cast<double>(clipped) / static_cast<double>(total);
}

int64_t Histogram::total() const {
  int64_t t = 0;
  for (int64_t c : counts_) t += c;
  return t;
}

void TensorStats::add_extremes(std::span<const float> v) {
  for (float x : v) {
    min = std::min(min, x);
    max = std::max(max, x);
  }
  count += static_cast<int64_t>(v.size());
}

void TensorStats::start_histograms(int bins) {
  if (count == 0) {
    values = magnitudes = Histogram(0.0, 0.0, bins);
    return;
  }
  values = Histogram(min, max, bins);
  magnitudes = Histogram(0.0, std::max(std::fabs(min), std::fabs(max)), bins);
}

void TensorStats::add_to_histograms(std::span<const float> v) {
  values.add(v);
  for (float x : v) magnitudes.add(std::fabs(x));
}

double clipping_divergence(const Histogram& h, int begin, int end, int levels) {
  return window_divergence(h, DivergenceSums(h), begin, end, levels);
}

Result<Range> compute_range(const TensorStats& stats, const RangeOptions& options) {
  if (options.method == CalibrationMethod::kPercentile && !(options.percentile > 0.0 && options.percentile <= 100.0))
    return Status::invalid_argument("percentile " + std::to_string(options.percentile) + " is outside (0, 100]");
  if (options.quant_levels < 2)
    return Status::invalid_argument("quant_levels " + std::to_string(options.quant_levels) + " is below 2");
  const bool sym = options.symmetric;
  if (stats.count == 0) return finish(0.0, 0.0, sym);
  const double amax = std::max(std::fabs(stats.min), std::fabs(stats.max));
  const Histogram& h = sym ? stats.magnitudes : stats.values;
  // All values equal (or nothing but minmax asked): there is nothing to clip.
  if (options.method == CalibrationMethod::kMinMax || !(h.hi() > h.lo()))
    return sym ? finish(-amax, amax, true) : finish(stats.min, stats.max, false);
  if (h.bins() == 0) return Status::internal("compute_range: the histograms were never filled");

  const double kept = options.percentile / 100.0;
  switch (options.method) {
    case CalibrationMethod::kPercentile: {
      const Moments m(h);
      const double total = m.mass(0, h.bins());
      if (sym) {
        const double a = upper_cut(h, m, total * (1.0 - kept));
        return finish(-a, a, true);
      }
      const double tail = total * (1.0 - kept) / 2.0;
      return finish(lower_cut(h, m, tail), upper_cut(h, m, tail), false);
    }
    case CalibrationMethod::kEntropy: {
      if (sym) {
        const double a = entropy_threshold(h, options.quant_levels);
        return finish(-a, a, true);
      }
      const auto [lo, hi] = entropy_window(h, options.quant_levels);
      return finish(lo, hi, false);
    }
    case CalibrationMethod::kMse: {
      if (sym) {
        const double a = mse_threshold(h, options.quant_levels);
        return finish(-a, a, true);
      }
      const auto [lo, hi] = mse_window(h, options.quant_levels);
      return finish(lo, hi, false);
    }
    case CalibrationMethod::kMinMax:
      break;
  }
  return Status::internal("compute_range: unknown method");
}

}  // namespace tinyq::quant
