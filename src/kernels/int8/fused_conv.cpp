// QLinearConvFused and ConvIntegerFused (fused_ops.h): a 1-D or 2-D convolution of quantised
// activations with packed int8 weights (packing.h), exact int32 sums, and the epilogue of the
// QDQ or QOperator chain it replaces.
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

struct ConvOp {
  ConvGeometry g;
  XSpec x;
  WeightSpec w;
  OutSpec o;
  int64_t x_numel = 0, depth = 0;
};

class ReferenceConv final : public Kernel {
 public:
  explicit ReferenceConv(ConvOp op) : op_(std::move(op)) {
    const ConvGeometry& g = op_.g;
    const int64_t cin_g = g.cin_per_group();
    unpacked_.resize(static_cast<size_t>(g.c_out * cin_g * g.k[1] * g.k[2]));
    for (int64_t c = 0; c < g.c_out; ++c)
      for (int64_t ci = 0; ci < cin_g; ++ci)
        for (int64_t kh = 0; kh < g.k[1]; ++kh)
          for (int64_t kw = 0; kw < g.k[2]; ++kw)
            unpacked_[static_cast<size_t>(((c * cin_g + ci) * g.k[1] + kh) * g.k[2] + kw)] =
                packed_conv_weight(op_.w.packed, cin_g, g.k[1], g.k[2], c, ci, kh, kw);
    for (int64_t c = 0; c < g.c_out; ++c) w_zp_.push_back(op_.w.zero_point_at(c));
    acc_off_ = align64(sizeof(int32_t) * static_cast<size_t>(op_.x_numel));
    ch_off_ = acc_off_ + align64(sizeof(int32_t) * static_cast<size_t>(shape_numel(g.out_shape)));
    scratch_ = ch_off_ + channel_arrays_bytes(g.c_out);
  }

  size_t scratch_bytes() const override { return scratch_; }

  void run(const KernelArgs& a) override {
    const ConvGeometry& g = op_.g;
    auto* base = static_cast<std::byte*>(a.scratch);
    auto* xi = reinterpret_cast<int32_t*>(base);
    auto* acc = reinterpret_cast<int32_t*>(base + acc_off_);
    const ChannelArrays ch = carve_channel_arrays(base + ch_off_, g.c_out);
    XRun xr;
    reference_x(op_.x, a.inputs[kX], a.inputs[kXScale], a.inputs[kXZeroPoint], op_.x_numel, xi, &xr);
    int8_ref::conv_s32(g, xi, xr.zero_point, unpacked_.data(), int8_ref::ZeroPoints{w_zp_.data(), 1}, acc);
    // The sums already hold the zero-point terms: corr is just the int32 bias.
    XRun no_zp = xr;
    no_zp.zero_point_u8 = 0;
    fill_channel_params(op_.w, op_.o, no_zp, nullptr, g.c_out, op_.depth, ch);
    const float* residual = op_.o.has_residual ? static_cast<const float*>(a.inputs[kYScaleOrResidual]) : nullptr;
    Epilogue e = make_epilogue(op_.w, op_.o, ch, residual);
    e.w_zp = nullptr;
    const int64_t plane = g.out_plane();
    for (int64_t n = 0; n < g.batch; ++n)
      for (int64_t c = 0; c < g.c_out; ++c)
        for (int64_t p = 0; p < plane; ++p) {
          const int64_t i = (n * g.c_out + c) * plane + p;
          finish_scalar(acc[i], e, c, p, a.outputs[0], i);
        }
    if (op_.o.has_y_range) scan_range(static_cast<const float*>(a.outputs[0]), shape_numel(g.out_shape),
                                      static_cast<float*>(a.outputs[1]));
  }

 private:
  ConvOp op_;
  std::vector<int8_t> unpacked_;
  std::vector<int32_t> w_zp_;
  size_t acc_off_ = 0, ch_off_ = 0, scratch_ = 0;
};

class FastConv final : public Kernel {
 public:
  FastConv(ConvOp op, const ConvShape& shape, Isa isa) : op_(std::move(op)), isa_(isa) {
    epi_ = make_epilogue(op_.w, op_.o, ChannelArrays{}, nullptr);
    plan_ = make_conv_plan(shape, isa);
    plan_.direct &= !op_.w.has_zero_point;  // the direct form has no activation sums for w_zp
    if (op_.w.has_zero_point) {
      ConvShape ones = shape;
      ones.batch = 1;
      ones.groups = 1;
      ones.cout_g = 1;
      ones_plan_ = make_conv_plan(ones, isa);
    }
    const int64_t c_out = op_.g.c_out;
    // A dynamic pointwise convolution quantises its float input straight into the staged layout,
    // without the separate pass over bytes that staging would read again.
    quads_x_ = op_.x.mode == XMode::kDynamic && quantize_quads_fits(plan_);
    size_t off = 0;
    if (op_.x.mode != XMode::kQuantized && !quads_x_) {
      xbuf_off_ = off;
      off += align64(static_cast<size_t>(op_.x_numel) + 64);
    }
    if (plan_.direct) {  // taps per kernel row, expanded per run
      quads_off_ = off;
      off += align64(sizeof(int32_t) * static_cast<size_t>(c_out * shape.k_h));
    } else if (plan_.mode == QuadMode::kRows) {  // weights stored unpadded, expanded per run
      quads_off_ = off;
      off += align64(static_cast<size_t>(c_out * plan_.quads * 4));
    }
    stage_off_ = off;
    if (!plan_.direct) off += align64(plan_.scratch_bytes);
    rowsum_off_ = off;
    if (op_.w.has_zero_point) off += align64(sizeof(int32_t) * static_cast<size_t>(shape.out_h * shape.out_w));
    colsum_off_ = off;
    off += align64(sizeof(int32_t) * static_cast<size_t>(c_out));
    ch_off_ = off;
    off += channel_arrays_bytes(c_out);
    range_off_ = off;
    off += align64(3 * kRangeLanes * sizeof(float));
    scratch_ = off;
  }

