// Gemm (Y = alpha * op(A) * op(B) + beta * C, C broadcast to [M, N]) and MatMul (numpy matmul:
// batch dims broadcast, 1-D operands promoted then squeezed).
// Reference: plain loops. Fast (float32): packed_gemm with B packed at plan time when constant,
// otherwise into scratch per run. (XNNPACK's fully-connected operator is no faster from batch 64
// up, slower below, and its min/max clamp turns NaN into +-inf, so it is not used.)
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/linalg_geometry.h"
#include "kernels/output_clamp.h"
#include "kernels/packed_gemm.h"

namespace tinyq::kernels {
namespace {

struct AlignedFloats {
  struct Free { void operator()(float* p) const { std::free(p); } };
  std::unique_ptr<float[], Free> data;
  size_t size = 0;
  explicit AlignedFloats(size_t n)
      : data(n ? static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64)) : nullptr),
        size(n) {}
  size_t bytes() const { return data ? size * sizeof(float) : 0; }
};

// How C broadcasts onto [M, N]: element (i, j) is c[i * row_stride + j * col_stride].
struct Broadcast2D {
  int64_t row_stride = 0, col_stride = 0;
};

Result<Broadcast2D> c_broadcast(const PrepareContext& ctx, const Shape& c, int64_t m, int64_t n) {
  if (c.size() > 2) return ctx.error("C " + shape_str(c) + " must have rank <= 2");
  const int64_t cm = c.size() == 2 ? c[0] : 1;
  const int64_t cn = c.empty() ? 1 : c.back();
  if ((cm != 1 && cm != m) || (cn != 1 && cn != n))
    return ctx.error("C " + shape_str(c) + " does not broadcast to [" + std::to_string(m) + "," +
                     std::to_string(n) + "]");
  return Broadcast2D{cm == 1 ? 0 : cn, cn == 1 ? 0 : 1};
}

struct GemmDims {
  int64_t m = 0, k = 0, n = 0;
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 1.0f;
  bool has_c = false;
  Broadcast2D c;
  OutputClamp clamp;
};

void gemm_reference(const GemmDims& g, const float* a, const float* b, const float* c, float* y) {
  for (int64_t i = 0; i < g.m; ++i)
    for (int64_t j = 0; j < g.n; ++j) {
      float acc = 0.0f;
      for (int64_t kk = 0; kk < g.k; ++kk) {
        const float av = g.trans_a ? a[kk * g.m + i] : a[i * g.k + kk];
        const float bv = g.trans_b ? b[j * g.k + kk] : b[kk * g.n + j];
        acc += av * bv;
      }
      float out = g.alpha * acc;
      if (g.has_c) out += g.beta * c[i * g.c.row_stride + j * g.c.col_stride];
      y[i * g.n + j] = g.clamp(out);
    }
}

// The fast float32 Gemm: op(A) is copied to scratch when transposed, B packed at plan time when
// constant (else per run into scratch), C folded into the bias when it is a constant row vector.
class FastGemm final : public Kernel {
 public:
  FastGemm(const GemmDims& g, const float* const_b, const float* const_c) : g_(g), packed_(0) {
    const size_t packed_floats = packed_gemm_floats(g.k, g.n);
    fold_c_ = g.has_c && const_c && g.c.row_stride == 0;
    // With C added after the product, the clamp must wait until then.
    kernel_clamp_ = g.has_c && !fold_c_ ? OutputClamp{} : g.clamp;
    std::vector<float> bias;
    if (fold_c_) {
      bias.resize(g.n);
      for (int64_t j = 0; j < g.n; ++j) bias[j] = g.beta * const_c[j * g.c.col_stride];
    }
    if (const_b) {
      packed_ = AlignedFloats(packed_floats);
      packed_gemm_pack(const_b, g.trans_b, g.k, g.n, g.alpha, fold_c_ ? bias.data() : nullptr, packed_.data.get());
    } else {
      scratch_packed_ = packed_floats;
    }
    if (g.trans_a) scratch_a_ = static_cast<size_t>(g.m * g.k);
  }

