#include <gtest/gtest.h>

#include "kernels/int8_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace int8_test;

struct QMatMulArgs {
  Tensor a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp;
};

OpCall qlinear_matmul(const QMatMulArgs& q) {
  return OpCall{.op_type = "QLinearMatMul", .inputs = {q.a, q.a_scale, q.a_zp, q.b, q.b_scale, q.b_zp, q.y_scale, q.y_zp}};
}

// a - 128 = [2, -2] (scale 0.5); b - [0, 1] = [[1, 2], [2, -2]] per column, scales [1, 0.5];
// y scale 2, zero point -3. acc = [-2, 8]; multipliers 0.25 and 0.125.
QMatMulArgs example() {
  return {u8({1, 2}, {130, 126}), scalar(0.5f),         u8({}, {128}), s8({2, 2}, {1, 3, 2, -1}),
          f32({2}, {1.0f, 0.5f}), s8({2}, {0, 1}),      scalar(2.0f),  s8({}, {-3})};
}

TEST(QLinearMatMul, PerColumnRequantisation) {
  // [-2 * 0.25, 8 * 0.125] = [-0.5, 1] -> [0 (half to even), 1] + (-3).
  Tensor y = run_both(qlinear_matmul(example()));
  EXPECT_EQ(y.dtype(), DType::kInt8);
  EXPECT_EQ(y.shape(), (Shape{1, 2}));
  EXPECT_EQ(values<int8_t>(y), (std::vector<int8_t>{-3, -2}));
}

TEST(QLinearMatMul, BatchedAndSaturating) {
  QMatMulArgs q = example();
  // Second batch row: a - 128 = [127, -128] -> acc [127 - 256, 254 + 256] = [-129, 510]
  // -> [-32.25, 63.75] -> [-32, 64] - 3.
  q.a = u8({2, 1, 2}, {130, 126, 255, 0});
  Tensor y = run_both(qlinear_matmul(q));
  EXPECT_EQ(y.shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(values<int8_t>(y), (std::vector<int8_t>{-3, -2, -35, 61}));
  q.y_scale = scalar(0.125f);  // multipliers 4 and 2: 510 * 2 saturates at 127, -129 * 4 at -128
  EXPECT_EQ(values<int8_t>(run_both(qlinear_matmul(q))), (std::vector<int8_t>{-11, 13, -128, 127}));
}

TEST(QLinearMatMul, BadInputsAreLoadTimeErrors) {
  for (float bad : bad_scales()) {
    QMatMulArgs q = example();
    q.a_scale = scalar(bad);
    expect_load_error(qlinear_matmul(q), "a_scale");
    q = example();
    q.b_scale = f32({2}, {bad, 1.0f});
    expect_load_error(qlinear_matmul(q), "b_scale");
    q = example();
    q.y_scale = scalar(bad);
    expect_load_error(qlinear_matmul(q), "y_scale");
  }
  QMatMulArgs q = example();
  q.b_scale = f32({3}, {1, 1, 1});
  q.b_zp = s8({3}, {0, 0, 0});
  expect_load_error(qlinear_matmul(q), "b_scale has 3 entries");
  q = example();
  q.a_zp = s8({}, {0});
  expect_load_error(qlinear_matmul(q), "a_zero_point has dtype int8");
  q = example();
  q.y_zp = s8({2}, {0, 0});
  expect_load_error(qlinear_matmul(q), "y_zero_point");
}

}  // namespace
}  // namespace tinyq::kernels