  size_t scratch_bytes() const override { return scratch_; }

  void run(const KernelArgs& a) override {
    const int64_t c_out = op_.g.c_out;
    const ConvShape& s = plan_.s;
    auto* base = static_cast<std::byte*>(a.scratch);
    auto* stage = reinterpret_cast<uint8_t*>(base + stage_off_);
    auto* rowsum = reinterpret_cast<int32_t*>(base + rowsum_off_);
    auto* colsum = reinterpret_cast<int32_t*>(base + colsum_off_);
    const ChannelArrays ch = carve_channel_arrays(base + ch_off_, c_out);
    XRun xr;
    const float* x_range = op_.o.has_x_range ? static_cast<const float*>(a.inputs[kXRange]) : nullptr;
    const uint8_t* xq = nullptr;
    if (quads_x_)
      dynamic_x_run(isa_, static_cast<const float*>(a.inputs[kX]), x_range, op_.x_numel, &xr);
    else
      xq = prepare_x(isa_, op_.x, a.inputs[kX], a.inputs[kXScale], a.inputs[kXZeroPoint], x_range, op_.x_numel,
                     reinterpret_cast<uint8_t*>(base + xbuf_off_), &xr);
    // Channel sums of the weights, per run: keeping them would add 4 bytes per channel to the
    // resident weights, and they cost one pass over bytes the convolution reads anyway.
    // (Stored rows hold every weight once, zero padding aside, in either quad mode.)
    row_sums(isa_, op_.w.packed, c_out, conv_packed_row(s.cin_g, s.k_h, s.k_w), colsum);
    const int8_t* quads = op_.w.packed;
    int32_t* taps = nullptr;
    if (plan_.direct) {
      taps = reinterpret_cast<int32_t*>(base + quads_off_);
      expand_row_taps(op_.w.packed, c_out, s.k_h, s.k_w, taps);
    } else if (plan_.mode == QuadMode::kRows) {
      auto* expanded = reinterpret_cast<int8_t*>(base + quads_off_);
      expand_row_quads(op_.w.packed, c_out, s.k_h, s.k_w, expanded);
      quads = expanded;
    }
    const bool bounded = fill_channel_params(op_.w, op_.o, xr, colsum, c_out, op_.depth, ch);
    const float* residual = op_.o.has_residual ? static_cast<const float*>(a.inputs[kYScaleOrResidual]) : nullptr;
    Epilogue e = epilogue_for_run(epi_, op_.w, ch, residual);
    e.bounded = bounded;
    Epilogue sums;
    sums.kind = OutKind::kInt32;
    sums.corr = &kZero;
    sums.scale = &kOne;
    if (op_.w.has_zero_point) e.rowsum = rowsum;
    float* range = reinterpret_cast<float*>(base + range_off_);
    if (op_.o.has_y_range) {
      reset_range(range);
      e.range_acc = range;
      // NaN needs a NaN input (residual), or an infinite scale or bias (0 * inf, inf - inf).
      e.range_nan = op_.o.has_residual || !op_.w.bias_finite || !std::isfinite(xr.scale * op_.w.max_scale);
    }
    const uint8_t fill = static_cast<uint8_t>(xr.zero_point_u8);
    for (int64_t n = 0; n < s.batch; ++n)
      for (int64_t grp = 0; grp < s.groups; ++grp) {
        if (plan_.direct) {
          conv_image_direct(plan_, xq, taps, n, grp, xr.xor_mask, fill, e, a.outputs[0]);
          continue;
        }
        if (quads_x_) {
          const int64_t pixels = s.in_w;
          quantize_quads(isa_, static_cast<const float*>(a.inputs[kX]) + (n * s.c_in() + grp * s.cin_g) * pixels,
                         s.cin_g, pixels, plan_.plen, xr.scale, xr.zero_point, xr.bounded, stage, plan_.plane_bytes);
        } else {
          stage_conv_image(plan_, xq, n, grp, xr.xor_mask, fill, stage);
        }
        if (op_.w.has_zero_point) conv_image(ones_plan_, stage, ones_plan_.ones.data(), 0, 0, sums, rowsum);
        conv_image(plan_, stage, quads, n, grp, e, a.outputs[0]);
      }
    if (op_.o.has_y_range) reduce_range(range, static_cast<float*>(a.outputs[1]));
  }