  size_t scratch_bytes() const override { return sizeof(float) * ((scratch_packed_ + 15) / 16 * 16 + scratch_a_); }
  size_t resident_bytes() const override { return packed_.bytes(); }

  void run(const KernelArgs& args) override {
    const float* a = static_cast<const float*>(args.inputs[0]);
    float* y = static_cast<float*>(args.outputs[0]);
    float* scratch = static_cast<float*>(args.scratch);
    const float* packed = packed_.data.get();
    if (scratch_packed_) {
      packed_gemm_pack(static_cast<const float*>(args.inputs[1]), g_.trans_b, g_.k, g_.n, g_.alpha, nullptr, scratch);
      packed = scratch;
    }
    if (g_.trans_a) {
      float* at = scratch + (scratch_packed_ + 15) / 16 * 16;
      for (int64_t i = 0; i < g_.m; ++i)
        for (int64_t kk = 0; kk < g_.k; ++kk) at[i * g_.k + kk] = a[kk * g_.m + i];
      a = at;
    }
    packed_gemm_run(a, g_.k, g_.m, packed, g_.k, g_.n, y, g_.n, kernel_clamp_.lo, kernel_clamp_.hi, args.threadpool);
    if (g_.has_c && !fold_c_) {
      const float* c = static_cast<const float*>(args.inputs[2]);
      for (int64_t i = 0; i < g_.m; ++i)
        for (int64_t j = 0; j < g_.n; ++j) {
          float& out = y[i * g_.n + j];
          out = g_.clamp(out + g_.beta * c[i * g_.c.row_stride + j * g_.c.col_stride]);
        }
    }
  }

 private:
  GemmDims g_;
  AlignedFloats packed_;
  bool fold_c_ = false;
  OutputClamp kernel_clamp_;  // applied inside the product kernel
  size_t scratch_packed_ = 0;  // floats of scratch for B packed per run
  size_t scratch_a_ = 0;       // floats of scratch for A transposed
};

Status check_float32(const PrepareContext& ctx, int count) {
  for (int i = 0; i < count; ++i)
    if (ctx.has_input(i) && ctx.input(i).dtype != DType::kFloat32)
      return ctx.unsupported("input " + std::to_string(i) + " has dtype " + dtype_name(ctx.input(i).dtype) +
                             " (only float32 is supported)");
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_gemm(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"alpha", "beta", "transA", "transB"}));
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("needs inputs A and B");
  if (!ctx.has_input(2) && ctx.opset() < 11) return ctx.error("input C is required before opset 11");
  TINYQ_RETURN_IF_ERROR(check_float32(ctx, 3));
  const Shape& as = ctx.input(0).shape;
  const Shape& bs = ctx.input(1).shape;
  if (as.size() != 2 || bs.size() != 2)
    return ctx.error("A " + shape_str(as) + " and B " + shape_str(bs) + " must be 2-D");
  GemmDims g;
  TINYQ_ASSIGN_OR_RETURN(g.clamp, read_output_clamp(ctx));
  g.trans_a = ctx.attr_int("transA", 0) != 0;
  g.trans_b = ctx.attr_int("transB", 0) != 0;
  g.alpha = ctx.attr_float("alpha", 1.0f);
  g.beta = ctx.attr_float("beta", 1.0f);
  g.m = g.trans_a ? as[1] : as[0];
  g.k = g.trans_a ? as[0] : as[1];
  const int64_t kb = g.trans_b ? bs[1] : bs[0];
  g.n = g.trans_b ? bs[0] : bs[1];
  if (kb != g.k)
    return ctx.error("inner dimensions differ: A " + shape_str(as) + (g.trans_a ? " (transposed)" : "") + ", B " +
                     shape_str(bs) + (g.trans_b ? " (transposed)" : ""));
  g.has_c = ctx.has_input(2);
  if (g.has_c) {
    TINYQ_ASSIGN_OR_RETURN(g.c, c_broadcast(ctx, ctx.input(2).shape, g.m, g.n));
  }
  ctx.set_output(0, DType::kFloat32, {g.m, g.n});
  if (g.m == 0 || g.n == 0) return make_kernel([](const KernelArgs&) {});

  if (ctx.impl() == KernelImpl::kFast && g.k > 0) {
    const Tensor* b = ctx.input(1).value;
    const Tensor* c = g.has_c ? ctx.input(2).value : nullptr;
    return std::unique_ptr<Kernel>(new FastGemm(g, b ? b->data<float>() : nullptr, c ? c->data<float>() : nullptr));
  }
  return make_kernel([g](const KernelArgs& a) {
    gemm_reference(g, static_cast<const float*>(a.inputs[0]), static_cast<const float*>(a.inputs[1]),
                   g.has_c ? static_cast<const float*>(a.inputs[2]) : nullptr, static_cast<float*>(a.outputs[0]));
  });
}

