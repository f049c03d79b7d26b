#include <gtest/gtest.h>

#include "kernels/linalg_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace linalg_test;
using testing::attr_int;
using testing::attr_ints;
using testing::attr_string;

OpCall conv(Tensor x, Tensor w, Tensor b = {}) {
  OpCall c{.op_type = "Conv", .inputs = {std::move(x), std::move(w)}};
  if (!b.empty()) c.inputs.push_back(std::move(b));
  return c;
}

// Both kernel kinds, and the fast one with W only known at run time.
std::vector<OpCall> variants(const OpCall& c) {
  OpCall ref = c;
  ref.impl = KernelImpl::kReference;
  OpCall runtime_w = c;
  runtime_w.constant_inputs = {true, false, false};
  return {c, ref, runtime_w};
}

TEST(Conv, OnesKernelWithPadding) {
  // 5x5 input 0..24, 3x3 kernel of ones, pad 1: each output sums its 3x3 neighbourhood.
  OpCall c = conv(iota({1, 1, 5, 5}), floats({1, 1, 3, 3}, std::vector<float>(9, 1.0f)));
  c.attributes["pads"] = attr_ints({1, 1, 1, 1});
  for (const OpCall& v : variants(c)) {
    Tensor y = run1(v);
    EXPECT_EQ(y.shape(), (Shape{1, 1, 5, 5}));
    EXPECT_EQ(values(y), (std::vector<float>{12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81,
                                             93, 144, 153, 162, 111, 72, 111, 117, 123, 84}));
  }
}

TEST(Conv, StridesAsymmetricPadsAndBias) {
  // 7x5 input 0..34, ones kernel, stride 2, pads top/bottom 1 only, bias 0.5.
  OpCall c = conv(iota({1, 1, 7, 5}), floats({1, 1, 3, 3}, std::vector<float>(9, 1.0f)), floats({1}, {0.5f}));
  c.attributes["pads"] = attr_ints({1, 0, 1, 0});
  c.attributes["strides"] = attr_ints({2, 2});
  for (const OpCall& v : variants(c)) {
    Tensor y = run1(v);
    EXPECT_EQ(y.shape(), (Shape{1, 1, 4, 2}));
    EXPECT_EQ(values(y), (std::vector<float>{21.5, 33.5, 99.5, 117.5, 189.5, 207.5, 171.5, 183.5}));
  }
}

TEST(Conv, GroupsAndDilation) {
  // Two groups of one channel each: channel 0 scaled by 1, channel 1 by -2 (1x1 kernels); then a
  // 1-D dilated kernel [1, 0, 1] with dilation 2 spans 5 columns.
  OpCall g = conv(iota({1, 2, 1, 3}), floats({2, 1, 1, 1}, {1.0f, -2.0f}));
  g.attributes["group"] = attr_int(2);
  for (const OpCall& v : variants(g)) EXPECT_EQ(values(run1(v)), (std::vector<float>{0, 1, 2, -6, -8, -10}));

  OpCall d = conv(iota({1, 1, 6}), floats({1, 1, 2}, {1.0f, 1.0f}));
  d.attributes["dilations"] = attr_ints({2});
  for (const OpCall& v : variants(d)) EXPECT_EQ(values(run1(v)), (std::vector<float>{2, 4, 6, 8}));
}

TEST(Conv, AutoPad) {
  // SAME_LOWER with stride 2 on 5x5 pads 1 on each side (total 2): like pads [1,1,1,1].
  OpCall c = conv(iota({1, 1, 5, 5}), floats({1, 1, 3, 3}, std::vector<float>(9, 1.0f)));
  c.attributes["auto_pad"] = attr_string("SAME_LOWER");
  c.attributes["strides"] = attr_ints({2, 2});
  EXPECT_EQ(values(run1(c)), (std::vector<float>{12, 27, 24, 63, 108, 81, 72, 117, 84}));
  // On a 4-wide row a 2-tap kernel with stride 1 needs one pad: SAME_UPPER puts it at the end,
  // SAME_LOWER at the beginning.
  OpCall u = conv(iota({1, 1, 4}, 1.0f), floats({1, 1, 2}, {1.0f, 10.0f}));
  u.attributes["auto_pad"] = attr_string("SAME_UPPER");
  EXPECT_EQ(values(run1(u)), (std::vector<float>{21, 32, 43, 4}));
  u.attributes["auto_pad"] = attr_string("SAME_LOWER");
  EXPECT_EQ(values(run1(u)), (std::vector<float>{10, 21, 32, 43}));
  u.attributes["auto_pad"] = attr_string("VALID");
  EXPECT_EQ(values(run1(u)), (std::vector<float>{21, 32, 43}));
}

TEST(Conv, ThreeSpatialDims) {
  // 2x2x2 kernel of ones over a 2x2x3 volume: each output sums a 2x2x2 block.
  OpCall c = conv(iota({1, 1, 2, 2, 3}), floats({1, 1, 2, 2, 2}, std::vector<float>(8, 1.0f)));
  for (const OpCall& v : variants(c)) EXPECT_EQ(values(run1(v)), (std::vector<float>{40, 48}));
}

