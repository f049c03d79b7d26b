// Test helpers for the fused int8 ops: build their inputs (packing weights as the pass does) and
// run one op through a chosen implementation and instruction set.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/int8/fused_ops.h"
#include "kernels/int8/packing.h"
#include "kernels/kernel.h"

namespace tinyq::kernels::int8::testing {

struct FusedCall {
  std::string op_type;  // QLinearConvFused, ConvIntegerFused, QLinearMatMulFused, MatMulIntegerFused
  std::map<std::string, ir::Attribute> attributes;
  std::vector<Tensor> inputs;      // an empty Tensor marks an omitted input
  std::vector<bool> run_time;      // true: the value is not known at plan time (default: known)
  int num_outputs = 1;
  float clamp_lo = -std::numeric_limits<float>::infinity();  // fused Relu/Clip (ir::Node::clamp_*)
  float clamp_hi = std::numeric_limits<float>::infinity();
};

// Runs the op; returns all its outputs.
inline Result<std::vector<Tensor>> run_fused_all(const FusedCall& call, KernelImpl impl, std::optional<Isa> isa) {
  ir::Node node;
  node.op_type = call.op_type;
  node.domain = kInternalDomain;
  node.name = "test_" + call.op_type;
  node.attributes = call.attributes;
  node.clamp_min = call.clamp_lo;
  node.clamp_max = call.clamp_hi;
  std::vector<TensorInfo> infos;
  for (size_t i = 0; i < call.inputs.size(); ++i) {
    const Tensor& t = call.inputs[i];
    node.inputs.push_back(t.empty() ? "" : "in" + std::to_string(i));
    TensorInfo info;
    info.dtype = t.dtype();
    info.shape = t.shape();
    const bool run_time = i < call.run_time.size() && call.run_time[i];
    info.value = (!run_time && !t.empty()) ? &t : nullptr;
    infos.push_back(info);
  }
  for (int i = 0; i < call.num_outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  PrepareContext ctx(node, 18, impl, std::move(infos));
  const bool is_static = call.op_type.rfind("QLinear", 0) == 0;
  const bool is_conv = call.op_type.find("Conv") != std::string::npos;
  auto made = is_conv ? make_fused_conv(ctx, is_static, isa) : make_fused_matmul(ctx, is_static, isa);
  if (!made.is_ok()) return made.status();
  std::unique_ptr<Kernel> kernel = std::move(made).value();
  std::vector<Tensor> outs;
  std::vector<void*> out_ptrs;
  for (int i = 0; i < call.num_outputs; ++i) {
    outs.emplace_back(ctx.outputs()[i].dtype, ctx.outputs()[i].shape);
    out_ptrs.push_back(outs.back().raw());
  }
  std::vector<const void*> in_ptrs;
  for (const Tensor& t : call.inputs) in_ptrs.push_back(t.empty() ? nullptr : t.raw());
  const size_t scratch = kernel->scratch_bytes();
  void* scratch_ptr = scratch ? std::aligned_alloc(64, (scratch + 63) / 64 * 64) : nullptr;
  // Poison scratch so that reads of unwritten bytes show up as mismatches.
  if (scratch_ptr) std::memset(scratch_ptr, 0xA5, (scratch + 63) / 64 * 64);
  KernelArgs args{in_ptrs.data(), out_ptrs.data(), scratch_ptr, nullptr};
  kernel->run(args);
  std::free(scratch_ptr);
  return outs;
}

// Runs the op; returns its first output.
inline Result<Tensor> run_fused(const FusedCall& call, KernelImpl impl, std::optional<Isa> isa) {
  TINYQ_ASSIGN_OR_RETURN(std::vector<Tensor> outs, run_fused_all(call, impl, isa));
  return outs[0];
}

inline bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// Conv weights [c_out][cin_g][k_h][k_w] packed for the fused conv ops: [c_out, conv_packed_row].
inline Tensor pack_conv(const std::vector<int8_t>& w, int64_t c_out, int64_t cin_g, int64_t k_h, int64_t k_w) {
  Tensor t(DType::kInt8, {c_out, conv_packed_row(cin_g, k_h, k_w)});
  pack_conv_weights(w.data(), c_out, cin_g, k_h, k_w, t.data<int8_t>());
  return t;
}

// GEMM weights [k][n] packed for the fused matmul ops.
inline Tensor pack_gemm(const std::vector<int8_t>& w, int64_t k, int64_t n) {
  Tensor t(DType::kInt8, {gemm_panels(n) * gemm_panel(n), gemm_k_quads(k) * 4});
  pack_gemm_weights(w.data(), false, k, n, t.data<int8_t>());
  return t;
}

template <typename T>
Tensor scalar(T v) {
  return Tensor::from_vector<T>({}, {v});
}

}  // namespace tinyq::kernels::int8::testing
