#include <gtest/gtest.h>

#include "kernels/shape_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace shape_test;
using testing::attr_int;

OpCall concat(std::vector<Tensor> xs, int64_t axis) {
  OpCall c{.op_type = "Concat", .inputs = std::move(xs)};
  c.attributes["axis"] = attr_int(axis);
  return c;
}

TEST(Concat, InnerAxisNegative) {
  // [[0,1],[2,3]] ++ [[10],[11]] along -1 -> [[0,1,10],[2,3,11]].
  Tensor y = run1(concat({iota<float>({2, 2}), iota<float>({2, 1}, 10.0f)}, -1));
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{0, 1, 10, 2, 3, 11}));
}

TEST(Concat, OuterAxisThreeInputsWithEmpty) {
  Tensor y = run1(concat({iota<int64_t>({1, 2}), Tensor(DType::kInt64, {0, 2}), iota<int64_t>({2, 2}, 5)}, 0));
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{0, 1, 5, 6, 7, 8}));
}

TEST(Concat, RejectsMismatches) {
  Status s = run_error(concat({iota<float>({2, 2}), iota<float>({3, 1})}, 1));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("test_Concat"), std::string::npos) << s.message();
  EXPECT_EQ(run_error(concat({iota<float>({2}), iota<int32_t>({2})}, 0)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(concat({iota<float>({2}), iota<float>({2})}, 1)).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tinyq::kernels
