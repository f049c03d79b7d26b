#include <gtest/gtest.h>

#include "kernels/shape_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace shape_test;
using testing::attr_int;

OpCall gather(Tensor data, Tensor indices, int64_t axis, bool const_indices = true) {
  OpCall c{.op_type = "Gather", .inputs = {std::move(data), std::move(indices)}};
  c.attributes["axis"] = attr_int(axis);
  c.constant_inputs = {true, const_indices};
  return c;
}

TEST(Gather, Axis0TwoDimIndices) {
  // data [3,2] = [[0,1],[2,3],[4,5]], indices [[0,2],[1,0]] -> [2,2,2].
  Tensor y = run1(gather(iota<float>({3, 2}), Tensor::from_vector<int64_t>({2, 2}, {0, 2, 1, 0}), 0));
  EXPECT_EQ(y.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{0, 1, 4, 5, 2, 3, 0, 1}));
}

TEST(Gather, InnerAxisNegativeIndicesInt32) {
  // data [2,3] = [[0,1,2],[3,4,5]], axis -1, indices [-1, 0] -> [[2,0],[5,3]].
  Tensor y = run1(gather(iota<int16_t>({2, 3}), Tensor::from_vector<int32_t>({2}, {-1, 0}), -1));
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<int16_t>(y), (std::vector<int16_t>{2, 0, 5, 3}));
}

TEST(Gather, ScalarIndexDropsAxis) {
  Tensor y = run1(gather(iota<double>({2, 3, 2}), Tensor::from_vector<int64_t>({}, {1}), 1));
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<double>(y), (std::vector<double>{2, 3, 8, 9}));
}

TEST(Gather, IndicesReadAtRunTime) {
  Tensor y = run1(gather(iota<float>({4}), Tensor::from_vector<int64_t>({3}, {3, -4, 1}), 0, /*const=*/false));
  EXPECT_EQ(values<float>(y), (std::vector<float>{3, 0, 1}));
  // A run-time index out of range cannot be reported from the kernel; it must not read out of
  // bounds, and yields zeros.
  Tensor z = run1(gather(iota<float>({4}, 1.0f), Tensor::from_vector<int64_t>({2}, {7, 2}), 0, false));
  EXPECT_EQ(values<float>(z), (std::vector<float>{0, 3}));
}

TEST(Gather, ConstantIndexOutOfRangeIsAnError) {
  Status s = run_error(gather(iota<float>({4}), Tensor::from_vector<int64_t>({1}, {4}), 0));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("test_Gather"), std::string::npos) << s.message();
  EXPECT_EQ(run_error(gather(iota<float>({4}), Tensor::from_vector<float>({1}, {0}), 0)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(gather(iota<float>({4}), ints({0}), 1)).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tinyq::kernels
