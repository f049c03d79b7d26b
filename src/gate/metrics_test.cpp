// The gate's metrics against values worked out by hand (the derivations are in the comments).
#include "gate/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace tinyq::gate {
namespace {

constexpr double kExact = 1e-12;  // closed-form results, computed in double

TEST(GateMetrics, PlccOfLinearDataIsPlusOrMinusOne) {
  std::vector<float> x{0.5f, 1.0f, 2.0f, 3.5f, 7.0f}, up, down;
  for (float v : x) up.push_back(3.0f * v + 2.0f), down.push_back(-0.5f * v + 1.0f);
  EXPECT_NEAR(plcc(x, up), 1.0, kExact);
  EXPECT_NEAR(plcc(x, down), -1.0, kExact);
}

TEST(GateMetrics, PlccSroccOfASmallExample) {
  // x = 1..5, y = 2 1 4 3 5: deviations (-2 -1 0 1 2) and (-1 -2 1 0 2); sum dxdy = 8,
  // sum dx^2 = sum dy^2 = 10, so PLCC = 0.8; the values are their own ranks, so SROCC = 0.8.
  std::vector<float> x{1, 2, 3, 4, 5}, y{2, 1, 4, 3, 5};
  EXPECT_NEAR(plcc(x, y), 0.8, kExact);
  EXPECT_NEAR(srocc(x, y), 0.8, kExact);
}

TEST(GateMetrics, TiesShareTheAverageRank) {
  std::vector<float> x{1, 2, 2, 3};
  EXPECT_EQ(average_ranks(x), (std::vector<double>{1, 2.5, 2.5, 4}));
  EXPECT_EQ(average_ranks(std::vector<float>{5, 5, 5}), (std::vector<double>{2, 2, 2}));
  // Ranks (1 2.5 2.5 4) and (1 3 2 4): deviations (-1.5 0 0 1.5), (-1.5 .5 -.5 1.5);
  // sum dxdy = 4.5, sum dx^2 = 4.5, sum dy^2 = 5: SROCC = 4.5 / sqrt(22.5) = 3 / sqrt(10).
  std::vector<float> y{1, 3, 2, 4};
  EXPECT_NEAR(srocc(x, y), 3.0 / std::sqrt(10.0), kExact);
}

TEST(GateMetrics, RmseAndMaxAbsError) {
  std::vector<float> x{1, 2, 3}, y{1, 2, 5};
  EXPECT_NEAR(rmse(x, y), std::sqrt(4.0 / 3.0), kExact);
  EXPECT_DOUBLE_EQ(max_abs_error(x, y), 2.0);
  EXPECT_DOUBLE_EQ(max_abs_error(y, x), 2.0);
}

TEST(GateMetrics, UndefinedCorrelationsAreNaN) {
  std::vector<float> c{2, 2, 2}, x{1, 2, 3};
  EXPECT_TRUE(std::isnan(plcc(c, x)));
  EXPECT_TRUE(std::isnan(srocc(x, c)));
  EXPECT_TRUE(std::isnan(plcc(std::vector<float>{1}, std::vector<float>{1})));
}

TEST(GateMetrics, RowMomentsAddUpToTheWholeSeries) {
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  std::vector<float> x, y;
  for (int i = 0; i < 60; ++i) x.push_back(50.0f + i), y.push_back(x.back() + noise(rng));
  auto rows = row_moments(x, y, 12);  // 5 values per row
  ASSERT_EQ(rows.size(), 12u);
  PairMoments sum;
  for (const auto& r : rows) {
    EXPECT_EQ(r.n, 5);
    sum.add_weighted(r, 1.0);
  }
  EXPECT_NEAR(sum.pearson(), plcc(x, y), kExact);
}

TEST(GateMetrics, QuantileInterpolatesLinearly) {
  std::vector<double> s{1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(quantile_sorted(s, 0.5), 2.5);   // h = 1.5
  EXPECT_DOUBLE_EQ(quantile_sorted(s, 0.25), 1.75);  // h = 0.75
  EXPECT_DOUBLE_EQ(quantile_sorted(s, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile_sorted(s, 1.0), 4.0);
}

TEST(GateMetrics, BootstrapDrawsRowsWithReplacement) {
  constexpr int64_t kRows = 17;
  int calls = 0;
  Interval ci = bootstrap_interval(kRows, 50, 1, 0.95, [&](std::span<const uint32_t> counts) {
    ++calls;
    EXPECT_EQ(counts.size(), static_cast<size_t>(kRows));
    uint32_t total = 0;
    for (uint32_t c : counts) total += c;
    EXPECT_EQ(total, static_cast<uint32_t>(kRows));
    return 0.25;
  });
  EXPECT_EQ(calls, 50);
  EXPECT_DOUBLE_EQ(ci.lo, 0.25);  // a constant statistic has a zero-width interval
  EXPECT_DOUBLE_EQ(ci.hi, 0.25);
}

TEST(GateMetrics, BootstrapIntervalOfAPlccDropIsDeterministicAndHoldsThePointEstimate) {
  std::mt19937 rng(11);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  std::vector<float> f, q;
  for (int i = 0; i < 200; ++i) {
    f.push_back(static_cast<float>(i % 37) * 0.25f);
    q.push_back(f.back() + noise(rng));
  }
  auto rows = row_moments(q, f, 200);
  auto drop = [&](std::span<const uint32_t> counts) {
    PairMoments s;
    for (size_t r = 0; r < rows.size(); ++r) s.add_weighted(rows[r], counts[r]);
    return 1.0 - s.pearson();
  };
  const double point = 1.0 - plcc(q, f);
  Interval a = bootstrap_interval(200, 1000, 42, 0.95, drop);
  Interval b = bootstrap_interval(200, 1000, 42, 0.95, drop);
  Interval c = bootstrap_interval(200, 1000, 43, 0.95, drop);
  EXPECT_EQ(a.lo, b.lo);  // same seed, same interval, bit for bit
  EXPECT_EQ(a.hi, b.hi);
  EXPECT_NE(a.lo, c.lo);
  EXPECT_LT(a.lo, point);
  EXPECT_GT(a.hi, point);
  EXPECT_LT(a.lo, a.hi);
}

TEST(GateMetrics, BootstrapWithNoResamplesIsNaN) {
  Interval ci = bootstrap_interval(10, 0, 1, 0.95, [](std::span<const uint32_t>) { return 1.0; });
  EXPECT_TRUE(std::isnan(ci.lo));
  EXPECT_TRUE(std::isnan(ci.hi));
}

}  // namespace
}  // namespace tinyq::gate
