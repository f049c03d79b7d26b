// Softmax and LogSoftmax: hand values, opset <13 (flatten at axis) versus >=13 (one axis)
// semantics, large inputs, NaN rows, and the SIMD row kernel against the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/elementwise_test_util.h"
#include "kernels/testing.h"

namespace tinyq::kernels {
namespace {

using testing::OpCall;
using testing::run_op;

// Hand values are given to 8 digits.
constexpr float kHandTolerance = 1e-7f;
// SIMD exp (1 ulp) and a different summation order against std::exp summed in sequence.
constexpr float kSoftmaxRelTolerance = 1e-6f;
constexpr float kSoftmaxAbsTolerance = 1e-7f;
// LogSoftmax subtracts log(sum) with sum >= 1: one ulp of the sum is ~1.2e-7 absolute in the log.
constexpr float kLogSoftmaxAbsTolerance = 2.5e-7f;
// Expected values computed in double by the test's own independent loop.
constexpr float kDoubleOracleTolerance = 2e-7f;

const KernelImpl kImpls[] = {KernelImpl::kReference, KernelImpl::kFast};
const char* impl_name(KernelImpl i) { return i == KernelImpl::kFast ? "fast" : "reference"; }

Result<Tensor> softmax(const Tensor& x, KernelImpl impl, int64_t opset, std::optional<int64_t> axis = {},
                       const char* op = "Softmax") {
  OpCall c;
  c.op_type = op;
  c.inputs = {x};
  c.impl = impl;
  c.opset = opset;
  if (axis) c.attributes = {{"axis", testing::attr_int(*axis)}};
  TINYQ_ASSIGN_OR_RETURN(std::vector<Tensor> out, run_op(c));
  return out[0];
}

std::vector<float> floats(const Tensor& t) { return std::vector<float>(t.data<float>(), t.data<float>() + t.numel()); }

void expect_near_all(const std::vector<float>& got, const std::vector<float>& want, float abs_tol, float rel_tol,
                     const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], abs_tol + rel_tol * std::fabs(want[i])) << what << " [" << i << "]";
}

// Softmax over the elements of `x` at flat offsets base + k * stride, k < len, in double.
void oracle_group(const std::vector<float>& x, std::vector<float>& y, int64_t base, int64_t len, int64_t stride) {
  double m = -INFINITY, s = 0;
  for (int64_t k = 0; k < len; ++k) m = std::max(m, static_cast<double>(x[base + k * stride]));
  for (int64_t k = 0; k < len; ++k) s += std::exp(x[base + k * stride] - m);
  for (int64_t k = 0; k < len; ++k) y[base + k * stride] = static_cast<float>(std::exp(x[base + k * stride] - m) / s);
}

TEST(SoftmaxTest, HandCheckedValues) {
  const Tensor x = Tensor::from_vector<float>({1, 3}, {1.0f, 2.0f, 3.0f});
  for (KernelImpl impl : kImpls) {
    auto r = softmax(x, impl, 13);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    expect_near_all(floats(*r), {0.09003057f, 0.24472847f, 0.66524096f}, kHandTolerance, 0, impl_name(impl));
    auto l = softmax(x, impl, 13, {}, "LogSoftmax");
    ASSERT_TRUE(l.is_ok()) << l.status().to_string();
    expect_near_all(floats(*l), {-2.4076059f, -1.4076059f, -0.40760596f}, kHandTolerance, kHandTolerance,
                    std::string("log ") + impl_name(impl));
  }
}

TEST(SoftmaxTest, LargeInputsDoNotOverflow) {
  const Tensor x = Tensor::from_vector<float>({4}, {1000.0f, 1001.0f, 1002.0f, -1e30f});
  for (KernelImpl impl : kImpls) {
    auto r = softmax(x, impl, 13);
    ASSERT_TRUE(r.is_ok());
    expect_near_all(floats(*r), {0.09003057f, 0.24472847f, 0.66524096f, 0.0f}, kHandTolerance, 0, impl_name(impl));
  }
}

