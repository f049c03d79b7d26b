// Agreement metrics of the accuracy gate: PLCC, SROCC (average ranks for ties), RMSE, maximum
// absolute error, and a seeded percentile bootstrap. Everything is computed in double; a
// statistic that is undefined (fewer than two values, or a constant series) is NaN.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace tinyq::gate {

// Pearson linear correlation of x and y (same length).
double plcc(std::span<const float> x, std::span<const float> y);
// 1-based ranks; tied values share the average of the ranks they span.
std::vector<double> average_ranks(std::span<const float> x);
// Spearman rank correlation: PLCC of the average ranks.
double srocc(std::span<const float> x, std::span<const float> y);
// sqrt(mean((x - y)^2)).
double rmse(std::span<const float> x, std::span<const float> y);
// max |x - y|; 0 for empty series.
double max_abs_error(std::span<const float> x, std::span<const float> y);

// Sums of one (x, y) series, with the values shifted by fixed offsets so that the moments stay
// well conditioned when the correlation is close to 1. Sums of rows add up to the sums of their
// union, which is what lets the bootstrap resample rows without touching the values again.
struct PairMoments {
  double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  void add(double x, double y);
  void add_weighted(const PairMoments& other, double weight);
  double pearson() const;  // NaN when either series is constant
};

// The moments of each of `rows` equal slices of x and y (row r holds values
// [r * size / rows, (r + 1) * size / rows)), shifted by the means of x and y.
std::vector<PairMoments> row_moments(std::span<const float> x, std::span<const float> y, int64_t rows);

struct Interval {
  double lo = 0;
  double hi = 0;
};

// Linear-interpolation quantile (numpy's default) of sorted values, q in [0, 1].
double quantile_sorted(std::span<const double> sorted, double q);

// Percentile bootstrap: `resamples` times, draws `rows` rows with replacement (std::mt19937_64
// seeded with `seed`, so the interval is the same on every platform for a seed), evaluates
// `statistic` on the draw (count of each row drawn) and returns the central `level` interval.
// Draws whose statistic is NaN are left out; NaN bounds when every draw is.
Interval bootstrap_interval(int64_t rows, int resamples, uint64_t seed, double level,
                            const std::function<double(std::span<const uint32_t> counts)>& statistic);

}  // namespace tinyq::gate
