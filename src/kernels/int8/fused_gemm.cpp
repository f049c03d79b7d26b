// QLinearMatMulFused and MatMulIntegerFused (fused_ops.h): x [..., M, K] times constant packed
// weights (packing.h; w is [panels * gemm_panel(N), ceil(K/4)*4] and attribute n gives N), exact int32
// sums, and the epilogue of the QDQ or QOperator chain it replaces.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/int8/engine.h"
#include "kernels/int8/fused_common.h"
#include "kernels/int8/fused_ops.h"
#include "kernels/int8_ref.h"
#include "kernels/linalg_geometry.h"

namespace tinyq::kernels {

namespace int8 {
namespace {

size_t align64(size_t n) { return (n + 63) / 64 * 64; }

template <typename T>
void store_if_changed(T& field, T value) {
  if (field != value) field = value;
}

struct GemmOp {
  int64_t rows = 0, k = 0, n = 0;
  XSpec x;
  WeightSpec w;
  OutSpec o;
};

class ReferenceGemm final : public Kernel {
 public:
  explicit ReferenceGemm(GemmOp op) : op_(std::move(op)) {
    for (int64_t kk = 0; kk < op_.k; ++kk)
      for (int64_t j = 0; j < op_.n; ++j) unpacked_.push_back(packed_gemm_weight(op_.w.packed, op_.k, op_.n, kk, j));
    for (int64_t j = 0; j < op_.n; ++j) w_zp_.push_back(op_.w.zero_point_at(j));
    acc_off_ = align64(sizeof(int32_t) * static_cast<size_t>(op_.rows * op_.k));
    ch_off_ = acc_off_ + align64(sizeof(int32_t) * static_cast<size_t>(op_.rows * op_.n));
    scratch_ = ch_off_ + channel_arrays_bytes(op_.n);
  }
  size_t scratch_bytes() const override { return scratch_; }

  void run(const KernelArgs& a) override {
    auto* base = static_cast<std::byte*>(a.scratch);
    auto* xi = reinterpret_cast<int32_t*>(base);
    auto* acc = reinterpret_cast<int32_t*>(base + acc_off_);
    const ChannelArrays ch = carve_channel_arrays(base + ch_off_, op_.n);
    XRun xr;
    reference_x(op_.x, a.inputs[kX], a.inputs[kXScale], a.inputs[kXZeroPoint], op_.rows * op_.k, xi, &xr);
    int8_ref::gemm_s32(op_.rows, op_.n, op_.k, xi, op_.k, int8_ref::ZeroPoints{&xr.zero_point, 0}, unpacked_.data(),
                       op_.n, int8_ref::ZeroPoints{w_zp_.data(), 1}, acc, op_.n);
    // The sums already hold the zero-point terms: corr is just the int32 bias.
    XRun no_zp = xr;
    no_zp.zero_point_u8 = 0;
    fill_channel_params(op_.w, op_.o, no_zp, nullptr, op_.n, op_.k, ch);
    const float* residual = op_.o.has_residual ? static_cast<const float*>(a.inputs[kYScaleOrResidual]) : nullptr;
    Epilogue e = make_epilogue(op_.w, op_.o, ch, residual);
    e.w_zp = nullptr;
    for (int64_t i = 0; i < op_.rows; ++i)
      for (int64_t j = 0; j < op_.n; ++j) finish_scalar(acc[i * op_.n + j], e, j, i, a.outputs[0], i * op_.n + j);
    if (op_.o.has_y_range)
      scan_range(static_cast<const float*>(a.outputs[0]), op_.rows * op_.n, static_cast<float*>(a.outputs[1]));
  }

