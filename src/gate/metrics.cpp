#include "gate/metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace tinyq::gate {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double mean_of(std::span<const float> x) {
  double s = 0;
  for (float v : x) s += v;
  return x.empty() ? 0.0 : s / static_cast<double>(x.size());
}

template <typename T>
double pearson_two_pass(std::span<const T> x, std::span<const T> y) {
  assert(x.size() == y.size());
  if (x.size() < 2) return kNaN;
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= static_cast<double>(x.size());
  my /= static_cast<double>(y.size());
  double sxx = 0, syy = 0, sxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double dx = x[i] - mx, dy = y[i] - my;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  if (!(sxx > 0) || !(syy > 0)) return kNaN;
  return sxy / std::sqrt(sxx * syy);
}

}  // namespace

double plcc(std::span<const float> x, std::span<const float> y) { return pearson_two_pass(x, y); }

std::vector<double> average_ranks(std::span<const float> x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> ranks(x.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
    // Positions i..j (0-based) hold one value: each gets the mean of ranks i+1..j+1.
    double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

double srocc(std::span<const float> x, std::span<const float> y) {
  std::vector<double> rx = average_ranks(x), ry = average_ranks(y);
  return pearson_two_pass<double>(rx, ry);
}

double rmse(std::span<const float> x, std::span<const float> y) {
  assert(x.size() == y.size());
  if (x.empty()) return kNaN;
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double d = static_cast<double>(x[i]) - y[i];
    s += d * d;
  }
  return std::sqrt(s / static_cast<double>(x.size()));
}

double max_abs_error(std::span<const float> x, std::span<const float> y) {
  assert(x.size() == y.size());
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(x[i]) - y[i]));
  return m;
}

void PairMoments::add(double x, double y) {
  n += 1;
  sx += x;
  sy += y;
  sxx += x * x;
  syy += y * y;
  sxy += x * y;
}

void PairMoments::add_weighted(const PairMoments& o, double w) {
  n += w * o.n;
  sx += w * o.sx;
  sy += w * o.sy;
  sxx += w * o.sxx;
  syy += w * o.syy;
  sxy += w * o.sxy;
}

double PairMoments::pearson() const {
  if (n < 2) return kNaN;
  double cxx = sxx - sx * sx / n, cyy = syy - sy * sy / n, cxy = sxy - sx * sy / n;
  if (!(cxx > 0) || !(cyy > 0)) return kNaN;
  return cxy / std::sqrt(cxx * cyy);
}

std::vector<PairMoments> row_moments(std::span<const float> x, std::span<const float> y, int64_t rows) {
  assert(x.size() == y.size() && rows > 0);
  const double cx = mean_of(x), cy = mean_of(y);
  std::vector<PairMoments> out(static_cast<size_t>(rows));
  const size_t size = x.size();
  for (int64_t r = 0; r < rows; ++r) {
    size_t begin = size * static_cast<size_t>(r) / static_cast<size_t>(rows);
    size_t end = size * static_cast<size_t>(r + 1) / static_cast<size_t>(rows);
    for (size_t i = begin; i < end; ++i) out[static_cast<size_t>(r)].add(x[i] - cx, y[i] - cy);
  }
  return out;
}

double quantile_sorted(std::span<const double> sorted, double q) {
  if (sorted.empty()) return kNaN;
  double h = q * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

Interval bootstrap_interval(int64_t rows, int resamples, uint64_t seed, double level,
                            const std::function<double(std::span<const uint32_t> counts)>& statistic) {
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> counts(static_cast<size_t>(std::max<int64_t>(rows, 0)));
  std::vector<double> stats;
  stats.reserve(static_cast<size_t>(std::max(resamples, 0)));
  for (int b = 0; b < resamples && rows > 0; ++b) {
    std::fill(counts.begin(), counts.end(), 0u);
    for (int64_t i = 0; i < rows; ++i) {
      // Multiply-shift maps a 64-bit draw onto [0, rows) without a library distribution, whose
      // algorithm the C++ standard leaves to each implementation.
      uint64_t pick = static_cast<uint64_t>((static_cast<unsigned __int128>(rng()) * static_cast<uint64_t>(rows)) >> 64);
      ++counts[pick];
    }
    double s = statistic(counts);
    if (!std::isnan(s)) stats.push_back(s);
  }
  if (stats.empty()) return {kNaN, kNaN};
  std::sort(stats.begin(), stats.end());
  double tail = (1.0 - level) / 2.0;
  return {quantile_sorted(stats, tail), quantile_sorted(stats, 1.0 - tail)};
}

}  // namespace tinyq::gate
