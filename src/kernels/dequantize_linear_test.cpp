#include <gtest/gtest.h>

#include "kernels/int8_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace int8_test;
using testing::attr_int;

OpCall dequantize(Tensor x, Tensor scale, Tensor zp = {}) {
  OpCall c{.op_type = "DequantizeLinear", .inputs = {std::move(x), std::move(scale)}};
  if (!zp.empty()) c.inputs.push_back(std::move(zp));
  return c;
}

TEST(DequantizeLinear, Uint8Int8Int32) {
  EXPECT_EQ(values<float>(run_both(dequantize(u8({4}, {0, 3, 128, 255}), scalar(0.5f), u8({}, {128})))),
            (std::vector<float>{-64.0f, -62.5f, 0.0f, 63.5f}));
  // Full int8 range with an extreme zero point: the difference spans -255..0, exact before scaling.
  EXPECT_EQ(values<float>(run_both(dequantize(s8({3}, {-128, 0, 127}), scalar(0.25f), s8({}, {127})))),
            (std::vector<float>{-63.75f, -31.75f, 0.0f}));
  EXPECT_EQ(values<float>(run_both(dequantize(i32({3}, {-1000000, 7, 16777217}), scalar(2.0f)))),
            (std::vector<float>{-2000000.0f, 14.0f, 33554432.0f}));
}

TEST(DequantizeLinear, PerAxisAndRunTimeParams) {
  // x [2,2,2] along axis 1: scales 1 and 0.5, zero points 1 and 2.
  OpCall c = dequantize(u8({2, 2, 2}, {1, 3, 2, 6, 0, 5, 4, 2}), f32({2}, {1.0f, 0.5f}), u8({2}, {1, 2}));
  const std::vector<float> want{0, 2, 0, 2, -1, 4, 1, 0};
  EXPECT_EQ(values<float>(run_both(c)), want);
  c.constant_inputs = {false, false, false};
  EXPECT_EQ(values<float>(run_both(c)), want);
}

TEST(DequantizeLinear, BadInputsAreLoadTimeErrors) {
  for (float bad : bad_scales()) expect_load_error(dequantize(u8({2}, {1, 2}), scalar(bad)), "x_scale");
  expect_load_error(dequantize(u8({2, 3}, {1, 2, 3, 4, 5, 6}), f32({2}, {1, 1}), u8({2}, {0, 0})), "x_scale has 2");
  expect_load_error(dequantize(u8({2}, {1, 2}), scalar(1.0f), s8({}, {0})), "x_zero_point");
  // int32 data has no zero point other than 0.
  expect_load_error(dequantize(i32({2}, {1, 2}), scalar(1.0f), i32({}, {3})), "x_zero_point");
  OpCall blocked = dequantize(u8({2}, {1, 2}), scalar(1.0f));
  blocked.opset = 21;
  blocked.attributes["block_size"] = attr_int(1);
  expect_load_error(blocked, "block_size", StatusCode::kUnsupported);
}

}  // namespace
}  // namespace tinyq::kernels
