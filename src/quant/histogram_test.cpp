#include "quant/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace tinyq::quant {
namespace {

constexpr int kBins = 2048;  // ObserveOptions' default
// Edges are computed in double and stored as float: a few ulps of the range.
constexpr double kEdgeTolerance = 1e-3;
// "Much narrower than minmax": at most this share of the minmax width.
constexpr double kMuchNarrower = 0.2;
// Share of the mass a clipped range must still cover.
constexpr double kMinCoverage = 0.99;
// mse on a uniform distribution clips at most a rounding step's worth: keeps this share or more.
constexpr double kNearlyWhole = 0.98;

constexpr CalibrationMethod kAllMethods[] = {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile,
                                             CalibrationMethod::kEntropy, CalibrationMethod::kMse};

// Both calibration passes over `values`, as observe() does them.
TensorStats stats_of(const std::vector<float>& values, int bins = kBins) {
  TensorStats s;
  s.add_extremes(values);
  s.start_histograms(bins);
  s.add_to_histograms(values);
  return s;
}

Range range_of(const TensorStats& s, CalibrationMethod method, bool symmetric, double percentile = 99.99) {
  RangeOptions o;
  o.method = method;
  o.symmetric = symmetric;
  o.percentile = percentile;
  auto r = compute_range(s, o);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : Range{};
}

std::vector<float> uniform(float lo, float hi, int n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(n - 1);
  return v;
}

TEST(HistogramTest, BinsValuesAndClampsToTheEnds) {
  Histogram h(0.0, 4.0, 4);
  for (float v : {0.0f, 1.0f, 2.0f, 3.99f, 4.0f, -1.0f, 9.0f}) h.add(v);
  EXPECT_EQ(h.counts(), (std::vector<int64_t>{2, 1, 1, 3}));  // -1 in bin 0; 4 and 9 in the last
  EXPECT_EQ(h.total(), 7);
  EXPECT_EQ(h.edge(1), 1.0);
  EXPECT_EQ(h.edge(4), 4.0);
  Histogram flat(3.0, 3.0, 8);
  flat.add(3.0f, 5);
  EXPECT_EQ(flat.counts()[0], 5);
}

// clipping_divergence written out bin by bin, as the definition reads.
double divergence_by_definition(const Histogram& h, int L, int R, int levels) {
  const auto& c = h.counts();
  const int k = R - L;
  std::vector<double> p(c.begin() + L, c.begin() + R), q(static_cast<size_t>(k), 0.0);
  for (int j = 0; j < L; ++j) p.front() += static_cast<double>(c[j]);
  for (int j = R; j < h.bins(); ++j) p.back() += static_cast<double>(c[j]);
  for (int g = 0; g < levels; ++g) {
    const int b0 = L + g * k / levels, b1 = L + (g + 1) * k / levels;
    double mass = 0.0;
    int nonzero = 0;
    for (int j = b0; j < b1; ++j) {
      mass += static_cast<double>(c[j]);
      nonzero += c[j] > 0;
    }
    for (int j = b0; j < b1; ++j)
      if (c[j] > 0) q[static_cast<size_t>(j - L)] = mass / nonzero;
  }
  double p_sum = 0.0, q_sum = 0.0;
  int zeros = 0;
  for (int j = 0; j < k; ++j) {
    p_sum += p[static_cast<size_t>(j)];
    q_sum += q[static_cast<size_t>(j)];
    zeros += q[static_cast<size_t>(j)] == 0.0;
  }
  if (q_sum == 0.0) return std::numeric_limits<double>::infinity();  // the window keeps nothing
  double kl = 0.0;
  for (int j = 0; j < k; ++j) {
    const double pj = p[static_cast<size_t>(j)] / p_sum;
    const double qj = (q[static_cast<size_t>(j)] > 0.0 ? q[static_cast<size_t>(j)] / q_sum : kKlSmoothing) /
                      (1.0 + kKlSmoothing * zeros);
    if (pj > 0.0) kl += pj * std::log(pj / qj);
  }
  return kl;
}

TEST(HistogramTest, DivergenceMatchesItsDefinition) {
  // Random counts with runs of empty bins, over windows of every kind: whole, clipped on one or
  // both sides, narrower than the grid, ending on empty bins.
  constexpr double kKlTolerance = 1e-9;  // prefix sums vs bin-by-bin summation, in double
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> count(0, 1000);
  Histogram h(0.0, 1.0, 200);
  for (int j = 0; j < h.bins(); ++j) {
    const int c = count(rng);
    if (c > 300) h.add(static_cast<float>((j + 0.5) / h.bins()), c);
  }
  for (int levels : {1, 7, 16, 64}) {
    for (auto [L, R] : {std::pair{0, 200}, {0, 50}, {13, 200}, {40, 160}, {0, 3}, {99, 100}, {5, 9}, {21, 188}}) {
      const double expected = divergence_by_definition(h, L, R, levels), got = clipping_divergence(h, L, R, levels);
      SCOPED_TRACE("levels " + std::to_string(levels) + " window [" + std::to_string(L) + ", " + std::to_string(R) + ")");
      if (std::isinf(expected)) {
        EXPECT_EQ(got, expected);
      } else {
        EXPECT_NEAR(got, expected, kKlTolerance);
      }
    }
  }
}

TEST(HistogramTest, UniformMinMaxEqualsPercentile100) {
  const TensorStats s = stats_of(uniform(-3.0f, 5.0f, 100001));
  const Range mm = range_of(s, CalibrationMethod::kMinMax, false);
  EXPECT_EQ(mm.min, -3.0f);
  EXPECT_EQ(mm.max, 5.0f);
  const Range p = range_of(s, CalibrationMethod::kPercentile, false, 100.0);
  EXPECT_EQ(p.min, mm.min);
  EXPECT_EQ(p.max, mm.max);
  const Range sym_mm = range_of(s, CalibrationMethod::kMinMax, true);
  const Range sym_p = range_of(s, CalibrationMethod::kPercentile, true, 100.0);
  EXPECT_EQ(sym_mm.min, -5.0f);
  EXPECT_EQ(sym_mm.max, 5.0f);
  EXPECT_EQ(sym_p.min, -5.0f);
  EXPECT_EQ(sym_p.max, 5.0f);
}

TEST(HistogramTest, PercentileCutsTheTailsAtKnownEdges) {
  // -500..499, one value each: 1000 bins of width 0.999, value v in bin v + 500.
  std::vector<float> v;
  for (int i = -500; i < 500; ++i) v.push_back(static_cast<float>(i));
  const TensorStats s = stats_of(v, 1000);
  // 99%: 5 values off each end; the cuts are the edges past the 5 lowest and the 5 highest bins.
  const Range r = range_of(s, CalibrationMethod::kPercentile, false, 99.0);
  EXPECT_NEAR(r.min, -500.0 + 5 * 0.999, kEdgeTolerance);
  EXPECT_NEAR(r.max, -500.0 + 995 * 0.999, kEdgeTolerance);
  // Symmetric 99% of |x|: at most 10 values above a. The top |x| are 500 (once), 499..496 (twice
  // each): 9 values, in the bins at and above 991 (width 0.5), so a is edge 991 = 495.5.
  const Range sym = range_of(s, CalibrationMethod::kPercentile, true, 99.0);
  EXPECT_NEAR(sym.max, 495.5, kEdgeTolerance);
  EXPECT_EQ(sym.min, -sym.max);
}

// A unit Gaussian of 10^7 values (10^6 draws, each counted 10 times) plus one huge outlier on each
// side: 2e-7 of the mass, rare enough that clipping it also wins on squared error.
struct Outliers {
  std::vector<float> draws;
  static constexpr int64_t kWeight = 10;
  static constexpr float kOutlier = 1000.0f;
  TensorStats stats;

