#include <gtest/gtest.h>

#include <limits>

#include "kernels/int8_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace int8_test;

struct Dql {
  std::vector<uint8_t> y;
  float scale;
  uint8_t zp;
};

Dql dql(Tensor x) {
  OpCall c{.op_type = "DynamicQuantizeLinear", .inputs = {std::move(x)}, .num_outputs = 3, .opset = 11};
  c.constant_inputs = {false};
  return {values<uint8_t>(run_both(c, 0)), values<float>(run_both(c, 1))[0], values<uint8_t>(run_both(c, 2))[0]};
}

TEST(DynamicQuantizeLinear, TiesAndRange) {
  // Range [-2, 253]: scale (253 + 2) / 255 = 1 exactly, zero point 2; then round(x) + 2, ties to even.
  Dql r = dql(f32({7}, {-2.0f, -0.5f, 0.5f, 1.5f, 2.5f, -1.5f, 253.0f}));
  EXPECT_EQ(r.scale, 1.0f);
  EXPECT_EQ(r.zp, 2);
  EXPECT_EQ(r.y, (std::vector<uint8_t>{0, 2, 2, 4, 4, 0, 255}));
}

TEST(DynamicQuantizeLinear, RangeIncludesZero) {
  // All positive: min is taken as 0, so the zero point is 0 and scale = 127.5 / 255 = 0.5.
  Dql r = dql(f32({4}, {127.5f, 0.25f, 0.75f, 63.75f}));
  EXPECT_EQ(r.scale, 0.5f);
  EXPECT_EQ(r.zp, 0);
  EXPECT_EQ(r.y, (std::vector<uint8_t>{255, 0, 2, 128}));  // 0.5 -> 0, 1.5 -> 2, 127.5 -> 128 (even)
  // All negative: max is 0, zero point 255.
  Dql n = dql(f32({2}, {-255.0f, -1.0f}));
  EXPECT_EQ(n.scale, 1.0f);
  EXPECT_EQ(n.zp, 255);
  EXPECT_EQ(n.y, (std::vector<uint8_t>{0, 254}));
}

TEST(DynamicQuantizeLinear, AllZeroFollowsOnnxRuntime) {
  // The spec divides 0 by 0 here; ONNX Runtime uses scale 1, zero point 0.
  Dql r = dql(f32({4}, {0.0f, 0.0f, -0.0f, 0.0f}));
  EXPECT_EQ(r.scale, 1.0f);
  EXPECT_EQ(r.zp, 0);
  EXPECT_EQ(r.y, (std::vector<uint8_t>{0, 0, 0, 0}));
}

TEST(DynamicQuantizeLinear, NaNIsSkippedAndMapsToZeroPoint) {
  Dql r = dql(f32({3}, {-51.0f, std::numeric_limits<float>::quiet_NaN(), 204.0f}));
  EXPECT_EQ(r.scale, 1.0f);
  EXPECT_EQ(r.zp, 51);
  EXPECT_EQ(r.y, (std::vector<uint8_t>{0, 51, 255}));
}

}  // namespace
}  // namespace tinyq::kernels