 private:
  GemmOp op_;
  std::vector<int8_t> unpacked_;
  std::vector<int32_t> w_zp_;
  size_t acc_off_ = 0, ch_off_ = 0, scratch_ = 0;
};

class FastGemm final : public Kernel {
 public:
  FastGemm(GemmOp op, Isa isa) : op_(std::move(op)), isa_(isa) {
    epi_ = make_epilogue(op_.w, op_.o, ChannelArrays{}, nullptr);
    // Column sums are kept (4 bytes per column): the tiny MLPs run at batch 1, where summing
    // the weights every run would cost as much as the product itself.
    colsum_.assign(op_.n, 0);
    for (int64_t kk = 0; kk < op_.k; ++kk)
      for (int64_t j = 0; j < op_.n; ++j) colsum_[j] += packed_gemm_weight(op_.w.packed, op_.k, op_.n, kk, j);
    // Staged activations: rows x K bytes and a vector of slack (the last quad may run past K).
    rowsum_off_ = align64(static_cast<size_t>(op_.rows * op_.k) + 64);
    ch_off_ = rowsum_off_ + (op_.w.has_zero_point ? align64(sizeof(int32_t) * op_.rows) : 0);
    range_off_ = ch_off_ + channel_arrays_bytes(op_.n);
    scratch_ = range_off_ + align64(3 * kRangeLanes * sizeof(float));
    gather_range_ = op_.o.has_y_range && op_.rows * op_.n > kScanRangeMax;
    // A 1-row dynamic layer (the MLPs at batch 1) runs as one fused step (engine.h, DynRow).
    dyn_row_ = op_.rows == 1 && op_.x.mode == XMode::kDynamic && !op_.w.has_zero_point && !op_.o.has_residual &&
               op_.k <= kDynRowMaxK;
    if (dyn_row_) {
      row_.k = op_.k;
      row_.packed = op_.w.packed;
      row_.n = op_.n;
      row_.colsum = colsum_.data();
      row_.w_scale = op_.w.scale;
      row_.w_scale_stride = op_.w.scale_stride;
      row_.bias = op_.w.bias_f;
      row_.clamp = op_.o.clamp.active();
      row_.lo = op_.o.clamp.lo;
      row_.hi = op_.o.clamp.hi;
    }
    // With x's parameters known now, the per-channel epilogue arrays are too: made once here
    // rather than per run (a static 1-row MLP layer would spend a third of its time on them).
    if (op_.x.params_known) {
      fixed_ch_.resize(channel_arrays_bytes(op_.n) / sizeof(int32_t));
      const ChannelArrays ch = carve_channel_arrays(fixed_ch_.data(), op_.n);
      const bool bounded = fill_channel_params(op_.w, op_.o, known_x_run(op_.x), colsum_.data(), op_.n, op_.k, ch);
      epi_ = epilogue_for_run(epi_, op_.w, ch, nullptr);
      epi_.bounded = bounded;
    }
  }
  size_t scratch_bytes() const override { return scratch_; }
  size_t resident_bytes() const override { return (colsum_.size() + fixed_ch_.size()) * sizeof(int32_t); }

  void run(const KernelArgs& a) override {
    if (dyn_row_) {
      const DynRowIo io{static_cast<const float*>(a.inputs[kX]),
                        op_.o.has_x_range ? static_cast<const float*>(a.inputs[kXRange]) : nullptr,
                        static_cast<float*>(a.outputs[0]),
                        op_.o.has_y_range ? static_cast<float*>(a.outputs[1]) : nullptr};
      if (gemm_dyn_row(isa_, row_, io)) return;
    }
    auto* base = static_cast<std::byte*>(a.scratch);
    auto* staged = reinterpret_cast<uint8_t*>(base);
    auto* rowsum = reinterpret_cast<int32_t*>(base + rowsum_off_);
    const ChannelArrays ch = carve_channel_arrays(base + ch_off_, op_.n);
    const int64_t count = op_.rows * op_.k;
    XRun xr;
    const uint8_t* xq = prepare_x(isa_, op_.x, a.inputs[kX], a.inputs[kXScale], a.inputs[kXZeroPoint],
                                  op_.o.has_x_range ? static_cast<const float*>(a.inputs[kXRange]) : nullptr, count, staged, &xr);
    if (xq != staged)  // already quantised: copy into the slack-padded buffer, unsigned
      for (int64_t i = 0; i < count; ++i) staged[i] = static_cast<uint8_t>(xq[i] ^ xr.xor_mask);
    const float* residual = op_.o.has_residual ? static_cast<const float*>(a.inputs[kYScaleOrResidual]) : nullptr;
    // The run's Epilogue lives in the kernel and is rebuilt only when its pointers move (the
    // scratch and inputs of one plan stay put); per-run values are stored only when they change.
    // A 1-row MLP layer is short enough that copying a freshly written Epilogue costs
    // store-forwarding stalls (the engine copies it with vector loads).
    if (a.scratch != run_scratch_ || residual != run_residual_) {
      run_scratch_ = a.scratch;
      run_residual_ = residual;
      run_epi_ = fixed_ch_.empty() ? epilogue_for_run(epi_, op_.w, ch, residual) : epi_;
      if (run_epi_.kind == OutKind::kFloat) run_epi_.residual = residual;
      if (op_.w.has_zero_point) run_epi_.rowsum = rowsum;
      if (gather_range_) run_epi_.range_acc = reinterpret_cast<float*>(base + range_off_);
    }
    Epilogue& e = run_epi_;
    if (fixed_ch_.empty())
      store_if_changed(e.bounded, fill_channel_params(op_.w, op_.o, xr, colsum_.data(), op_.n, op_.k, ch));
    if (op_.w.has_zero_point)
      for (int64_t i = 0; i < op_.rows; ++i) {
        int32_t sum = 0;
        for (int64_t kk = 0; kk < op_.k; ++kk) sum += staged[i * op_.k + kk];
        rowsum[i] = sum;
      }
    float* range = e.range_acc;
    if (gather_range_) {
      reset_range(isa_, range);
      // NaN needs a NaN input (residual), or an infinite scale or bias (0 * inf, inf - inf).
      store_if_changed(e.range_nan,
                       op_.o.has_residual || !op_.w.bias_finite || !std::isfinite(xr.scale * op_.w.max_scale));
    }
    gemm(isa_, staged, op_.k, op_.rows, op_.w.packed, op_.k, op_.n, e, a.outputs[0]);
    if (gather_range_) {
      reduce_range(range, static_cast<float*>(a.outputs[1]));
    } else if (op_.o.has_y_range) {
      float* out3 = static_cast<float*>(a.outputs[1]);
      bool bad = false;
      range_f32(isa_, static_cast<const float*>(a.outputs[0]), op_.rows * op_.n, &out3[0], &out3[1], &bad);
      out3[2] = bad ? 1.0f : 0.0f;
    }
  }

