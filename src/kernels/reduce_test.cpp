#include <gtest/gtest.h>

#include <random>

#include "kernels/shape_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace shape_test;
using testing::attr_int;
using testing::attr_ints;

// Both paths accumulate in double; only the summation order differs before the final rounding.
constexpr float kReduceTolerance = 1e-6f;

// x[i][j][k] = 6i + 2j + k, shape [2,3,2].
Tensor x232() { return iota<float>({2, 3, 2}); }

TEST(ReduceSum, AxesInputKeepDims) {
  OpCall c{.op_type = "ReduceSum", .inputs = {x232(), ints({1})}, .opset = 13};
  Tensor y = run1(c);
  EXPECT_EQ(y.shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{6, 9, 24, 27}));
}

TEST(ReduceSum, AxesAttributeBeforeOpset13) {
  OpCall c{.op_type = "ReduceSum", .inputs = {x232()}, .opset = 11};
  c.attributes["axes"] = attr_ints({2});
  c.attributes["keepdims"] = attr_int(0);
  Tensor y = run1(c);
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, 5, 9, 13, 17, 21}));
}

TEST(ReduceSum, NoAxesReducesAllOrIsNoop) {
  OpCall all{.op_type = "ReduceSum", .inputs = {x232()}, .opset = 13};
  Tensor y = run1(all);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 1}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{66}));
  OpCall empty{.op_type = "ReduceSum", .inputs = {x232(), Tensor(DType::kInt64, {0})}, .opset = 13};
  empty.attributes["keepdims"] = attr_int(0);
  Tensor s = run1(empty);
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(values<float>(s), (std::vector<float>{66}));
  empty.attributes["noop_with_empty_axes"] = attr_int(1);
  Tensor n = run1(empty);
  EXPECT_EQ(n.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(values<float>(n), values<float>(x232()));
}

TEST(ReduceMean, NegativeAxesNoKeepDims) {
  OpCall c{.op_type = "ReduceMean", .inputs = {x232()}, .opset = 13};
  c.attributes["axes"] = attr_ints({-1, 0});
  c.attributes["keepdims"] = attr_int(0);
  Tensor y = run1(c);
  EXPECT_EQ(y.shape(), (Shape{3}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{3.5f, 5.5f, 7.5f}));
}

TEST(ReduceMean, AxesInputFromOpset18AndIntegerMeanTruncates) {
  OpCall c{.op_type = "ReduceMean", .inputs = {Tensor::from_vector<int32_t>({2, 2}, {1, 2, -1, -4}), ints({1})},
           .opset = 18};
  Tensor y = run1(c);
  EXPECT_EQ(y.shape(), (Shape{2, 1}));
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{1, -2}));
  OpCall old{.op_type = "ReduceMean", .inputs = {x232(), ints({1})}, .opset = 13};
  EXPECT_EQ(run_error(old).code(), StatusCode::kInvalidArgument);  // unexpected second input
}

TEST(ReduceMean, RejectsBadAxesAndDtypes) {
  OpCall c{.op_type = "ReduceMean", .inputs = {x232()}, .opset = 13};
  c.attributes["axes"] = attr_ints({3});
  Status s = run_error(c);
  EXPECT_NE(s.message().find("test_ReduceMean"), std::string::npos) << s.message();
  OpCall u{.op_type = "ReduceMean", .inputs = {Tensor(DType::kUInt8, {2})}, .opset = 13};
  EXPECT_EQ(run_error(u).code(), StatusCode::kUnsupported);
}

// Fast (blocked) against reference over random shapes and every axis subset.
TEST(ReduceMean, FastMatchesReference) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> dim(1, 7);
  std::uniform_real_distribution<float> val(-1.0f, 1.0f);
  for (int rank = 1; rank <= 4; ++rank) {
    Shape shape(rank);
    for (auto& d : shape) d = dim(rng);
    Tensor x(DType::kFloat32, shape);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = val(rng);
    for (int mask = 1; mask < (1 << rank); ++mask) {
      std::vector<int64_t> axes;
      for (int k = 0; k < rank; ++k)
        if (mask & (1 << k)) axes.push_back(k);
      for (int keep = 0; keep < 2; ++keep) {
        OpCall c{.op_type = "ReduceMean", .inputs = {x, ints(axes)}, .opset = 18};
        c.attributes["keepdims"] = attr_int(keep);
        Tensor fast = run1(c);
        c.impl = KernelImpl::kReference;
        Tensor ref = run1(c);
        ASSERT_EQ(fast.shape(), ref.shape());
        for (int64_t i = 0; i < ref.numel(); ++i)
          ASSERT_NEAR(fast.data<float>()[i], ref.data<float>()[i], kReduceTolerance) << shape_str(shape) << " mask " << mask;
      }
    }
  }
}

TEST(ReduceMean, LastTwoAxesOfImage) {
  // Global average pooling shape: [2,3,4,5] over (2,3); channel c of batch b averages
  // 20*(3b+c) + 0..19, i.e. 20*(3b+c) + 9.5.
  OpCall c{.op_type = "ReduceMean", .inputs = {iota<float>({2, 3, 4, 5}), ints({-2, -1})}, .opset = 18};
  Tensor y = run1(c);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 1, 1}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y.data<float>()[i], 20.0f * i + 9.5f);
}

}  // namespace
}  // namespace tinyq::kernels