TEST(Conv, FusedOutputClamp) {
  // The ones-kernel sums clamped to [20, 100], as a fused Clip leaves them.
  OpCall c = conv(iota({1, 1, 5, 5}), floats({1, 1, 3, 3}, std::vector<float>(9, 1.0f)));
  c.attributes["pads"] = attr_ints({1, 1, 1, 1});
  for (const OpCall& v : variants(c))
    EXPECT_EQ(values(run_clamped(v, 20.0f, 100.0f)),
              (std::vector<float>{20, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 100, 100, 81, 93, 100, 100, 100,
                                  100, 72, 100, 100, 100, 84}));
  // Fast paths (direct, pointwise, XNNPACK depthwise) against the reference with a Relu6-like clamp.
  std::mt19937 rng(9);
  for (int64_t groups : {1, 8}) {
    for (int64_t k : {1, 3}) {
      OpCall r = conv(random_floats({1, 8, 12, 12}, rng, -2, 2), random_floats({8, 8 / groups, k, k}, rng),
                      random_floats({8}, rng));
      r.attributes["group"] = attr_int(groups);
      r.attributes["pads"] = attr_ints(std::vector<int64_t>(4, k / 2));
      expect_fast_matches_reference(r, "clamped, groups " + std::to_string(groups) + " k" + std::to_string(k), 0.0f,
                                    0.5f);
    }
  }
}

// ONNX Conv has three inputs: a fourth is a malformed node, never silently added to the output.
TEST(Conv, OnnxConvRejectsAFourthInput) {
  OpCall c = conv(iota({1, 1, 2, 2}), floats({1, 1, 1, 1}, {2.0f}), floats({1}, {1.0f}));
  c.inputs.push_back(floats({1, 1, 2, 2}, {0, 1000, 2000, 3000}));
  Status st = run_error(c);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("at most 3 inputs"), std::string::npos) << st.message();
}

TEST(Conv, NanPropagatesThroughDirectConv) {
  // A NaN input poisons exactly the outputs whose window covers it (3x3 around position (1,1)).
  Tensor x = iota({1, 2, 4, 4});
  x.data<float>()[5] = std::nanf("");
  OpCall c = conv(x, iota({3, 2, 3, 3}), iota({3}));
  c.attributes["pads"] = attr_ints({1, 1, 1, 1});
  for (const OpCall& v : variants(c)) {
    Tensor y = run1(v);
    for (int64_t oc = 0; oc < 3; ++oc)
      for (int64_t i = 0; i < 16; ++i) {
        const int64_t h = i / 4, w = i % 4;
        EXPECT_EQ(std::isnan(y.data<float>()[oc * 16 + i]), h <= 2 && w <= 2) << "oc " << oc << " at " << h << "," << w;
      }
  }
}

TEST(Conv, RejectsBadNodes) {
  OpCall bad_group = conv(iota({1, 3, 4, 4}), iota({2, 3, 1, 1}));
  bad_group.attributes["group"] = attr_int(2);
  EXPECT_EQ(run_error(bad_group).code(), StatusCode::kInvalidArgument);
  OpCall bad_w = conv(iota({1, 3, 4, 4}), iota({2, 2, 1, 1}));
  EXPECT_EQ(run_error(bad_w).code(), StatusCode::kInvalidArgument);
  OpCall bad_kernel = conv(iota({1, 1, 4, 4}), iota({1, 1, 3, 3}));
  bad_kernel.attributes["kernel_shape"] = attr_ints({2, 2});
  EXPECT_EQ(run_error(bad_kernel).code(), StatusCode::kInvalidArgument);
  OpCall too_big = conv(iota({1, 1, 2, 2}), iota({1, 1, 3, 3}));
  EXPECT_EQ(run_error(too_big).code(), StatusCode::kInvalidArgument);
  OpCall bad_bias = conv(iota({1, 1, 4, 4}), iota({2, 1, 3, 3}), iota({3}));
  EXPECT_EQ(run_error(bad_bias).code(), StatusCode::kInvalidArgument);
  OpCall ints = conv(Tensor(DType::kInt32, {1, 1, 4, 4}), Tensor(DType::kInt32, {1, 1, 3, 3}));
  EXPECT_EQ(run_error(ints).code(), StatusCode::kUnsupported);
  OpCall unknown = conv(iota({1, 1, 4, 4}), iota({1, 1, 3, 3}));
  unknown.attributes["foo"] = attr_int(1);
  EXPECT_EQ(run_error(unknown).code(), StatusCode::kUnsupported);
}

struct ConvCase {
  int64_t batch, c_in, c_out, groups, h, w, kh, kw, sh, sw, dh, dw;
  std::vector<int64_t> pads;  // top, left, bottom, right
  bool bias;
};

