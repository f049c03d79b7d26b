#include <gtest/gtest.h>

#include "kernels/int8_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace int8_test;
using testing::attr_int;

OpCall quantize(Tensor x, Tensor scale, Tensor zp = {}) {
  OpCall c{.op_type = "QuantizeLinear", .inputs = {std::move(x), std::move(scale)}};
  if (!zp.empty()) c.inputs.push_back(std::move(zp));
  return c;
}

TEST(QuantizeLinear, TiesRoundHalfToEven) {
  const Tensor x = f32({8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.5f, -3.5f});
  EXPECT_EQ(values<int8_t>(run_both(quantize(x, scalar(1.0f), s8({}, {0})))),
            (std::vector<int8_t>{0, 2, 2, 0, -2, -2, 4, -4}));
  // The zero point is added after rounding: 128 + round(v).
  EXPECT_EQ(values<uint8_t>(run_both(quantize(x, scalar(1.0f), u8({}, {128})))),
            (std::vector<uint8_t>{128, 130, 130, 128, 126, 126, 132, 124}));
  // x / scale lands on ties too: 0.25 / 0.5 = 0.5 -> 0, 0.75 / 0.5 = 1.5 -> 2.
  EXPECT_EQ(values<uint8_t>(run_both(quantize(f32({3}, {0.25f, 0.75f, 1.25f}), scalar(0.5f)))),
            (std::vector<uint8_t>{0, 2, 2}));
}

TEST(QuantizeLinear, SaturatesAndDefaultsToUint8) {
  const Tensor x = f32({6}, {-300.0f, -129.0f, -128.4f, 126.6f, 127.5f, 1e30f});
  EXPECT_EQ(values<int8_t>(run_both(quantize(x, scalar(1.0f), s8({}, {0})))),
            (std::vector<int8_t>{-128, -128, -128, 127, 127, 127}));
  Tensor y = run_both(quantize(f32({4}, {-1.0f, 0.0f, 254.6f, 300.0f}), scalar(1.0f)));
  EXPECT_EQ(y.dtype(), DType::kUInt8);
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{0, 0, 255, 255}));
  // Zero point 10 moves the saturation point: 250 + 10 saturates at 255.
  EXPECT_EQ(values<uint8_t>(run_both(quantize(f32({2}, {-20.0f, 250.0f}), scalar(1.0f), u8({}, {10})))),
            (std::vector<uint8_t>{0, 255}));
}

TEST(QuantizeLinear, PerAxis) {
  // x [2,3,2], axis 1: scales 1, 2, 4 and zero points 0, 1, 2.
  const Tensor x = f32({2, 3, 2}, {1, 2, 3, 4, 8, -8, -1, -2, -3, -4, 6, 10});
  OpCall c = quantize(x, f32({3}, {1.0f, 2.0f, 4.0f}), s8({3}, {0, 1, 2}));
  // channel 0: [1,2]/1 -> 1,2; channel 1: [3,4]/2 = 1.5,2 -> 2,2 +1 -> 3,3; channel 2: [8,-8]/4 -> 2,-2 +2 -> 4,0
  // second block: [-1,-2] -> -1,-2; [-3,-4]/2 = -1.5,-2 -> -2,-2 +1 -> -1,-1; [6,10]/4 = 1.5,2.5 -> 2,2 +2 -> 4,4
  EXPECT_EQ(values<int8_t>(run_both(c)), (std::vector<int8_t>{1, 2, 3, 3, 4, 0, -1, -2, -1, -1, 4, 4}));
  c.attributes["axis"] = attr_int(-2);
  EXPECT_EQ(values<int8_t>(run_both(c)), (std::vector<int8_t>{1, 2, 3, 3, 4, 0, -1, -2, -1, -1, 4, 4}));
}

TEST(QuantizeLinear, RunTimeScaleAndInt32Input) {
  OpCall c = quantize(f32({3}, {1.0f, 3.0f, -5.0f}), scalar(2.0f), u8({}, {100}));
  c.constant_inputs = {false, false, false};
  EXPECT_EQ(values<uint8_t>(run_both(c)), (std::vector<uint8_t>{100, 102, 98}));  // 0.5->0, 1.5->2, -2.5->-2
  EXPECT_EQ(values<int8_t>(run_both(quantize(i32({3}, {5, 7, -1000}), scalar(2.0f), s8({}, {0})))),
            (std::vector<int8_t>{2, 4, -128}));
}

TEST(QuantizeLinear, Opset21OutputDtype) {
  OpCall c = quantize(f32({2}, {-3.0f, 3.0f}), scalar(1.0f));
  c.opset = 21;
  c.attributes["output_dtype"] = attr_int(static_cast<int64_t>(DType::kInt8));
  Tensor y = run_both(c);
  EXPECT_EQ(y.dtype(), DType::kInt8);
  EXPECT_EQ(values<int8_t>(y), (std::vector<int8_t>{-3, 3}));
  c.attributes["block_size"] = attr_int(2);
  expect_load_error(c, "block_size", StatusCode::kUnsupported);
}

TEST(QuantizeLinear, BadInputsAreLoadTimeErrors) {
  for (float bad : bad_scales()) expect_load_error(quantize(f32({2}, {1, 2}), scalar(bad)), "y_scale");
  // Per-axis length mismatch: 3 scales for a dimension of 2.
  expect_load_error(quantize(f32({2, 2}, {1, 2, 3, 4}), f32({3}, {1, 1, 1}), u8({3}, {0, 0, 0})), "y_scale has 3");
  // A bad entry among per-axis scales.
  expect_load_error(quantize(f32({2, 2}, {1, 2, 3, 4}), f32({2}, {1.0f, 0.0f})), "y_scale");
  // Zero point shape disagreeing with the scale.
  expect_load_error(quantize(f32({2, 2}, {1, 2, 3, 4}), f32({2}, {1, 1}), u8({}, {0})), "y_zero_point");
  // Opset 21 output_dtype disagreeing with the zero point's type.
  OpCall c = quantize(f32({2}, {1, 2}), scalar(1.0f), u8({}, {0}));
  c.opset = 21;
  c.attributes["output_dtype"] = attr_int(static_cast<int64_t>(DType::kInt8));
  expect_load_error(c, "output_dtype");
  // axis before opset 13.
  OpCall old = quantize(f32({2}, {1, 2}), scalar(1.0f));
  old.opset = 10;
  old.attributes["axis"] = attr_int(0);
  expect_load_error(old, "axis");
}

}  // namespace
}  // namespace tinyq::kernels
