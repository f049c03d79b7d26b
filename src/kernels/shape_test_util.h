// Helpers for the shape/data-movement kernel tests: run one op and read its outputs back.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/testing.h"

namespace tinyq::kernels::shape_test {

using testing::OpCall;

// Runs `call` and returns output 0; fails the test (returning an empty tensor) on error.
inline Tensor run1(const OpCall& call) {
  Result<std::vector<Tensor>> r = testing::run_op(call);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  if (!r.is_ok() || r->empty()) return {};
  return (*r)[0];
}

// The error a call must fail with (empty when it unexpectedly succeeded).
inline Status run_error(const OpCall& call) {
  Result<std::vector<Tensor>> r = testing::run_op(call);
  EXPECT_FALSE(r.is_ok()) << call.op_type << " unexpectedly succeeded";
  return r.status();
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  if (t.empty()) return {};
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

template <typename T>
Tensor iota(Shape shape, T start = T{0}) {
  Tensor t(DTypeOf<T>::value, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = static_cast<T>(start + static_cast<T>(i));
  return t;
}

inline Tensor ints(std::vector<int64_t> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<int64_t>({n}, v);
}

inline Tensor floats(std::vector<float> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<float>({n}, v);
}

}  // namespace tinyq::kernels::shape_test
