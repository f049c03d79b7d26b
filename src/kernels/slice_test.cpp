#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "kernels/shape_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace shape_test;
using testing::attr_ints;

OpCall slice(Tensor x, std::vector<int64_t> starts, std::vector<int64_t> ends, std::vector<int64_t> axes,
             std::vector<int64_t> steps, KernelImpl impl = KernelImpl::kFast) {
  OpCall c{.op_type = "Slice", .inputs = {std::move(x), ints(std::move(starts)), ints(std::move(ends))}, .impl = impl};
  if (!axes.empty() || !steps.empty()) c.inputs.push_back(axes.empty() ? Tensor() : ints(std::move(axes)));
  if (!steps.empty()) c.inputs.push_back(ints(std::move(steps)));
  return c;
}

TEST(Slice, BasicWithAxes) {
  // x [3,4] = [[0..3],[4..7],[8..11]]; rows 1..3, cols 0..3 step 2 -> [[4,6],[8,10]].
  Tensor y = run1(slice(iota<float>({3, 4}), {1, 0}, {3, 3}, {0, 1}, {1, 2}));
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{4, 6, 8, 10}));
}

TEST(Slice, NegativeStepsReverse) {
  Tensor y = run1(slice(iota<int32_t>({5}), {-1}, {std::numeric_limits<int64_t>::min()}, {0}, {-2}));
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{4, 2, 0}));
  // [3,4], axis 1 from 2 down to (excluding) 0: cols 2,1.
  Tensor z = run1(slice(iota<int32_t>({3, 4}), {2}, {0}, {-1}, {-1}));
  EXPECT_EQ(z.shape(), (Shape{3, 2}));
  EXPECT_EQ(values<int32_t>(z), (std::vector<int32_t>{2, 1, 6, 5, 10, 9}));
}

TEST(Slice, OutOfRangeValuesClamp) {
  EXPECT_EQ(values<float>(run1(slice(iota<float>({4}), {1}, {1000}, {}, {}))), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(run1(slice(iota<float>({4}), {1000}, {1001}, {}, {})).shape(), (Shape{0}));
  EXPECT_EQ(values<float>(run1(slice(iota<float>({4}), {-100}, {2}, {}, {}))), (std::vector<float>{0, 1}));
  EXPECT_EQ(values<float>(run1(slice(iota<float>({4}), {100}, {-100}, {0}, {-3}))), (std::vector<float>{3, 0}));
  EXPECT_EQ(run1(slice(iota<float>({4}), {3}, {1}, {}, {})).shape(), (Shape{0}));
}

TEST(Slice, AttributesBeforeOpset10) {
  OpCall c{.op_type = "Slice", .inputs = {iota<float>({2, 4})}, .opset = 9};
  c.attributes["starts"] = attr_ints({1});
  c.attributes["ends"] = attr_ints({-1});
  c.attributes["axes"] = attr_ints({1});
  Tensor y = run1(c);
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 2, 5, 6}));
}

TEST(Slice, RejectsBadArguments) {
  EXPECT_EQ(run_error(slice(iota<float>({4}), {0}, {4}, {0}, {0})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(slice(iota<float>({4}), {0, 1}, {4}, {}, {})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(slice(iota<float>({4, 2}), {0, 0}, {1, 1}, {1, -1}, {})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(slice(iota<float>({4}), {0}, {4}, {1}, {})).code(), StatusCode::kInvalidArgument);
}

TEST(Slice, FastMatchesReference) {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int64_t> dim(1, 9), pos(-12, 12), step(-3, 3);
  for (int trial = 0; trial < 200; ++trial) {
    const int rank = 1 + trial % 4;
    Shape shape(rank);
    for (auto& d : shape) d = dim(rng);
    std::vector<int64_t> starts, ends, axes, steps;
    for (int k = 0; k < rank; ++k) {
      int64_t s = 0;
      while (s == 0) s = step(rng);
      starts.push_back(pos(rng));
      ends.push_back(pos(rng));
      axes.push_back(k);
      steps.push_back(s);
    }
    Tensor x = iota<int16_t>(shape);
    Tensor fast = run1(slice(x, starts, ends, axes, steps, KernelImpl::kFast));
    Tensor ref = run1(slice(x, starts, ends, axes, steps, KernelImpl::kReference));
    ASSERT_EQ(fast.shape(), ref.shape());
    ASSERT_EQ(values<int16_t>(fast), values<int16_t>(ref));
  }
}

}  // namespace
}  // namespace tinyq::kernels
