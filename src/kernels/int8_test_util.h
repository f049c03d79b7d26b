// Helpers for the int8 op unit tests: typed tensors, running an op both as kFast and kReference,
// and asserting a load-time error that names the node and the tensor at fault.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/testing.h"

namespace tinyq::kernels::int8_test {

using testing::OpCall;

template <typename T>
Tensor tensor(Shape shape, std::vector<T> v) {
  return Tensor::from_vector<T>(std::move(shape), v);
}
inline Tensor u8(Shape s, std::vector<uint8_t> v) { return tensor<uint8_t>(std::move(s), std::move(v)); }
inline Tensor s8(Shape s, std::vector<int8_t> v) { return tensor<int8_t>(std::move(s), std::move(v)); }
inline Tensor i32(Shape s, std::vector<int32_t> v) { return tensor<int32_t>(std::move(s), std::move(v)); }
inline Tensor f32(Shape s, std::vector<float> v) { return tensor<float>(std::move(s), std::move(v)); }
inline Tensor scalar(float v) { return f32({}, {v}); }

template <typename T>
std::vector<T> values(const Tensor& t) {
  if (t.empty()) return {};
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

// Runs `call` as kReference and as kFast; both must succeed with identical bytes. Returns output i.
inline Tensor run_both(OpCall call, int output = 0) {
  call.impl = KernelImpl::kReference;
  Result<std::vector<Tensor>> ref = testing::run_op(call);
  EXPECT_TRUE(ref.is_ok()) << ref.status().to_string();
  call.impl = KernelImpl::kFast;
  Result<std::vector<Tensor>> fast = testing::run_op(call);
  EXPECT_TRUE(fast.is_ok()) << fast.status().to_string();
  if (!ref.is_ok() || !fast.is_ok() || static_cast<int>(ref->size()) <= output) return {};
  const Tensor& r = (*ref)[output];
  const Tensor& f = (*fast)[output];
  EXPECT_EQ(r.shape(), f.shape());
  EXPECT_EQ(r.dtype(), f.dtype());
  if (r.nbytes() == f.nbytes()) EXPECT_EQ(std::memcmp(r.raw(), f.raw(), r.nbytes()), 0) << "fast differs from reference";
  return r;
}

// The op must fail at load time with kInvalidArgument, naming the node and containing `what`.
inline void expect_load_error(const OpCall& call, const std::string& what,
                              StatusCode code = StatusCode::kInvalidArgument) {
  Result<std::vector<Tensor>> r = testing::run_op(call);
  ASSERT_FALSE(r.is_ok()) << call.op_type << " unexpectedly succeeded (expected: " << what << ")";
  EXPECT_EQ(r.status().code(), code) << r.status().to_string();
  EXPECT_NE(r.status().message().find("test_" + call.op_type), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
}

// Scale values that every int8 factory must reject.
inline std::vector<float> bad_scales() {
  return {0.0f, -0.5f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
          -std::numeric_limits<float>::infinity()};
}

}  // namespace tinyq::kernels::int8_test
