#include <gtest/gtest.h>

#include "kernels/shape_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace shape_test;
using testing::attr_int;
using testing::attr_ints;

OpCall reshape(Tensor x, std::vector<int64_t> shape, int64_t allowzero = -1) {
  OpCall c{.op_type = "Reshape", .inputs = {std::move(x), ints(std::move(shape))}};
  if (allowzero >= 0) c.attributes["allowzero"] = attr_int(allowzero);
  return c;
}

TEST(Reshape, ZeroCopiesAndMinusOneInfers) {
  Tensor y = run1(reshape(iota<float>({2, 3, 4}), {0, -1}));
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(values<float>(y)[13], 13.0f);
  EXPECT_EQ(run1(reshape(iota<float>({2, 3, 4}), {-1, 0, 2})).shape(), (Shape{4, 3, 2}));
}

TEST(Reshape, AllowZeroKeepsLiteralZero) {
  Tensor y = run1(reshape(Tensor(DType::kFloat32, {0, 3, 4}), {3, 4, 0}, 1));
  EXPECT_EQ(y.shape(), (Shape{3, 4, 0}));
  // Without allowzero, 0 copies the input dim: [0,3,4] -> [0,3,4].
  EXPECT_EQ(run1(reshape(Tensor(DType::kFloat32, {0, 3, 4}), {0, 0, 4}, 0)).shape(), (Shape{0, 3, 4}));
}

TEST(Reshape, WorksOnAnyFixedSizeDtype) {
  Tensor y = run1(reshape(Tensor::from_vector<int8_t>({4}, {1, -2, 3, -4}), {2, 2}));
  EXPECT_EQ(values<int8_t>(y), (std::vector<int8_t>{1, -2, 3, -4}));
  Tensor bools(DType::kBool, {2});
  bools.data<bool>()[0] = true;
  Tensor b = run1(reshape(bools, {2, 1}));
  EXPECT_EQ(b.shape(), (Shape{2, 1}));
  EXPECT_EQ(b.data<bool>()[0], true);
  EXPECT_EQ(b.data<bool>()[1], false);
}

TEST(Reshape, IncompatibleSizeNamesNode) {
  Status s = run_error(reshape(iota<float>({2, 3}), {4, 2}));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("test_Reshape"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("[2,3]"), std::string::npos) << s.message();
}

TEST(Reshape, RejectsBadShapes) {
  EXPECT_EQ(run_error(reshape(iota<float>({6}), {-1, -1})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(reshape(iota<float>({6}), {-2, -3})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(reshape(iota<float>({6}), {4, -1})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(reshape(iota<float>({6}), {0, 0, 6})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(reshape(Tensor(DType::kFloat32, {0, 2}), {-1, 0}, 1)).code(), StatusCode::kInvalidArgument);
}

TEST(Reshape, ShapeMustBeKnownAtPlanTime) {
  OpCall c = reshape(iota<float>({6}), {2, 3});
  c.constant_inputs = {true, false};
  EXPECT_EQ(run_error(c).code(), StatusCode::kUnsupported);
}

TEST(Reshape, UnsupportedDtypeIsClear) {
  Status s = run_error(reshape(Tensor(DType::kUInt32, {4}), {2, 2}));
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("uint32"), std::string::npos) << s.message();
}

TEST(Flatten, AxisAndNegativeAxis) {
  auto flatten = [](int64_t axis) {
    OpCall c{.op_type = "Flatten", .inputs = {iota<float>({2, 3, 4, 5})}};
    c.attributes["axis"] = attr_int(axis);
    return run1(c).shape();
  };
  EXPECT_EQ(flatten(0), (Shape{1, 120}));
  EXPECT_EQ(flatten(2), (Shape{6, 20}));
  EXPECT_EQ(flatten(4), (Shape{120, 1}));
  EXPECT_EQ(flatten(-1), (Shape{24, 5}));
  EXPECT_EQ(flatten(-4), (Shape{1, 120}));
  OpCall def{.op_type = "Flatten", .inputs = {iota<float>({2, 3, 4})}};
  Tensor y = run1(def);
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(values<float>(y)[23], 23.0f);
  OpCall bad{.op_type = "Flatten", .inputs = {iota<float>({2, 3})}};
  bad.attributes["axis"] = attr_int(3);
  EXPECT_EQ(run_error(bad).code(), StatusCode::kInvalidArgument);
}

TEST(Squeeze, AxesInputFromOpset13) {
  OpCall c{.op_type = "Squeeze", .inputs = {iota<float>({1, 3, 1, 2}), ints({-2, 0})}, .opset = 13};
  Tensor y = run1(c);
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{0, 1, 2, 3, 4, 5}));
}

TEST(Squeeze, AxesAttributeBeforeOpset13AndDefaultAll) {
  OpCall c{.op_type = "Squeeze", .inputs = {iota<float>({1, 3, 1, 2})}, .opset = 11};
  c.attributes["axes"] = attr_ints({2});
  EXPECT_EQ(run1(c).shape(), (Shape{1, 3, 2}));
  OpCall all{.op_type = "Squeeze", .inputs = {iota<float>({1, 3, 1, 2})}, .opset = 13};
  EXPECT_EQ(run1(all).shape(), (Shape{3, 2}));
}

TEST(Squeeze, RejectsNonUnitAxis) {
  OpCall c{.op_type = "Squeeze", .inputs = {iota<float>({1, 3}), ints({1})}, .opset = 13};
  Status s = run_error(c);
  EXPECT_NE(s.message().find("test_Squeeze"), std::string::npos) << s.message();
}

TEST(Unsqueeze, NegativeAndUnsortedAxes) {
  OpCall c{.op_type = "Unsqueeze", .inputs = {iota<float>({3, 4}), ints({4, 0, -3})}, .opset = 13};
  // Output rank 5: axes 4, 0 and 2 are new.
  EXPECT_EQ(run1(c).shape(), (Shape{1, 3, 1, 4, 1}));
  OpCall old{.op_type = "Unsqueeze", .inputs = {iota<float>({3})}, .opset = 11};
  old.attributes["axes"] = attr_ints({1});
  EXPECT_EQ(run1(old).shape(), (Shape{3, 1}));
}

TEST(Unsqueeze, RejectsRepeatedAndMissingAxes) {
  OpCall dup{.op_type = "Unsqueeze", .inputs = {iota<float>({3}), ints({0, -3})}, .opset = 13};
  EXPECT_EQ(run_error(dup).code(), StatusCode::kInvalidArgument);
  OpCall none{.op_type = "Unsqueeze", .inputs = {iota<float>({3})}, .opset = 13};
  EXPECT_EQ(run_error(none).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tinyq::kernels
