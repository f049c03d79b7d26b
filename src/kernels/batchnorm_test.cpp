#include <gtest/gtest.h>

#include "kernels/linalg_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace linalg_test;
using testing::attr_float;
using testing::attr_int;

OpCall batchnorm(Tensor x, Tensor scale, Tensor bias, Tensor mean, Tensor var) {
  return OpCall{.op_type = "BatchNormalization",
                .inputs = {std::move(x), std::move(scale), std::move(bias), std::move(mean), std::move(var)}};
}

TEST(BatchNormalization, PerChannel) {
  // Channel 0: (x - 1) / 2; channel 1: (x - 3) / 0.5 * 2 + 1. Exact in binary fractions.
  OpCall c = batchnorm(floats({1, 2, 1, 2}, {1, 2, 3, 4}), floats({2}, {1, 2}), floats({2}, {0, 1}),
                       floats({2}, {1, 3}), floats({2}, {4, 0.25f}));
  c.attributes["epsilon"] = attr_float(0.0f);
  for (KernelImpl impl : {KernelImpl::kFast, KernelImpl::kReference}) {
    for (bool constant : {true, false}) {
      OpCall v = c;
      v.impl = impl;
      v.constant_inputs = {true, constant, constant, constant, constant};
      EXPECT_EQ(values(run1(v)), (std::vector<float>{0, 0.5f, 1, 5}));
    }
  }
}

TEST(BatchNormalization, FastMatchesReference) {
  // Folding the parameters into one multiply-add rounds differently from the formula.
  constexpr float kFoldTolerance = 1e-5f;
  std::mt19937 rng(2);
  for (const Shape& shape : {Shape{3, 5}, Shape{2, 4, 7}, Shape{2, 3, 5, 6}, Shape{1, 2, 3, 4, 5}}) {
    const int64_t c = shape[1];
    OpCall call = batchnorm(random_floats(shape, rng, -3, 3), random_floats({c}, rng), random_floats({c}, rng),
                            random_floats({c}, rng), random_floats({c}, rng, 0.1f, 2.0f));
    for (bool constant : {true, false}) {
      call.constant_inputs = {true, constant, constant, constant, constant};
      call.impl = KernelImpl::kFast;
      std::vector<float> fast = values(run1(call));
      call.impl = KernelImpl::kReference;
      std::vector<float> ref = values(run1(call));
      ASSERT_EQ(fast.size(), ref.size());
      for (size_t i = 0; i < ref.size(); ++i)
        EXPECT_NEAR(fast[i], ref[i], kFoldTolerance * (1.0f + std::fabs(ref[i]))) << shape_str(shape) << " at " << i;
    }
  }
}

// x per channel: c0 = {1, 3}, c1 = {2, 6} (batch 2, plane 1): batch mean {2, 4}, population var {1, 4}.
TEST(BatchNormalization, TrainingModeUsesBatchStatistics) {
  OpCall c = batchnorm(Tensor::from_vector<float>({2, 2}, {1, 2, 3, 6}), Tensor::from_vector<float>({2}, {1, 2}),
                       Tensor::from_vector<float>({2}, {0, 1}), Tensor::from_vector<float>({2}, {10, 20}),
                       Tensor::from_vector<float>({2}, {5, 6}));
  c.attributes["training_mode"] = attr_int(1);
  c.attributes["epsilon"] = attr_float(0.0f);
  c.attributes["momentum"] = attr_float(0.5f);
  c.num_outputs = 3;
  auto out = run_op(c);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(values((*out)[0]), (std::vector<float>{-1, -1, 1, 3}));  // (x-mean)/std*scale+B
  EXPECT_EQ(values((*out)[1]), (std::vector<float>{6, 12}));         // 0.5*input_mean + 0.5*batch mean
  EXPECT_EQ(values((*out)[2]), (std::vector<float>{3, 5}));          // 0.5*input_var + 0.5*batch var
}

TEST(BatchNormalization, RejectsBadShapesAndOutputs) {
  OpCall c = batchnorm(iota({1, 2, 2}), iota({2}), iota({2}), iota({2}), iota({2}));
  OpCall old_training = c;
  old_training.opset = 13;
  old_training.attributes["training_mode"] = attr_int(1);
  EXPECT_EQ(run_error(old_training).code(), StatusCode::kInvalidArgument);
  OpCall outputs = c;
  outputs.num_outputs = 3;
  EXPECT_EQ(run_error(outputs).code(), StatusCode::kUnsupported);
  OpCall bad = batchnorm(iota({1, 2, 2}), iota({3}), iota({2}), iota({2}), iota({2}));
  EXPECT_EQ(run_error(bad).code(), StatusCode::kInvalidArgument);
  OpCall missing{.op_type = "BatchNormalization", .inputs = {iota({1, 2, 2}), iota({2})}};
  EXPECT_EQ(run_error(missing).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tinyq::kernels
