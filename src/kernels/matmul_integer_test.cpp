#include <gtest/gtest.h>

#include <random>

#include "kernels/int8_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace int8_test;

OpCall matmul_integer(Tensor a, Tensor b, Tensor a_zp = {}, Tensor b_zp = {}) {
  return OpCall{.op_type = "MatMulInteger", .inputs = {std::move(a), std::move(b), std::move(a_zp), std::move(b_zp)}};
}

TEST(MatMulInteger, HandComputedWithPerColumnZeroPoints) {
  // A - 1 = [[0,1,2],[3,4,5]]; B - [1,-2] = [[-2,4],[2,-2],[4,8]].
  const Tensor a = u8({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = s8({3, 2}, {-1, 2, 3, -4, 5, 6});
  OpCall c = matmul_integer(a, b, u8({}, {1}), s8({2}, {1, -2}));
  EXPECT_EQ(values<int32_t>(run_both(c)), (std::vector<int32_t>{10, 14, 22, 44}));
  c.constant_inputs = {false, false, false, false};  // zero points from DynamicQuantizeLinear arrive at run time
  EXPECT_EQ(values<int32_t>(run_both(c)), (std::vector<int32_t>{10, 14, 22, 44}));
  // Per-row zero points of A: A - [1,4] = [[0,1,2],[0,1,2]].
  EXPECT_EQ(values<int32_t>(run_both(matmul_integer(a, b, u8({2}, {1, 4}), s8({2}, {1, -2})))),
            (std::vector<int32_t>{10, 14, 10, 14}));
  // No zero points.
  EXPECT_EQ(values<int32_t>(run_both(matmul_integer(a, b))), (std::vector<int32_t>{20, 12, 41, 24}));
}

TEST(MatMulInteger, FullRangeDoesNotSaturate) {
  // Every product is (255 - 0) * (-128 - 127) = -65025; a 16-bit pairwise sum would clip at -32768.
  constexpr int64_t kDepth = 1000;
  const Tensor a = u8({1, kDepth}, std::vector<uint8_t>(kDepth, 255));
  const Tensor b = s8({kDepth, 1}, std::vector<int8_t>(kDepth, -128));
  EXPECT_EQ(values<int32_t>(run_both(matmul_integer(a, b, u8({}, {0}), s8({}, {127})))),
            (std::vector<int32_t>{-65025 * kDepth}));
  // s8 x s8 at the other extreme: (-128 - 127)^2 each.
  const Tensor sa = s8({1, kDepth}, std::vector<int8_t>(kDepth, -128));
  EXPECT_EQ(values<int32_t>(run_both(matmul_integer(sa, b, s8({}, {127}), s8({}, {127})))),
            (std::vector<int32_t>{65025 * kDepth}));
}

TEST(MatMulInteger, BroadcastBatches) {
  // A [2,1,2] x B [2,2]: each batch row times the same B.
  const Tensor a = s8({2, 1, 2}, {1, 2, -3, 4});
  const Tensor b = u8({2, 2}, {1, 2, 3, 4});
  Tensor y = run_both(matmul_integer(a, b));
  EXPECT_EQ(y.shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{7, 10, 9, 10}));
}

// Each operand type pair over random shapes with full-range values and zero points, against a
// plain int64 product computed here.
template <typename TA, typename TB>
void sweep(uint32_t seed) {
  std::mt19937 rng(seed);
  auto draw_a = [&] { return static_cast<TA>(std::uniform_int_distribution<int>(std::numeric_limits<TA>::min(), std::numeric_limits<TA>::max())(rng)); };
  auto draw_b = [&] { return static_cast<TB>(std::uniform_int_distribution<int>(std::numeric_limits<TB>::min(), std::numeric_limits<TB>::max())(rng)); };
  for (int iter = 0; iter < 20; ++iter) {
    const int64_t m = 1 + rng() % 7, k = 1 + rng() % 300, n = 1 + rng() % 9;
    std::vector<TA> a(m * k), za(m);
    std::vector<TB> b(k * n), zb(n);
    for (auto& v : a) v = draw_a();
    for (auto& v : b) v = draw_b();
    for (auto& v : za) v = draw_a();
    for (auto& v : zb) v = draw_b();
    std::vector<int32_t> want(m * n);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        int64_t s = 0;
        for (int64_t kk = 0; kk < k; ++kk)
          s += (int64_t{a[i * k + kk]} - za[i]) * (int64_t{b[kk * n + j]} - zb[j]);
        want[i * n + j] = static_cast<int32_t>(s);
      }
    OpCall c = matmul_integer(tensor<TA>({m, k}, a), tensor<TB>({k, n}, b), tensor<TA>({m}, za), tensor<TB>({n}, zb));
    EXPECT_EQ(values<int32_t>(run_both(c)), want) << m << "x" << k << "x" << n;
  }
}

TEST(MatMulInteger, FullRangeSweepAllTypePairs) {
  sweep<uint8_t, int8_t>(1);
  sweep<uint8_t, uint8_t>(2);
  sweep<int8_t, int8_t>(3);
  sweep<int8_t, uint8_t>(4);
}

TEST(MatMulInteger, BadInputsAreLoadTimeErrors) {
  const Tensor a = u8({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = s8({3, 2}, {-1, 2, 3, -4, 5, 6});
  expect_load_error(matmul_integer(a, b, s8({}, {0})), "a_zero_point has dtype int8");
  expect_load_error(matmul_integer(a, b, {}, u8({}, {0})), "b_zero_point has dtype uint8");
  expect_load_error(matmul_integer(a, b, u8({3}, {0, 0, 0})), "a_zero_point");
  expect_load_error(matmul_integer(a, b, {}, s8({3}, {0, 0, 0})), "b_zero_point");
  expect_load_error(matmul_integer(a, s8({2, 2}, {1, 2, 3, 4})), "inner dimensions");
  // Deeper than int32 can hold exactly.
  constexpr int64_t kTooDeep = 33026;
  expect_load_error(matmul_integer(u8({1, kTooDeep}, std::vector<uint8_t>(kTooDeep)),
                                   s8({kTooDeep, 1}, std::vector<int8_t>(kTooDeep))),
                    "overflow", StatusCode::kUnsupported);
}

}  // namespace
}  // namespace tinyq::kernels
