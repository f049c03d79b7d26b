#include "quant/weights.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tinyq::quant {
namespace {

TEST(QuantWeightsTest, ChannelLayoutWalksTheAxis) {
  const ChannelLayout l = channel_layout({2, 3, 4}, 1);
  EXPECT_EQ(l.outer, 2);
  EXPECT_EQ(l.channels, 3);
  EXPECT_EQ(l.inner, 4);
  EXPECT_EQ(l.index(1, 2, 3), 23);
  const ChannelLayout whole = channel_layout({2, 3, 4}, -1);
  EXPECT_EQ(whole.channels, 1);
  EXPECT_EQ(whole.inner, 24);
}

TEST(QuantWeightsTest, MaxAbsScalesPerChannelAndPerTensor) {
  const Tensor w = Tensor::from_vector<float>({2, 3}, {0.5f, -1.27f, 0.0f, 0.0f, 0.0f, 0.0f});
  const std::vector<float> per_row = max_abs_scales(w, 0);
  ASSERT_EQ(per_row.size(), 2u);
  EXPECT_FLOAT_EQ(per_row[0], 0.01f);
  EXPECT_EQ(per_row[1], 1.0f);  // a zero row: any scale is exact
  const std::vector<float> per_col = max_abs_scales(w, 1);
  EXPECT_EQ(per_col, (std::vector<float>{0.5f / 127, 1.27f / 127, 1.0f}));
  EXPECT_EQ(max_abs_scales(w, -1), std::vector<float>{1.27f / 127});
}

TEST(QuantWeightsTest, RoundsHalfToEvenAndClampsToTheSymmetricRange) {
  const Tensor w = Tensor::from_vector<float>({1, 6}, {0.5f, 1.5f, 2.5f, -0.5f, 200.0f, -200.0f});
  const std::vector<float> one = {1.0f};
  auto q = round_weights(w, -1, one);
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  EXPECT_EQ(std::vector<int8_t>(q->data<int8_t>(), q->data<int8_t>() + 6), (std::vector<int8_t>{0, 2, 2, 0, 127, -127}));
}

TEST(QuantWeightsTest, BadScalesAreErrors) {
  const Tensor w(DType::kFloat32, {2, 2});
  const std::vector<float> three = {1.0f, 1.0f, 1.0f}, zero = {0.0f};
  EXPECT_FALSE(round_weights(w, 0, three).is_ok());
  EXPECT_FALSE(round_weights(w, -1, zero).is_ok());
}

std::vector<int8_t> int8s(const Tensor& t) { return std::vector<int8_t>(t.data<int8_t>(), t.data<int8_t>() + t.numel()); }

TEST(QuantWeightsTest, SumPreservingRoundingKeepsEachGroupsSum) {
  // Row 0: 0.4 * 3 = 1.2 -> nearest gives 0, the cheapest move (first of equals) lifts one to 1.
  // Row 1: 0.6 + 0.6 + 0.7 = 1.9 -> 2, nearest gives 3: one move down, on a 0.6 (cost 0.2, not 0.4).
  const Tensor w = Tensor::from_vector<float>({2, 3}, {0.4f, 0.4f, 0.4f, 0.6f, 0.6f, 0.7f});
  const std::vector<float> one = {1.0f};
  auto plain = round_weights(w, -1, one);
  ASSERT_TRUE(plain.is_ok());
  EXPECT_EQ(int8s(*plain), (std::vector<int8_t>{0, 0, 0, 1, 1, 1}));
  auto q = round_weights_sum_preserving(w, -1, one, 1, 2);
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  EXPECT_EQ(int8s(*q), (std::vector<int8_t>{1, 0, 0, 0, 1, 1}));
}

TEST(QuantWeightsTest, SumPreservingRoundingWalksStridedGroupsWithTheirChannelScale) {
  // [K=3, N=2] scaled per column (axis 1), groups down each column (dims [0, 1)).
  // Column 0 at scale 1: 0.4 * 3 -> one 1. Column 1 at scale 0.5: 0.2 / 0.5 = 0.4 likewise.
  const Tensor w = Tensor::from_vector<float>({3, 2}, {0.4f, 0.2f, 0.4f, 0.2f, 0.4f, 0.2f});
  const std::vector<float> scales = {1.0f, 0.5f};
  auto q = round_weights_sum_preserving(w, 1, scales, 0, 1);
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  EXPECT_EQ(int8s(*q), (std::vector<int8_t>{1, 1, 0, 0, 0, 0}));
  // A group may not span the scale axis.
  EXPECT_FALSE(round_weights_sum_preserving(w, 1, scales, 1, 2).is_ok());
}

TEST(QuantWeightsTest, SumPreservingRoundingStaysWithinOneStepAndInRange) {
  // Conv-like [2, 2, 3, 3], groups over the 3x3 window; values near the grid's ends.
  std::vector<float> v;
  for (int k = 0; k < 36; ++k) v.push_back((k % 2 ? 1.0f : -1.0f) * (126.6f - 0.37f * static_cast<float>(k)));
  const Tensor w = Tensor::from_vector<float>({2, 2, 3, 3}, v);
  const std::vector<float> one = {1.0f};
  auto q = round_weights_sum_preserving(w, 0, std::vector<float>{1.0f, 1.0f}, 2, 4);
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  for (int g = 0; g < 4; ++g) {
    double real = 0;
    int sum = 0;
    for (int j = 0; j < 9; ++j) {
      const int k = g * 9 + j;
      EXPECT_LE(std::fabs(q->data<int8_t>()[k] - v[k]), 1.0f) << k;
      EXPECT_GE(q->data<int8_t>()[k], -kWeightQMax);
      real += v[k];
      sum += q->data<int8_t>()[k];
    }
    EXPECT_EQ(sum, static_cast<int>(std::nearbyint(real))) << "group " << g;
  }
}

}  // namespace
}  // namespace tinyq::quant
