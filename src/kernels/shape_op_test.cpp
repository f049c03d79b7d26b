#include <gtest/gtest.h>

#include <optional>

#include "kernels/shape_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace shape_test;
using testing::attr_int;

std::vector<int64_t> shape_of(Shape s, std::optional<int64_t> start, std::optional<int64_t> end, int64_t opset = 15) {
  OpCall c{.op_type = "Shape", .inputs = {Tensor(DType::kFloat32, std::move(s))}, .opset = opset};
  if (start) c.attributes["start"] = attr_int(*start);
  if (end) c.attributes["end"] = attr_int(*end);
  Tensor y = run1(c);
  EXPECT_EQ(y.dtype(), DType::kInt64);
  return values<int64_t>(y);
}

TEST(Shape, WholeShape) {
  EXPECT_EQ(shape_of({3, 4, 5}, {}, {}), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(shape_of({}, {}, {}), (std::vector<int64_t>{}));
  EXPECT_EQ(shape_of({2, 7}, {}, {}, 13), (std::vector<int64_t>{2, 7}));
}

TEST(Shape, StartEndWithNegativesAndClamping) {
  EXPECT_EQ(shape_of({3, 4, 5}, 1, {}), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(shape_of({3, 4, 5}, -1, {}), (std::vector<int64_t>{5}));
  EXPECT_EQ(shape_of({3, 4, 5}, {}, -1), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(shape_of({3, 4, 5}, -10, 10), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(shape_of({3, 4, 5}, 2, 1), (std::vector<int64_t>{}));
}

TEST(Shape, StartEndRejectedBeforeOpset15) {
  OpCall c{.op_type = "Shape", .inputs = {Tensor(DType::kFloat32, {2})}, .opset = 13};
  c.attributes["start"] = attr_int(1);
  EXPECT_EQ(run_error(c).code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace tinyq::kernels