  Outliers() {
    std::mt19937 rng(42);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    draws.resize(1000000);
    for (float& x : draws) x = normal(rng);
    stats.add_extremes(draws);
    const std::vector<float> outliers = {-kOutlier, kOutlier};
    stats.add_extremes(outliers);
    stats.count += static_cast<int64_t>(draws.size()) * (kWeight - 1);
    stats.start_histograms(kBins);
    for (float x : draws) {
      stats.values.add(x, kWeight);
      stats.magnitudes.add(std::fabs(x), kWeight);
    }
    stats.add_to_histograms(outliers);
  }
  // Share of all values inside r.
  double coverage(const Range& r) const {
    int64_t in = 0;
    for (float x : draws) in += (x >= r.min && x <= r.max);
    return static_cast<double>(in * kWeight) / static_cast<double>(stats.count);
  }
};

TEST(HistogramTest, ClippingMethodsIgnoreRareHugeOutliers) {
  const Outliers d;
  for (bool sym : {false, true}) {
    const Range mm = range_of(d.stats, CalibrationMethod::kMinMax, sym);
    EXPECT_EQ(mm.min, -Outliers::kOutlier);
    EXPECT_EQ(mm.max, Outliers::kOutlier);
    for (CalibrationMethod m : {CalibrationMethod::kPercentile, CalibrationMethod::kEntropy, CalibrationMethod::kMse}) {
      const Range r = range_of(d.stats, m, sym);
      SCOPED_TRACE(std::string(calibration_method_name(m)) + (sym ? " symmetric" : " asymmetric") + " [" +
                   std::to_string(r.min) + ", " + std::to_string(r.max) + "]");
      EXPECT_LT(r.max - r.min, kMuchNarrower * (mm.max - mm.min));
      EXPECT_GE(d.coverage(r), kMinCoverage);
    }
  }
}

TEST(HistogramTest, MseKeepsNearlyAllOfAUniformRange) {
  const TensorStats s = stats_of(uniform(-1.0f, 1.0f, 200001));
  for (bool sym : {false, true}) {
    const Range r = range_of(s, CalibrationMethod::kMse, sym);
    EXPECT_GE(r.max - r.min, kNearlyWhole * 2.0) << (sym ? "symmetric" : "asymmetric");
    EXPECT_LE(r.max - r.min, 2.0f);
  }
}

TEST(HistogramTest, EntropyKeepsNearlyAllOfAUniformRange) {
  const TensorStats s = stats_of(uniform(0.0f, 1.0f, 200001));
  for (bool sym : {false, true}) {
    const Range r = range_of(s, CalibrationMethod::kEntropy, sym);
    EXPECT_GE(r.max, kNearlyWhole) << (sym ? "symmetric" : "asymmetric");
    EXPECT_LE(r.max, 1.0f);
  }
}

TEST(HistogramTest, EveryRangeContainsZeroAndSymmetricOnesAreBalanced) {
  const std::vector<std::vector<float>> sets = {uniform(2.0f, 5.0f, 1001), uniform(-7.0f, -1.0f, 1001),
                                                uniform(-1.0f, 3.0f, 1001), {3.0f, 3.0f, 3.0f}};
  for (const auto& values : sets) {
    const TensorStats s = stats_of(values);
    for (CalibrationMethod m : kAllMethods)
      for (bool sym : {false, true}) {
        const Range r = range_of(s, m, sym);
        SCOPED_TRACE(std::string(calibration_method_name(m)) + (sym ? " symmetric" : "") + " first value " +
                     std::to_string(values.front()));
        EXPECT_LE(r.min, 0.0f);
        EXPECT_GE(r.max, 0.0f);
        EXPECT_GE(r.max - r.min, kMinRangeWidth);
        if (sym) EXPECT_EQ(r.min, -r.max);
      }
  }
  // All positive: minmax extends down to 0 and keeps the top exactly.
  const Range pos = range_of(stats_of(uniform(2.0f, 5.0f, 1001)), CalibrationMethod::kMinMax, false);
  EXPECT_EQ(pos.min, 0.0f);
  EXPECT_EQ(pos.max, 5.0f);
  const Range neg = range_of(stats_of(uniform(-7.0f, -1.0f, 1001)), CalibrationMethod::kMinMax, true);
  EXPECT_EQ(neg.min, -7.0f);
  EXPECT_EQ(neg.max, 7.0f);
}

TEST(HistogramTest, ConstantZeroGetsTheMinimumWidth) {
  const TensorStats zeros = stats_of(std::vector<float>(100, 0.0f));
  const TensorStats nothing = stats_of({});
  for (const TensorStats* s : {&zeros, &nothing})
    for (CalibrationMethod m : kAllMethods) {
      const Range a = range_of(*s, m, false);
      EXPECT_EQ(a.min, 0.0f);
      EXPECT_EQ(a.max, kMinRangeWidth);
      const Range sym = range_of(*s, m, true);
      EXPECT_EQ(sym.min, -kMinRangeWidth / 2);
      EXPECT_EQ(sym.max, kMinRangeWidth / 2);
    }
}

TEST(HistogramTest, RejectsBadOptions) {
  const TensorStats s = stats_of(uniform(-1.0f, 1.0f, 11));
  RangeOptions o;
  o.method = CalibrationMethod::kPercentile;
  for (double p : {0.0, -5.0, 100.5}) {
    o.percentile = p;
    EXPECT_EQ(compute_range(s, o).status().code(), StatusCode::kInvalidArgument) << p;
  }
  o = RangeOptions{};
  o.method = CalibrationMethod::kEntropy;
  o.quant_levels = 1;
  auto r = compute_range(s, o);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("quant_levels"), std::string::npos);
}

// A Relu6's output: most values low, a tenth of them saturated at exactly 6.
std::vector<float> relu6_like() {
  std::vector<float> v = uniform(0.0f, 1.0f, 90000);
  v.insert(v.end(), 10000, 6.0f);
  return v;
}

TEST(HistogramTest, ClippedFractionCountsTheValuesOutsideTheRange) {
  const TensorStats s = stats_of(relu6_like());
  EXPECT_EQ(clipped_fraction(s, 0.0, 6.0), 0.0);
  EXPECT_NEAR(clipped_fraction(s, 0.0, 1.5), 0.1, 1.0 / kBins);
  EXPECT_NEAR(clipped_fraction(s, 0.5, 6.0), 0.45, 1.0 / kBins + 1e-3);
  EXPECT_EQ(clipped_fraction(TensorStats{}, 0.0, 1.0), 0.0);  // nothing seen, nothing clipped
}

}  // namespace
}  // namespace tinyq::quant