std::string describe(const ConvCase& c) {
  return "N" + std::to_string(c.batch) + " C" + std::to_string(c.c_in) + "->" + std::to_string(c.c_out) + " g" +
         std::to_string(c.groups) + " " + std::to_string(c.h) + "x" + std::to_string(c.w) + " k" +
         std::to_string(c.kh) + "x" + std::to_string(c.kw) + " s" + std::to_string(c.sh) + "," +
         std::to_string(c.sw) + " d" + std::to_string(c.dh) + "," + std::to_string(c.dw) + " p" +
         std::to_string(c.pads[0]) + "," + std::to_string(c.pads[1]) + "," + std::to_string(c.pads[2]) + "," +
         std::to_string(c.pads[3]) + (c.bias ? " bias" : "");
}

void check_case(const ConvCase& c, std::mt19937& rng) {
  OpCall call = conv(random_floats({c.batch, c.c_in, c.h, c.w}, rng),
                     random_floats({c.c_out, c.c_in / c.groups, c.kh, c.kw}, rng),
                     c.bias ? random_floats({c.c_out}, rng) : Tensor());
  call.attributes["group"] = attr_int(c.groups);
  call.attributes["strides"] = attr_ints({c.sh, c.sw});
  call.attributes["dilations"] = attr_ints({c.dh, c.dw});
  call.attributes["pads"] = attr_ints(c.pads);
  expect_fast_matches_reference(call, describe(c));
}

TEST(Conv, FastMatchesReferenceOnModelShapes) {
  std::mt19937 rng(7);
  // learned_filter_v1 and nr_metric_v1 layers (smaller planes, same channel and kernel structure).
  const std::vector<ConvCase> cases = {
      {1, 1, 16, 1, 37, 45, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, true},
      {1, 16, 16, 1, 37, 45, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, true},
      {1, 16, 1, 1, 37, 45, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, true},
      {2, 1, 16, 1, 40, 40, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, true},
      {1, 16, 16, 16, 20, 20, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, true},  // depthwise, stride 2
      {1, 32, 32, 32, 14, 14, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, true},  // depthwise, stride 1
      {2, 8, 8, 8, 9, 11, 5, 5, 2, 2, 1, 1, {2, 2, 2, 2}, false},     // depthwise 5x5
      {1, 16, 32, 1, 14, 14, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, true},   // pointwise
      {2, 64, 128, 1, 7, 7, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, true},
      {1, 3, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, true},       // 1x1 plane
  };
  for (const ConvCase& c : cases) check_case(c, rng);
}

TEST(Conv, FastMatchesReferenceOnRandomShapes) {
  std::mt19937 rng(20240611);
  auto pick = [&](std::initializer_list<int64_t> options) {
    std::vector<int64_t> v(options);
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
  };
  for (int i = 0; i < 150; ++i) {
    ConvCase c;
    c.batch = pick({1, 1, 2, 3});
    c.groups = pick({1, 1, 1, 2, 3});
    const bool depthwise = pick({0, 0, 1}) == 1;
    c.c_in = c.groups * pick({1, 2, 3, 4, 5, 8, 16, 17});
    c.c_out = c.groups * pick({1, 2, 3, 4, 6, 8, 9, 16, 19});
    if (depthwise) {
      c.c_in = c.c_out = c.groups = pick({1, 3, 8, 16, 32});
    }
    c.kh = pick({1, 2, 3, 3, 5});
    c.kw = pick({1, 2, 3, 3, 5, 7});
    c.sh = pick({1, 1, 2, 3});
    c.sw = pick({1, 1, 2, 3});
    c.dh = pick({1, 1, 1, 2});
    c.dw = pick({1, 1, 1, 2, 3});
    c.pads = {pick({0, 1, 2}), pick({0, 1, 2, 3}), pick({0, 1, 2}), pick({0, 1, 2})};
    c.h = pick({1, 2, 5, 7, 8, 13, 16, 31});
    c.w = pick({1, 3, 7, 8, 9, 15, 16, 17, 33, 40});
    c.bias = pick({0, 1}) == 1;
    // Keep the window inside the padded input.
    c.h = std::max(c.h, (c.kh - 1) * c.dh + 1 - c.pads[0] - c.pads[2]);
    c.w = std::max(c.w, (c.kw - 1) * c.dw + 1 - c.pads[1] - c.pads[3]);
    check_case(c, rng);
  }
}

TEST(Conv, FastMatchesReferenceIn1D) {
  std::mt19937 rng(3);
  for (int64_t stride : {1, 2}) {
    OpCall call = conv(random_floats({2, 4, 29}, rng), random_floats({6, 2, 3}, rng), random_floats({6}, rng));
    call.attributes["group"] = attr_int(2);
    call.attributes["strides"] = attr_ints({stride});
    call.attributes["pads"] = attr_ints({2, 1});
    expect_fast_matches_reference(call, "1-D stride " + std::to_string(stride));
  }
}

}  // namespace
}  // namespace tinyq::kernels
