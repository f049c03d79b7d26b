#include <gtest/gtest.h>

#include "kernels/int8_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace int8_test;
using testing::attr_ints;

struct QConvArgs {
  Tensor x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias;
};

OpCall qlinear_conv(const QConvArgs& a) {
  return OpCall{.op_type = "QLinearConv",
                .inputs = {a.x, a.x_scale, a.x_zp, a.w, a.w_scale, a.w_zp, a.y_scale, a.y_zp, a.bias}};
}

// x - 10 = [0, 4] (scale 0.5); w = [3, -5] with per-channel scales [1, 0.25]; bias [1, 6];
// y scale 1, zero point 128. Multipliers 0.5 and 0.125.
QConvArgs example() {
  return {u8({1, 1, 1, 2}, {10, 14}), scalar(0.5f), u8({}, {10}),   s8({2, 1, 1, 1}, {3, -5}), f32({2}, {1.0f, 0.25f}),
          s8({2}, {0, 0}),            scalar(1.0f), u8({}, {128}), i32({2}, {1, 6})};
}

TEST(QLinearConv, PerChannelRequantisationRoundsHalfToEven) {
  // Channel 0: acc [1, 13] * 0.5 = [0.5, 6.5] -> [0, 6]; channel 1: acc [6, -14] * 0.125 = [0.75, -1.75] -> [1, -2].
  Tensor y = run_both(qlinear_conv(example()));
  EXPECT_EQ(y.dtype(), DType::kUInt8);
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{128, 134, 129, 126}));
}

TEST(QLinearConv, SignedOutputSaturates) {
  // w = 127 with zero point -128 (255 away) and x 255 away from its zero point: acc = 65025 per tap;
  // 2x1 kernel -> 130050 * 0.5 = 65025, far beyond int8: saturates at 127 (and -128 for the negative channel).
  QConvArgs a{u8({1, 1, 2, 1}, {255, 255}), scalar(1.0f), u8({}, {0}),  s8({2, 1, 2, 1}, {127, 127, -128, -128}),
              f32({2}, {0.5f, 0.5f}),     s8({2}, {-128, 127}),   scalar(1.0f), s8({}, {0}), {}};
  EXPECT_EQ(values<int8_t>(run_both(qlinear_conv(a))), (std::vector<int8_t>{127, -128}));
}

TEST(QLinearConv, ConvAttributes) {
  // 3x3 input, 2x2 ones kernel, stride 2, pads 1: four windows, each seeing one corner region.
  QConvArgs a{u8({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}), scalar(1.0f), u8({}, {0}), u8({1, 1, 2, 2}, {1, 1, 1, 1}),
              scalar(1.0f), u8({}, {0}), scalar(1.0f), u8({}, {0}), {}};
  OpCall c = qlinear_conv(a);
  c.attributes["strides"] = attr_ints({2, 2});
  c.attributes["pads"] = attr_ints({1, 1, 1, 1});
  Tensor y = run_both(c);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{1, 5, 11, 28}));  // 1; 2+3; 4+7; 5+6+8+9
}

TEST(QLinearConv, BadInputsAreLoadTimeErrors) {
  for (float bad : bad_scales()) {
    QConvArgs a = example();
    a.y_scale = scalar(bad);
    expect_load_error(qlinear_conv(a), "y_scale");
    a = example();
    a.x_scale = scalar(bad);
    expect_load_error(qlinear_conv(a), "x_scale");
    a = example();
    a.w_scale = f32({2}, {1.0f, bad});
    expect_load_error(qlinear_conv(a), "w_scale");
  }
  QConvArgs a = example();
  a.w_scale = f32({3}, {1, 1, 1});
  a.w_zp = s8({3}, {0, 0, 0});
  expect_load_error(qlinear_conv(a), "w_scale has 3 entries");
  a = example();
  a.w_zp = s8({3}, {0, 0, 0});
  expect_load_error(qlinear_conv(a), "w_zero_point has 3 entries");
  a = example();
  a.x_zp = s8({}, {10});
  expect_load_error(qlinear_conv(a), "x_zero_point has dtype int8");
  a = example();
  a.w_zp = u8({2}, {0, 0});
  expect_load_error(qlinear_conv(a), "w_zero_point has dtype uint8");
  a = example();
  a.bias = i32({3}, {0, 0, 0});
  expect_load_error(qlinear_conv(a), "B [3]");
  a = example();
  a.bias = f32({2}, {0, 0});
  expect_load_error(qlinear_conv(a), "B has dtype float32");
}

}  // namespace
}  // namespace tinyq::kernels