 private:
  static constexpr int32_t kZero = 0;
  static constexpr float kOne = 1.0f;
  ConvOp op_;
  Isa isa_;
  Epilogue epi_;
  ConvPlan plan_, ones_plan_;
  bool quads_x_ = false;
  size_t xbuf_off_ = 0, quads_off_ = 0, range_off_ = 0, stage_off_ = 0, rowsum_off_ = 0, colsum_off_ = 0, ch_off_ = 0, scratch_ = 0;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_fused_conv(PrepareContext& ctx, bool is_static, std::optional<Isa> isa) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs(
      {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", kDequantizeOutputAttr}));
  if (ctx.num_inputs() > 9) return ctx.error("takes at most 9 inputs");
  ConvOp op;
  TINYQ_ASSIGN_OR_RETURN(op.x, read_x_spec(ctx));
  const Shape& xs = ctx.input(kX).shape;
  const std::vector<int64_t> kernel = ctx.attr_ints("kernel_shape");
  if (xs.size() != 3 && xs.size() != 4) return ctx.unsupported("only 1-D and 2-D convolutions, x is " + shape_str(xs));
  if (kernel.size() + 2 != xs.size()) return ctx.error("attribute 'kernel_shape' must have one entry per spatial dim");
  if (!ctx.has_input(kW)) return ctx.error("needs input w");
  const Shape& wshape = ctx.input(kW).shape;
  if (wshape.size() != 2) return ctx.error("packed w must be 2-D [C_out, quads*4]");
  const int64_t groups = ctx.attr_int("group", 1);
  if (groups < 1 || xs[1] % groups != 0) return ctx.error("bad group for x " + shape_str(xs));
  Shape logical_w{wshape[0], xs[1] / groups};
  logical_w.insert(logical_w.end(), kernel.begin(), kernel.end());
  TINYQ_ASSIGN_OR_RETURN(op.g, read_conv_geometry(ctx, xs, logical_w));
  const int64_t cin_g = op.g.cin_per_group();
  op.depth = op.g.depth();
  TINYQ_RETURN_IF_ERROR(int8_ref::check_depth(ctx, op.depth));
  const int64_t row = conv_packed_row(cin_g, op.g.k[1], op.g.k[2]);
  if (wshape[1] != row) return ctx.error("packed w " + shape_str(wshape) + " needs " + std::to_string(row) + " columns");
  TINYQ_ASSIGN_OR_RETURN(op.w, read_weight_spec(ctx, is_static, op.g.c_out, static_cast<size_t>(op.g.c_out * row)));
  TINYQ_ASSIGN_OR_RETURN(op.o, read_out_spec(ctx, is_static, op.g.out_shape));
  op.x_numel = shape_numel(xs);
  ctx.set_output(0, op.o.type, op.g.out_shape);
  if (op.o.has_y_range) ctx.set_output(1, DType::kFloat32, {3});
  if (shape_numel(op.g.out_shape) == 0) {  // nothing to compute; an empty tensor's range is {0, 0}
    const bool range = op.o.has_y_range;
    return make_kernel([range](const KernelArgs& a) {
      if (range) std::memset(a.outputs[1], 0, 3 * sizeof(float));
    });
  }
  if (ctx.impl() == KernelImpl::kReference) return std::unique_ptr<Kernel>(new ReferenceConv(std::move(op)));

  const ConvGeometry& g = op.g;
  ConvShape s;
  s.batch = g.batch;
  s.groups = g.groups;
  s.cin_g = cin_g;
  s.cout_g = g.cout_per_group();
  s.in_h = g.in[1];
  s.in_w = g.in[2];
  s.out_h = g.out[1];
  s.out_w = g.out[2];
  s.k_h = g.k[1];
  s.k_w = g.k[2];
  s.stride_h = g.s[1];
  s.stride_w = g.s[2];
  s.dil_h = g.d[1];
  s.dil_w = g.d[2];
  s.pad_top = g.pb[1];
  s.pad_left = g.pb[2];
  // A pointwise convolution over whole planes is one long row.
  if (s.k_h == 1 && s.k_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 && s.pad_left == 0 &&
      s.out_h == s.in_h && s.out_w == s.in_w) {
    s.in_w = s.out_w = s.in_h * s.in_w;
    s.in_h = s.out_h = 1;
  }
  return std::unique_ptr<Kernel>(new FastConv(std::move(op), s, isa ? *isa : best_isa()));
}

}  // namespace int8

Result<std::unique_ptr<Kernel>> make_qlinear_conv_fused(PrepareContext& ctx) {
  return int8::make_fused_conv(ctx, /*is_static=*/true, std::nullopt);
}
Result<std::unique_ptr<Kernel>> make_conv_integer_fused(PrepareContext& ctx) {
  return int8::make_fused_conv(ctx, /*is_static=*/false, std::nullopt);
}

}  // namespace tinyq::kernels
