#include <gtest/gtest.h>

#include "kernels/shape_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace shape_test;

OpCall constant(const char* key, ir::Attribute a) {
  OpCall c{.op_type = "Constant"};
  c.attributes[key] = std::move(a);
  return c;
}

TEST(Constant, TensorValue) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kTensor;
  a.t = Tensor::from_vector<int32_t>({2, 2}, {1, 2, 3, 4});
  Tensor y = run1(constant("value", a));
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{1, 2, 3, 4}));
}

TEST(Constant, ScalarAndListAttributes) {
  Tensor f = run1(constant("value_float", testing::attr_float(2.5f)));
  EXPECT_EQ(f.shape(), Shape{});
  EXPECT_EQ(values<float>(f), (std::vector<float>{2.5f}));
  Tensor fs = run1(constant("value_floats", testing::attr_floats({1.0f, -1.0f})));
  EXPECT_EQ(values<float>(fs), (std::vector<float>{1.0f, -1.0f}));
  Tensor i = run1(constant("value_int", testing::attr_int(-7)));
  EXPECT_EQ(i.dtype(), DType::kInt64);
  EXPECT_EQ(values<int64_t>(i), (std::vector<int64_t>{-7}));
  Tensor is = run1(constant("value_ints", testing::attr_ints({3, 4, 5})));
  EXPECT_EQ(is.shape(), (Shape{3}));
  EXPECT_EQ(values<int64_t>(is), (std::vector<int64_t>{3, 4, 5}));
}

TEST(Constant, SparseAndStringAreUnsupported) {
  Status s = run_error(constant("value_string", testing::attr_string("hi")));
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("value_string"), std::string::npos) << s.message();
  ir::Attribute sparse;
  EXPECT_EQ(run_error(constant("sparse_value", sparse)).code(), StatusCode::kUnsupported);
  EXPECT_EQ(run_error(OpCall{.op_type = "Constant"}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tinyq::kernels
