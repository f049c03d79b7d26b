#include <gtest/gtest.h>

#include "kernels/shape_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace shape_test;
using testing::attr_float;
using testing::attr_ints;
using testing::attr_string;

OpCall pad(Tensor x, std::vector<int64_t> pads, const char* mode, Tensor value = {}, int64_t opset = 13) {
  OpCall c{.op_type = "Pad", .inputs = {std::move(x), ints(std::move(pads))}, .opset = opset};
  if (!value.empty()) c.inputs.push_back(std::move(value));
  c.attributes["mode"] = attr_string(mode);
  return c;
}

TEST(Pad, ConstantWithValueInput) {
  // [[0,1,2],[3,4,5]], one column in front and one row behind, filled with 9.
  Tensor y = run1(pad(iota<float>({2, 3}), {0, 1, 1, 0}, "constant", Tensor::from_vector<float>({}, {9.0f})));
  EXPECT_EQ(y.shape(), (Shape{3, 4}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{9, 0, 1, 2, 9, 3, 4, 5, 9, 9, 9, 9}));
}

TEST(Pad, ConstantValueReadAtRunTime) {
  OpCall c = pad(iota<int32_t>({2}), {1, 1}, "constant", Tensor::from_vector<int32_t>({}, {-5}));
  c.constant_inputs = {true, true, false};
  EXPECT_EQ(values<int32_t>(run1(c)), (std::vector<int32_t>{-5, 0, 1, -5}));
  // Omitted constant_value: zeros.
  EXPECT_EQ(values<int32_t>(run1(pad(iota<int32_t>({2}, 1), {1, 0}, "constant"))), (std::vector<int32_t>{0, 1, 2}));
}

TEST(Pad, ReflectEdgeWrap) {
  EXPECT_EQ(values<float>(run1(pad(iota<float>({3}), {2, 2}, "reflect"))), (std::vector<float>{2, 1, 0, 1, 2, 1, 0}));
  // Pads longer than the axis keep reflecting (numpy's behaviour).
  EXPECT_EQ(values<float>(run1(pad(iota<float>({3}), {5, 0}, "reflect"))),
            (std::vector<float>{1, 0, 1, 2, 1, 0, 1, 2}));
  EXPECT_EQ(values<float>(run1(pad(iota<float>({3}), {2, 1}, "edge"))), (std::vector<float>{0, 0, 0, 1, 2, 2}));
  EXPECT_EQ(values<float>(run1(pad(iota<float>({3}), {2, 1}, "wrap", {}, 19))), (std::vector<float>{1, 2, 0, 1, 2, 0}));
  EXPECT_EQ(run_error(pad(iota<float>({3}), {2, 1}, "wrap", {}, 18)).code(), StatusCode::kUnsupported);
}

TEST(Pad, Reflect2D) {
  // [[0,1,2],[3,4,5]] reflected by one on every side.
  Tensor y = run1(pad(iota<uint8_t>({2, 3}), {1, 1, 1, 1}, "reflect"));
  EXPECT_EQ(y.shape(), (Shape{4, 5}));
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{4, 3, 4, 5, 4, 1, 0, 1, 2, 1, 4, 3, 4, 5, 4, 1, 0, 1, 2, 1}));
}

TEST(Pad, NegativePadsCrop) {
  EXPECT_EQ(values<float>(run1(pad(iota<float>({5}), {-1, 2}, "constant"))), (std::vector<float>{1, 2, 3, 4, 0, 0}));
  EXPECT_EQ(run_error(pad(iota<float>({2}), {-2, -1}, "constant")).code(), StatusCode::kInvalidArgument);
}

TEST(Pad, AttributesBeforeOpset11) {
  OpCall c{.op_type = "Pad", .inputs = {iota<int32_t>({2})}, .opset = 2};
  c.attributes["pads"] = attr_ints({1, 2});
  c.attributes["value"] = attr_float(7.0f);
  EXPECT_EQ(values<int32_t>(run1(c)), (std::vector<int32_t>{7, 0, 1, 7, 7}));
}

TEST(Pad, AxesInputFromOpset18) {
  OpCall c{.op_type = "Pad",
           .inputs = {iota<float>({2, 2}), ints({1, 0}), Tensor::from_vector<float>({}, {-1.0f}), ints({-1})},
           .opset = 18};
  Tensor y = run1(c);
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{-1, 0, 1, -1, 2, 3}));
}

TEST(Pad, RejectsBadPads) {
  Status s = run_error(pad(iota<float>({2, 2}), {1, 1}, "constant"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("test_Pad"), std::string::npos) << s.message();
  EXPECT_EQ(run_error(pad(Tensor(DType::kFloat32, {0}), {1, 0}, "edge")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(pad(iota<float>({2}), {1, 0}, "mirror")).code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace tinyq::kernels
