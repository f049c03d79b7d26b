// Helpers for the Conv/ConvTranspose/pool/Gemm/MatMul/BatchNormalization tests: seeded random
// tensors, and a fast-vs-reference check whose tolerance follows the size of the summed terms.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/testing.h"

namespace tinyq::kernels::linalg_test {

using testing::OpCall;

// A dot product of fp32 terms summed in a different order differs by at most a few units of
// rounding of the sum of |terms|; 1e-5 leaves room for sums of several hundred terms.
constexpr double kDotTolerance = 1e-5;
// Floor for outputs whose terms are all tiny.
constexpr double kAbsoluteFloor = 1e-6;

// testing::run_op with a fused output clamp on the node (ir::Node::clamp_min/max, as
// passes/fuse_activation sets it); fails, as the planner does, unless the kernel accepted it.
inline Result<std::vector<Tensor>> run_fused(const OpCall& call, float lo, float hi) {
  ir::Node node;
  node.op_type = call.op_type;
  node.name = "test_" + call.op_type;
  node.attributes = call.attributes;
  node.clamp_min = lo;
  node.clamp_max = hi;
  std::vector<TensorInfo> infos;
  for (size_t i = 0; i < call.inputs.size(); ++i) {
    const Tensor& t = call.inputs[i];
    node.inputs.push_back(t.empty() ? "" : "in" + std::to_string(i));
    const bool constant = i < call.constant_inputs.size() ? call.constant_inputs[i] : true;
    infos.push_back(TensorInfo{t.dtype(), t.shape(), constant && !t.empty() ? &t : nullptr});
  }
  for (int i = 0; i < call.num_outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  KernelFactory factory = find_kernel("", call.op_type);
  if (!factory) return Status::unsupported("no kernel for " + call.op_type);
  PrepareContext ctx(node, call.opset, call.impl, std::move(infos));
  TINYQ_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel, factory(ctx));
  if (node.has_clamp() && !ctx.fused_clamp_accepted()) return Status::internal("fused clamp not accepted");
  std::vector<Tensor> outputs;
  std::vector<void*> out_ptrs;
  for (int i = 0; i < call.num_outputs; ++i) {
    outputs.emplace_back(ctx.outputs()[i].dtype, ctx.outputs()[i].shape);
    out_ptrs.push_back(outputs.back().raw());
  }
  std::vector<const void*> in_ptrs;
  for (const Tensor& t : call.inputs) in_ptrs.push_back(t.empty() ? nullptr : t.raw());
  Tensor scratch(DType::kUInt8, {static_cast<int64_t>(kernel->scratch_bytes())});
  kernel->run(KernelArgs{in_ptrs.data(), out_ptrs.data(), scratch.raw(), nullptr});
  return outputs;
}

inline Tensor run_clamped(const OpCall& call, float lo, float hi) {
  Result<std::vector<Tensor>> r = run_fused(call, lo, hi);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? (*r)[0] : Tensor();
}

inline Tensor run1(const OpCall& call, int output = 0) {
  Result<std::vector<Tensor>> r = testing::run_op(call);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  if (!r.is_ok() || static_cast<int>(r->size()) <= output) return {};
  return (*r)[output];
}

inline Status run_error(const OpCall& call) {
  Result<std::vector<Tensor>> r = testing::run_op(call);
  EXPECT_FALSE(r.is_ok()) << call.op_type << " unexpectedly succeeded";
  return r.status();
}

template <typename T = float>
std::vector<T> values(const Tensor& t) {
  if (t.empty()) return {};
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

inline Tensor floats(Shape shape, std::vector<float> v) { return Tensor::from_vector<float>(std::move(shape), v); }

inline Tensor iota(Shape shape, float start = 0.0f) {
  Tensor t(DType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

inline Tensor random_floats(Shape shape, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(DType::kFloat32, std::move(shape));
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

inline Tensor abs_of(const Tensor& t) {
  if (t.empty() || t.dtype() != DType::kFloat32) return t;
  Tensor a = t.clone();
  for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = std::fabs(a.data<float>()[i]);
  return a;
}

// Runs `call` as given (normally kFast) and with the reference kernel, and checks every output
// element within kDotTolerance of the reference's value on |inputs| (alpha and beta made
// non-negative too): the sum of the magnitudes of the terms each output adds up.
// With a fused clamp [lo, hi] (default: none) on both runs; the bound is taken unclamped, which
// still bounds the error since clamping never widens a difference.
inline void expect_fast_matches_reference(OpCall call, const std::string& what,
                                          float lo = -std::numeric_limits<float>::infinity(),
                                          float hi = std::numeric_limits<float>::infinity()) {
  SCOPED_TRACE(what);
  call.impl = KernelImpl::kFast;
  Result<std::vector<Tensor>> fast = run_fused(call, lo, hi);
  ASSERT_TRUE(fast.is_ok()) << fast.status().to_string();
  OpCall ref_call = call;
  ref_call.impl = KernelImpl::kReference;
  Result<std::vector<Tensor>> ref = run_fused(ref_call, lo, hi);
  ASSERT_TRUE(ref.is_ok()) << ref.status().to_string();
  OpCall abs_call = ref_call;
  for (Tensor& t : abs_call.inputs) t = abs_of(t);
  for (const char* name : {"alpha", "beta"}) {
    auto it = abs_call.attributes.find(name);
    if (it != abs_call.attributes.end()) it->second.f = std::fabs(it->second.f);
  }
  Result<std::vector<Tensor>> bound = testing::run_op(abs_call);
  ASSERT_TRUE(bound.is_ok()) << bound.status().to_string();
  ASSERT_EQ(fast->size(), ref->size());
  for (size_t o = 0; o < ref->size(); ++o) {
    const Tensor& f = (*fast)[o];
    const Tensor& r = (*ref)[o];
    ASSERT_EQ(f.shape(), r.shape());
    ASSERT_EQ(f.dtype(), r.dtype());
    if (r.dtype() != DType::kFloat32) {
      EXPECT_EQ(std::memcmp(f.raw(), r.raw(), r.nbytes()), 0);
      continue;
    }
    int bad = 0;
    for (int64_t i = 0; i < r.numel(); ++i) {
      const double tol = kDotTolerance * (*bound)[o].data<float>()[i] + kAbsoluteFloor;
      const double diff = std::fabs(static_cast<double>(f.data<float>()[i]) - r.data<float>()[i]);
      if (!(diff <= tol) && ++bad <= 3)
        ADD_FAILURE() << "output " << o << "[" << i << "]: fast " << f.data<float>()[i] << ", reference "
                      << r.data<float>()[i] << " (tolerance " << tol << ")";
    }
    EXPECT_EQ(bad, 0) << bad << " of " << r.numel() << " values differ";
  }
}

}  // namespace tinyq::kernels::linalg_test