// ---------------------------------------------------------------------------------------------
// MatMul

namespace {

// One [M, K] x [K, N] product per output batch; operand batch offsets follow numpy broadcasting.
struct MatMulPlan {
  int64_t m = 0, k = 0, n = 0;
  std::vector<int64_t> a_offsets, b_offsets;  // per output batch, in elements
  OutputClamp clamp;
};

// The fused clamp for any element type (bounds are float; compared in double).
template <typename T>
T clamp_value(const OutputClamp& c, T v) {
  const double d = static_cast<double>(v);
  if (d < c.lo) return static_cast<T>(c.lo);
  if (d > c.hi) return static_cast<T>(c.hi);
  return v;
}

template <typename T>
void matmul_reference(const MatMulPlan& p, const T* a, const T* b, T* y) {
  for (size_t bi = 0; bi < p.a_offsets.size(); ++bi) {
    const T* ab = a + p.a_offsets[bi];
    const T* bb = b + p.b_offsets[bi];
    T* yb = y + static_cast<int64_t>(bi) * p.m * p.n;
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) {
        T acc = 0;
        for (int64_t kk = 0; kk < p.k; ++kk) acc += ab[i * p.k + kk] * bb[kk * p.n + j];
        yb[i * p.n + j] = clamp_value(p.clamp, acc);
      }
  }
}

template <typename T>
std::unique_ptr<Kernel> matmul_reference_kernel(const MatMulPlan& p) {
  return make_kernel([p](const KernelArgs& a) {
    matmul_reference<T>(p, static_cast<const T*>(a.inputs[0]), static_cast<const T*>(a.inputs[1]),
                        static_cast<T*>(a.outputs[0]));
  });
}

// Float32 MatMul on packed_gemm. B packed at plan time when constant (one pack per B batch),
// otherwise per run into scratch whenever the B batch changes.
class FastMatMul final : public Kernel {
 public:
  FastMatMul(MatMulPlan p, const float* const_b, int64_t b_batches) : p_(std::move(p)), packed_(0) {
    per_pack_ = (packed_gemm_floats(p_.k, p_.n) + 15) / 16 * 16;
    if (const_b) {
      packed_ = AlignedFloats(per_pack_ * b_batches);
      for (int64_t i = 0; i < b_batches; ++i)
        packed_gemm_pack(const_b + i * p_.k * p_.n, false, p_.k, p_.n, 1.0f, nullptr, packed_.data.get() + i * per_pack_);
    }
    // A 2-D constant B under a contiguous A: one product with all batches stacked as rows.
    stacked_ = b_batches == 1 && contiguous_a();
  }

  size_t scratch_bytes() const override { return packed_.data ? 0 : sizeof(float) * per_pack_; }
  size_t resident_bytes() const override { return packed_.bytes(); }

