#include <gtest/gtest.h>

#include "kernels/linalg_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace linalg_test;
using testing::attr_int;
using testing::attr_ints;
using testing::attr_string;

OpCall conv_transpose(Tensor x, Tensor w, Tensor b = {}) {
  OpCall c{.op_type = "ConvTranspose", .inputs = {std::move(x), std::move(w)}};
  if (!b.empty()) c.inputs.push_back(std::move(b));
  return c;
}

TEST(ConvTranspose, OneDimensional) {
  // Each input element scatters the kernel [1,1,1] onto the output.
  EXPECT_EQ(values(run1(conv_transpose(floats({1, 1, 3}, {1, 2, 3}), floats({1, 1, 3}, {1, 1, 1})))),
            (std::vector<float>{1, 3, 6, 5, 3}));
  // Dilation 2 spreads the two taps two apart.
  OpCall d = conv_transpose(floats({1, 1, 2}, {1, 2}), floats({1, 1, 2}, {1, 1}));
  d.attributes["dilations"] = attr_ints({2});
  EXPECT_EQ(values(run1(d)), (std::vector<float>{1, 2, 1, 2}));
}

TEST(ConvTranspose, StridesOutputPaddingAndPads) {
  // Stride 2 with kernel [1,10]: x0 lands on 0..1, x1 on 2..3.
  const Tensor x = floats({1, 1, 2}, {1, 2});
  const Tensor w = floats({1, 1, 2}, {1, 10});
  OpCall c = conv_transpose(x, w);
  c.attributes["strides"] = attr_ints({2});
  EXPECT_EQ(values(run1(c)), (std::vector<float>{1, 10, 2, 20}));
  OpCall extra = c;
  extra.attributes["output_padding"] = attr_ints({1});
  EXPECT_EQ(values(run1(extra)), (std::vector<float>{1, 10, 2, 20, 0}));
  OpCall cropped = c;
  cropped.attributes["pads"] = attr_ints({1, 0});
  EXPECT_EQ(values(run1(cropped)), (std::vector<float>{10, 2, 20}));
  // output_shape 3 out of a full extent of 4: NOTSET crops the odd element at the beginning.
  OpCall shaped = c;
  shaped.attributes["output_shape"] = attr_ints({3});
  EXPECT_EQ(values(run1(shaped)), (std::vector<float>{10, 2, 20}));
}

TEST(ConvTranspose, AutoPadSame) {
  // Full extent 5 ([1,10,102,20,200]); SAME keeps in * stride = 4 columns.
  OpCall c = conv_transpose(floats({1, 1, 2}, {1, 2}), floats({1, 1, 3}, {1, 10, 100}));
  c.attributes["strides"] = attr_ints({2});
  c.attributes["auto_pad"] = attr_string("SAME_UPPER");
  EXPECT_EQ(values(run1(c)), (std::vector<float>{1, 10, 102, 20}));
  c.attributes["auto_pad"] = attr_string("SAME_LOWER");
  EXPECT_EQ(values(run1(c)), (std::vector<float>{10, 102, 20, 200}));
}

TEST(ConvTranspose, GroupsChannelsAndBias) {
  // Two groups of one channel: channel 0 times 2, channel 1 times -1, plus bias 1.
  OpCall g = conv_transpose(floats({1, 2, 2}, {1, 2, 3, 4}), floats({2, 1, 1}, {2, -1}), floats({2}, {1, 1}));
  g.attributes["group"] = attr_int(2);
  EXPECT_EQ(values(run1(g)), (std::vector<float>{3, 5, -2, -3}));
  // Input channels sum into each output channel.
  EXPECT_EQ(values(run1(conv_transpose(floats({1, 2, 1}, {1, 2}), floats({2, 1, 1}, {3, 4})))),
            (std::vector<float>{11}));
}

TEST(ConvTranspose, TwoDimensional) {
  // 3x3 iota scattered by a 3x3 kernel of ones into two identical output channels.
  Tensor y = run1(conv_transpose(iota({1, 1, 3, 3}), floats({1, 2, 3, 3}, std::vector<float>(18, 1.0f))));
  EXPECT_EQ(y.shape(), (Shape{1, 2, 5, 5}));
  const std::vector<float> plane = {0, 1, 3, 3, 2, 3, 8, 15, 12, 7, 9, 21, 36, 27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8};
  std::vector<float> want = plane;
  want.insert(want.end(), plane.begin(), plane.end());
  EXPECT_EQ(values(y), want);
}

TEST(ConvTranspose, FusedOutputClamp) {
  // [1,10,2,20] clamped to [0, 15] as a fused Clip leaves it.
  OpCall c = conv_transpose(floats({1, 1, 2}, {1, 2}), floats({1, 1, 2}, {1, 10}));
  c.attributes["strides"] = attr_ints({2});
  EXPECT_EQ(values(run_clamped(c, 0.0f, 15.0f)), (std::vector<float>{1, 10, 2, 15}));
}

TEST(ConvTranspose, RejectsBadNodes) {
  EXPECT_EQ(run_error(conv_transpose(iota({1, 2, 3}), iota({1, 1, 3}))).code(), StatusCode::kInvalidArgument);
  OpCall bad_shape = conv_transpose(iota({1, 1, 3}), iota({1, 1, 3}));
  bad_shape.attributes["output_shape"] = attr_ints({5, 5});
  EXPECT_EQ(run_error(bad_shape).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(conv_transpose(iota({3}), iota({3}))).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tinyq::kernels
