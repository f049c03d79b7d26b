#include <gtest/gtest.h>

#include "kernels/shape_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace shape_test;
using testing::attr_float;
using testing::attr_floats;
using testing::attr_ints;
using testing::attr_string;

// Linear weights are computed in double and rounded once to float.
constexpr float kLerpTolerance = 1e-5f;

struct ResizeArgs {
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  std::vector<float> roi;
  std::map<std::string, std::string> attrs;
  int64_t opset = 13;
};

OpCall resize(Tensor x, const ResizeArgs& a) {
  OpCall c{.op_type = "Resize", .inputs = {std::move(x)}, .opset = a.opset};
  if (a.opset < 11) {
    c.inputs.push_back(floats(a.scales));
  } else {
    c.inputs.push_back(a.roi.empty() ? Tensor() : floats(a.roi));
    c.inputs.push_back(a.scales.empty() ? Tensor() : floats(a.scales));
    if (!a.sizes.empty()) c.inputs.push_back(ints(a.sizes));
  }
  for (const auto& [k, v] : a.attrs) c.attributes[k] = attr_string(v);
  return c;
}

void expect_near(const Tensor& y, const std::vector<float>& want) {
  std::vector<float> got = values<float>(y);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], kLerpTolerance) << "at " << i;
}

// [[1,2],[3,4]] as [1,1,2,2].
Tensor square() { return iota<float>({1, 1, 2, 2}, 1.0f); }

TEST(Resize, NearestHalfPixelUpsample) {
  Tensor y = run1(resize(square(), {.scales = {1, 1, 2, 3}}));
  EXPECT_EQ(y.shape(), (Shape{1, 1, 4, 6}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                                                   3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}));
}

TEST(Resize, NearestModesOnSizes) {
  // [[1,2,3,4],[5,6,7,8]] down to [1,3]: half_pixel y = 0.5, x = 0.1667, 1.5, 2.8333.
  Tensor x = iota<float>({1, 1, 2, 4}, 1.0f);
  EXPECT_EQ(values<float>(run1(resize(x, {.sizes = {1, 1, 1, 3}}))), (std::vector<float>{1, 2, 4}));
  // The single output row samples y = 0.5, which round_prefer_ceil takes to row 1.
  EXPECT_EQ(values<float>(run1(resize(x, {.sizes = {1, 1, 1, 3}, .attrs = {{"nearest_mode", "round_prefer_ceil"}}}))),
            (std::vector<float>{5, 7, 8}));
  // asymmetric: x = 0, 1.333, 2.667 -> floor 0,1,2 / ceil 0,2,3.
  EXPECT_EQ(values<float>(run1(resize(x, {.sizes = {1, 1, 1, 3},
                                         .attrs = {{"coordinate_transformation_mode", "asymmetric"},
                                                   {"nearest_mode", "floor"}}}))),
            (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(values<float>(run1(resize(x, {.sizes = {1, 1, 1, 3},
                                         .attrs = {{"coordinate_transformation_mode", "asymmetric"},
                                                   {"nearest_mode", "ceil"}}}))),
            (std::vector<float>{1, 3, 4}));
}

TEST(Resize, NearestKeepsIntegerDtypes) {
  Tensor x = Tensor::from_vector<int8_t>({1, 2}, {-3, 7});
  Tensor y = run1(resize(x, {.scales = {1, 2}}));
  EXPECT_EQ(values<int8_t>(y), (std::vector<int8_t>{-3, -3, 7, 7}));
}

TEST(Resize, LinearHalfPixel) {
  // x coords -0.25 (clamped), 0.25, 0.75, 1.25 (clamped) along both axes.
  Tensor y = run1(resize(square(), {.scales = {1, 1, 2, 2}, .attrs = {{"mode", "linear"}}}));
  EXPECT_EQ(y.shape(), (Shape{1, 1, 4, 4}));
  expect_near(y, {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4});
}

TEST(Resize, LinearAlignCorners) {
  // Coordinates 0, 1/3, 2/3, 1 along both axes; value = 1 + 2 * row + col.
  Tensor y = run1(resize(square(), {.scales = {1, 1, 2, 2},
                                    .attrs = {{"mode", "linear"}, {"coordinate_transformation_mode", "align_corners"}}}));
  const float t = 1.0f / 3.0f;
  std::vector<float> want;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) want.push_back(1 + 2 * (r * t) + c * t);
  expect_near(y, want);
}

TEST(Resize, LinearPytorchHalfPixelSingleOutput) {
  // Output length 1 samples coordinate 0 under pytorch_half_pixel (half_pixel would give 1.5).
  Tensor x = iota<float>({1, 4}, 1.0f);
  Tensor y = run1(resize(x, {.sizes = {1, 1},
                             .attrs = {{"mode", "linear"}, {"coordinate_transformation_mode", "pytorch_half_pixel"}}}));
  expect_near(y, {1.0f});
  Tensor h = run1(resize(x, {.sizes = {1, 1}, .attrs = {{"mode", "linear"}}}));
  expect_near(h, {2.5f});
}

TEST(Resize, TfCropAndResizeWithExtrapolation) {
  // 4x4 of 1..16, rows 0.4..0.6 and cols 0.6..0.8 sampled 3x3: coords rows 1.2,1.5,1.8, cols
  // 1.8,2.1,2.4; value = 1 + 4 * row + col.
  OpCall c = resize(iota<float>({1, 1, 4, 4}, 1.0f),
                    {.sizes = {1, 1, 3, 3},
                     .roi = {0, 0, 0.4f, 0.6f, 1, 1, 0.6f, 0.8f},
                     .attrs = {{"mode", "linear"}, {"coordinate_transformation_mode", "tf_crop_and_resize"}}});
  c.attributes["extrapolation_value"] = attr_float(10.0f);
  expect_near(run1(c), {7.6f, 7.9f, 8.2f, 8.8f, 9.1f, 9.4f, 10.0f, 10.3f, 10.6f});
  // A crop past the end: coords 1.5, 3.0, 4.5; the last is outside and extrapolates.
  OpCall e = resize(iota<float>({4}), {.sizes = {3}, .roi = {0.5f, 1.5f},
                                       .attrs = {{"mode", "linear"}, {"coordinate_transformation_mode", "tf_crop_and_resize"}}});
  e.attributes["extrapolation_value"] = attr_float(10.0f);
  expect_near(run1(e), {1.5f, 3.0f, 10.0f});
}

TEST(Resize, Opset10AndUpsampleAreAsymmetric) {
  // Downsampling rounds up (x = 0, 1.667 -> 0, 2), as onnxruntime does for these versions.
  Tensor x = iota<float>({1, 1, 2, 4}, 1.0f);
  Tensor y = run1(resize(x, {.scales = {1, 1, 0.6f, 0.6f}, .opset = 10}));
  EXPECT_EQ(y.shape(), (Shape{1, 1, 1, 2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 3}));
  OpCall up{.op_type = "Upsample", .inputs = {square(), floats({1, 1, 2, 3})}, .opset = 9};
  EXPECT_EQ(values<float>(run1(up)), (std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                                                          3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}));
  OpCall lin{.op_type = "Upsample", .inputs = {iota<float>({2})}, .opset = 7};
  lin.attributes["scales"] = attr_floats({2});
  lin.attributes["mode"] = attr_string("linear");
  expect_near(run1(lin), {0, 0.5f, 1, 1});
}