 private:
  // Small outputs (a 1-row MLP layer) are scanned for their range after the product: cheaper
  // than gathering it in the epilogue and reducing the lanes.
  static constexpr int64_t kScanRangeMax = 256;

  GemmOp op_;
  Isa isa_;
  bool gather_range_ = false;
  bool dyn_row_ = false;
  DynRow row_;  // the fused 1-row form's constant fields
  Epilogue epi_;
  std::vector<int32_t> colsum_;
  std::vector<int32_t> fixed_ch_;  // ChannelArrays storage when x's parameters are known (else empty)
  Epilogue run_epi_;
  const void* run_scratch_ = nullptr;
  const float* run_residual_ = nullptr;
  size_t rowsum_off_ = 0, ch_off_ = 0, range_off_ = 0, scratch_ = 0;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_fused_matmul(PrepareContext& ctx, bool is_static, std::optional<Isa> isa) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"n", kDequantizeOutputAttr}));
  if (ctx.num_inputs() > 9) return ctx.error("takes at most 9 inputs");
  GemmOp op;
  TINYQ_ASSIGN_OR_RETURN(op.x, read_x_spec(ctx));
  const Shape& xs = ctx.input(kX).shape;
  if (xs.empty()) return ctx.error("x must have rank >= 1");
  op.k = xs.back();
  op.n = ctx.attr_int("n", -1);
  if (op.n < 1) return ctx.error("attribute 'n' (columns of w) must be >= 1");
  TINYQ_ASSIGN_OR_RETURN(MatMulGeometry g, read_matmul_geometry(ctx, xs, Shape{op.k, op.n}));
  TINYQ_RETURN_IF_ERROR(int8_ref::check_depth(ctx, op.k));
  op.rows = g.batches() * g.m;
  if (!ctx.has_input(kW)) return ctx.error("needs input w");
  const Shape want_w{gemm_panels(op.n) * gemm_panel(op.n), gemm_k_quads(op.k) * 4};
  if (ctx.input(kW).shape != want_w)
    return ctx.error("packed w " + shape_str(ctx.input(kW).shape) + " must be " + shape_str(want_w));
  TINYQ_ASSIGN_OR_RETURN(op.w, read_weight_spec(ctx, is_static, op.n, gemm_packed_bytes(op.k, op.n)));
  TINYQ_ASSIGN_OR_RETURN(op.o, read_out_spec(ctx, is_static, g.out_shape));
  ctx.set_output(0, op.o.type, g.out_shape);
  if (op.o.has_y_range) ctx.set_output(1, DType::kFloat32, {3});
  if (shape_numel(g.out_shape) == 0) {  // nothing to compute; an empty tensor's range is {0, 0}
    const bool range = op.o.has_y_range;
    return make_kernel([range](const KernelArgs& a) {
      if (range) std::memset(a.outputs[1], 0, 3 * sizeof(float));
    });
  }
  if (op.k == 0) return ctx.unsupported("an empty inner dimension");
  if (ctx.impl() == KernelImpl::kReference) return std::unique_ptr<Kernel>(new ReferenceGemm(std::move(op)));
  return std::unique_ptr<Kernel>(new FastGemm(std::move(op), isa ? *isa : best_isa()));
}

}  // namespace int8

Result<std::unique_ptr<Kernel>> make_qlinear_matmul_fused(PrepareContext& ctx) {
  return int8::make_fused_matmul(ctx, /*is_static=*/true, std::nullopt);
}
Result<std::unique_ptr<Kernel>> make_matmul_integer_fused(PrepareContext& ctx) {
  return int8::make_fused_matmul(ctx, /*is_static=*/false, std::nullopt);
}

}  // namespace tinyq::kernels