// Opset 11 flattens [2,2,3] at axis 1 into rows of 6; opset 13 normalises along dim 1 alone.
TEST(SoftmaxTest, OpsetChangesAxisSemantics) {
  std::vector<float> xv(12);
  for (int i = 0; i < 12; ++i) xv[i] = static_cast<float>((i * 7) % 5) * 0.5f;
  const Tensor x = Tensor::from_vector<float>({2, 2, 3}, xv);
  std::vector<float> flat(12), per_axis(12), last(12);
  for (int r = 0; r < 2; ++r) oracle_group(xv, flat, r * 6, 6, 1);
  for (int o = 0; o < 2; ++o)
    for (int j = 0; j < 3; ++j) oracle_group(xv, per_axis, o * 6 + j, 2, 3);
  for (int r = 0; r < 4; ++r) oracle_group(xv, last, r * 3, 3, 1);
  for (KernelImpl impl : kImpls) {
    const std::string name = impl_name(impl);
    auto v11 = softmax(x, impl, 11, 1);
    ASSERT_TRUE(v11.is_ok());
    expect_near_all(floats(*v11), flat, kDoubleOracleTolerance, 0, "opset 11 " + name);
    auto v11_default = softmax(x, impl, 11);  // default axis 1
    ASSERT_TRUE(v11_default.is_ok());
    expect_near_all(floats(*v11_default), flat, kDoubleOracleTolerance, 0, "opset 11 default " + name);
    auto v13 = softmax(x, impl, 13, 1);
    ASSERT_TRUE(v13.is_ok());
    expect_near_all(floats(*v13), per_axis, kDoubleOracleTolerance, 0, "opset 13 " + name);
    auto v13_neg = softmax(x, impl, 13, -2);
    ASSERT_TRUE(v13_neg.is_ok());
    expect_near_all(floats(*v13_neg), per_axis, kDoubleOracleTolerance, 0, "opset 13 axis -2 " + name);
    auto v13_default = softmax(x, impl, 13);  // default axis -1
    ASSERT_TRUE(v13_default.is_ok());
    expect_near_all(floats(*v13_default), last, kDoubleOracleTolerance, 0, "opset 13 default " + name);
  }
}

TEST(SoftmaxTest, NaNPoisonsOnlyItsRow) {
  const float kNaN = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Tensor::from_vector<float>({2, 3}, {1.0f, kNaN, 2.0f, 0.0f, 0.0f, 0.0f});
  for (KernelImpl impl : kImpls) {
    auto r = softmax(x, impl, 13);
    ASSERT_TRUE(r.is_ok());
    const std::vector<float> y = floats(*r);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isnan(y[i])) << impl_name(impl) << " " << i;
    for (int i = 3; i < 6; ++i) EXPECT_NEAR(y[i], 1.0f / 3.0f, kHandTolerance) << impl_name(impl);
  }
}

// Fast against reference for rows of every length around the vector widths, a strided axis and
// a long row, on the current SIMD target.
void check_fast_matches_reference() {
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> val(-20.0f, 20.0f);
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    const float abs_tol = std::string(op) == "Softmax" ? kSoftmaxAbsTolerance : kLogSoftmaxAbsTolerance;
    for (int64_t len = 1; len <= 70; ++len) {
      for (int64_t rows : {1, 3}) {
        std::vector<float> xv(static_cast<size_t>(rows * len));
        for (float& v : xv) v = val(rng);
        const Tensor x = Tensor::from_vector<float>({rows, len}, xv);
        auto ref = softmax(x, KernelImpl::kReference, 13, {}, op);
        auto fast = softmax(x, KernelImpl::kFast, 13, {}, op);
        ASSERT_TRUE(ref.is_ok() && fast.is_ok());
        expect_near_all(floats(*fast), floats(*ref), abs_tol, kSoftmaxRelTolerance,
                        std::string(op) + " len=" + std::to_string(len));
      }
    }
    // Non-last axis (strided groups) and a long row.
    for (const auto& [shape, axis] : std::vector<std::pair<Shape, int64_t>>{{{3, 5, 4}, 1}, {{2, 3000}, 1}}) {
      std::vector<float> xv(static_cast<size_t>(shape_numel(shape)));
      for (float& v : xv) v = val(rng);
      const Tensor x = Tensor::from_vector<float>(shape, xv);
      auto ref = softmax(x, KernelImpl::kReference, 13, axis, op);
      auto fast = softmax(x, KernelImpl::kFast, 13, axis, op);
      ASSERT_TRUE(ref.is_ok() && fast.is_ok());
      expect_near_all(floats(*fast), floats(*ref), abs_tol, kSoftmaxRelTolerance,
                      std::string(op) + " " + shape_str(shape));
    }
  }
}

TEST(SoftmaxTest, FastMatchesReferenceOverRowLengths) {
  testing::for_each_simd_target(check_fast_matches_reference);
}

TEST(SoftmaxTest, DoubleAndErrors) {
  auto d = softmax(Tensor::from_vector<double>({2}, {0.0, std::log(3.0)}), KernelImpl::kFast, 13);
  ASSERT_TRUE(d.is_ok());
  EXPECT_NEAR(d->data<double>()[0], 0.25, 1e-15);
  EXPECT_NEAR(d->data<double>()[1], 0.75, 1e-15);
  auto bad_axis = softmax(Tensor::from_vector<float>({2}, {0, 0}), KernelImpl::kFast, 13, 1);
  EXPECT_EQ(bad_axis.status().code(), StatusCode::kInvalidArgument);
  auto bad_type = softmax(Tensor::from_vector<int32_t>({2}, {0, 0}), KernelImpl::kFast, 13);
  EXPECT_EQ(bad_type.status().code(), StatusCode::kUnsupported);
  auto empty = softmax(Tensor(DType::kFloat32, {0, 4}), KernelImpl::kFast, 13);
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(empty->shape(), (Shape{0, 4}));
}

}  // namespace
}  // namespace tinyq::kernels