TEST(Resize, Opset18AxesAndAspectRatio) {
  OpCall c = resize(iota<float>({1, 2, 4}), {.sizes = {4, 4}, .opset = 18});
  c.attributes["axes"] = attr_ints({1, 2});
  c.attributes["keep_aspect_ratio_policy"] = attr_string("not_larger");
  EXPECT_EQ(run1(c).shape(), (Shape{1, 2, 4}));
  c.attributes["keep_aspect_ratio_policy"] = attr_string("not_smaller");
  EXPECT_EQ(run1(c).shape(), (Shape{1, 4, 8}));
  OpCall s = resize(iota<float>({2, 2}), {.scales = {2}, .attrs = {{"coordinate_transformation_mode", "asymmetric"}},
                                          .opset = 18});
  s.attributes["axes"] = attr_ints({-1});
  EXPECT_EQ(values<float>(run1(s)), (std::vector<float>{0, 0, 1, 1, 2, 2, 3, 3}));
}

TEST(Resize, UnsupportedAndBadArguments) {
  Status cubic = run_error(resize(square(), {.scales = {1, 1, 2, 2}, .attrs = {{"mode", "cubic"}}}));
  EXPECT_EQ(cubic.code(), StatusCode::kUnsupported);
  EXPECT_NE(cubic.message().find("cubic"), std::string::npos) << cubic.message();
  Status ints_linear = run_error(resize(iota<int32_t>({2, 2}), {.scales = {1, 2}, .attrs = {{"mode", "linear"}}}));
  EXPECT_EQ(ints_linear.code(), StatusCode::kUnsupported);
  EXPECT_EQ(run_error(resize(square(), {.scales = {1, 1, 2}})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(resize(square(), {.scales = {1, 1, 2, 2}, .sizes = {1, 1, 4, 4}})).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(resize(square(), {.scales = {1, 1, 2, 2}, .attrs = {{"mode", "bicubic"}}})).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tinyq::kernels