  void run(const KernelArgs& args) override {
    const float* a = static_cast<const float*>(args.inputs[0]);
    const float* b = static_cast<const float*>(args.inputs[1]);
    float* y = static_cast<float*>(args.outputs[0]);
    if (stacked_) {
      packed_gemm_run(a, p_.k, rows(), packed_for(b, 0, args.scratch, -1), p_.k, p_.n, y, p_.n, p_.clamp.lo,
                      p_.clamp.hi, args.threadpool);
      return;
    }
    int64_t last_b = -1;
    for (size_t bi = 0; bi < p_.a_offsets.size(); ++bi) {
      const float* packed = packed_for(b, p_.b_offsets[bi], args.scratch, last_b);
      last_b = p_.b_offsets[bi];
      packed_gemm_run(a + p_.a_offsets[bi], p_.k, p_.m, packed, p_.k, p_.n, y + bi * p_.m * p_.n, p_.n,
                      p_.clamp.lo, p_.clamp.hi);
    }
  }

 private:
  int64_t rows() const { return p_.m * static_cast<int64_t>(p_.a_offsets.size()); }
  bool contiguous_a() const {
    for (size_t i = 0; i < p_.a_offsets.size(); ++i)
      if (p_.a_offsets[i] != static_cast<int64_t>(i) * p_.m * p_.k) return false;
    return true;
  }
  // The packed B batch at element offset b_offset; packs into scratch unless already there.
  const float* packed_for(const float* b, int64_t b_offset, void* scratch, int64_t last_offset) const {
    if (packed_.data) return packed_.data.get() + (b_offset / std::max<int64_t>(1, p_.k * p_.n)) * per_pack_;
    float* dst = static_cast<float*>(scratch);
    if (b_offset != last_offset) packed_gemm_pack(b + b_offset, false, p_.k, p_.n, 1.0f, nullptr, dst);
    return dst;
  }

  MatMulPlan p_;
  size_t per_pack_ = 0;
  AlignedFloats packed_;
  bool stacked_ = false;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_matmul(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({}));
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("needs inputs A and B");
  const DType dt = ctx.input(0).dtype;
  if (ctx.input(1).dtype != dt)
    return ctx.error(std::string("A is ") + dtype_name(dt) + " but B is " + dtype_name(ctx.input(1).dtype));
  if (dt != DType::kFloat32 && dt != DType::kFloat64 && dt != DType::kInt32 && dt != DType::kInt64)
    return ctx.unsupported(std::string("dtype ") + dtype_name(dt));
  TINYQ_ASSIGN_OR_RETURN(MatMulGeometry g, read_matmul_geometry(ctx, ctx.input(0).shape, ctx.input(1).shape));
  MatMulPlan p;
  TINYQ_ASSIGN_OR_RETURN(p.clamp, read_output_clamp(ctx));
  p.m = g.m;
  p.k = g.k;
  p.n = g.n;
  p.a_offsets = std::move(g.a_offsets);
  p.b_offsets = std::move(g.b_offsets);
  const Shape& out = g.out_shape;
  ctx.set_output(0, dt, out);
  const Shape& bs = ctx.input(1).shape;  // B's own batch dims: all but its last two
  const int64_t b_batches = bs.size() > 2 ? shape_numel(Shape(bs.begin(), bs.end() - 2)) : 1;
  if (shape_numel(out) == 0) return make_kernel([](const KernelArgs&) {});
  if (p.k == 0 && !p.clamp.active()) {  // an empty sum (a clamped one goes through the loops)
    const size_t bytes = static_cast<size_t>(shape_numel(out)) * dtype_size(dt);
    return make_kernel([bytes](const KernelArgs& a) { std::memset(a.outputs[0], 0, bytes); });
  }
  switch (dt) {
    case DType::kFloat32:
      if (ctx.impl() == KernelImpl::kFast) {
        const Tensor* b = ctx.input(1).value;
        return std::unique_ptr<Kernel>(new FastMatMul(p, b ? b->data<float>() : nullptr, b_batches));
      }
      return matmul_reference_kernel<float>(p);
    case DType::kFloat64: return matmul_reference_kernel<double>(p);
    case DType::kInt32: return matmul_reference_kernel<int32_t>(p);
    default: return matmul_reference_kernel<int64_t>(p);
  }
}

}  // namespace tinyq::kernels
