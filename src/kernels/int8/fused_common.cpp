#include "kernels/int8/fused_common.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "kernels/int8_ref.h"

namespace tinyq::kernels::int8 {

namespace {

// A scalar quantisation parameter's value as int32 (uint8 or int8 tensor).
int32_t zero_point_value(const void* p, DType t) {
  if (!p) return 0;
  return t == DType::kInt8 ? static_cast<const int8_t*>(p)[0] : static_cast<const uint8_t*>(p)[0];
}

}  // namespace

Result<XSpec> read_x_spec(PrepareContext& ctx) {
  XSpec s;
  if (!ctx.has_input(kX)) return ctx.error("needs input x");
  const DType xt = ctx.input(kX).dtype;
  const bool has_scale = ctx.has_input(kXScale), has_zp = ctx.has_input(kXZeroPoint);
  if (has_scale) {
    const TensorInfo& sc = ctx.input(kXScale);
    if (sc.dtype != DType::kFloat32 || shape_numel(sc.shape) != 1)
      return ctx.error("x_scale must be one float32 value, got " + std::string(dtype_name(sc.dtype)) +
                       shape_str(sc.shape));
  }
  if (has_zp) {
    const TensorInfo& zp = ctx.input(kXZeroPoint);
    if (!is_quant_type(zp.dtype) || shape_numel(zp.shape) != 1)
      return ctx.error("x_zero_point must be one uint8/int8 value, got " + std::string(dtype_name(zp.dtype)) +
                       shape_str(zp.shape));
  }
  if (xt == DType::kFloat32) {
    if (!has_scale) {
      if (has_zp) return ctx.error("x_zero_point without x_scale");
      s.mode = XMode::kDynamic;
      return s;
    }
    s.mode = XMode::kStatic;
    s.qtype = has_zp ? ctx.input(kXZeroPoint).dtype : DType::kUInt8;
    TINYQ_ASSIGN_OR_RETURN(QuantParams q, read_quant_params(ctx, "x", kXScale, has_zp ? kXZeroPoint : -1, s.qtype,
                                                            ctx.input(kX).shape, 1));
    s.scale = q.scale(0);
    s.zero_point = q.zero_point(0);
    s.params_known = true;
    return s;
  }
  if (!is_quant_type(xt)) return ctx.unsupported(std::string("x dtype ") + dtype_name(xt));
  if (!has_scale) return ctx.error("a quantised x needs x_scale");
  if (has_zp && ctx.input(kXZeroPoint).dtype != xt) return ctx.error("x_zero_point's dtype differs from x's");
  s.mode = XMode::kQuantized;
  s.qtype = xt;
  // Validate what is known now; values computed at run time (DynamicQuantizeLinear's) are valid.
  if (ctx.input(kXScale).value) {
    s.scale = ctx.input(kXScale).value->data<float>()[0];
    TINYQ_RETURN_IF_ERROR(check_scale(ctx, "x", s.scale));
    if (!has_zp || ctx.input(kXZeroPoint).value) {
      s.zero_point = has_zp ? zero_point_value(ctx.input(kXZeroPoint).value->raw(), xt) : 0;
      s.params_known = true;
    }
  }
  return s;
}

XRun known_x_run(const XSpec& spec) {
  XRun run;
  const bool is_signed = spec.qtype == DType::kInt8;
  run.scale = spec.scale;
  run.zero_point = spec.zero_point;
  run.zero_point_u8 = spec.zero_point + (is_signed ? 128 : 0);
  // prepare_x stages a float x as unsigned bytes; a quantised int8 x is read with the xor.
  run.xor_mask = spec.mode == XMode::kQuantized && is_signed ? 0x80 : 0;
  return run;
}

Result<WeightSpec> read_weight_spec(PrepareContext& ctx, bool is_static, int64_t c_out, size_t packed_bytes) {
  WeightSpec w;
  if (!ctx.has_input(kW) || !ctx.has_input(kWScale)) return ctx.error("needs inputs w and w_scale");
  TINYQ_ASSIGN_OR_RETURN(const Tensor* wt, ctx.const_input(kW));
  if (wt->dtype() != DType::kInt8) return ctx.error("packed w must be int8");
  if (wt->nbytes() != packed_bytes)
    return ctx.error("packed w has " + std::to_string(wt->nbytes()) + " bytes, the shape needs " +
                     std::to_string(packed_bytes));
  w.packed = wt->data<int8_t>();
  // Scale and zero point: 1 or C_out entries each (a single entry applies to every channel).
  TINYQ_ASSIGN_OR_RETURN(const Tensor* ws, ctx.const_input(kWScale));
  if (ws->dtype() != DType::kFloat32 || ws->rank() > 1 || (ws->numel() != 1 && ws->numel() != c_out))
    return ctx.error("w_scale must be float32 with 1 or " + std::to_string(c_out) + " entries, got " +
                     dtype_name(ws->dtype()) + shape_str(ws->shape()));
  w.scale = ws->data<float>();
  w.scale_stride = ws->numel() == 1 ? 0 : 1;
  for (int64_t c = 0; c < ws->numel(); ++c) {
    TINYQ_RETURN_IF_ERROR(check_scale(ctx, "w", w.scale[c]));
    w.max_scale = std::max(w.max_scale, w.scale[c]);
  }
  if (ctx.has_input(kWZeroPoint)) {
    TINYQ_ASSIGN_OR_RETURN(const Tensor* wz, ctx.const_input(kWZeroPoint));
    if (wz->dtype() != DType::kInt8 || wz->rank() > 1 || (wz->numel() != 1 && wz->numel() != c_out))
      return ctx.error("w_zero_point must be int8 with 1 or " + std::to_string(c_out) + " entries, got " +
                       dtype_name(wz->dtype()) + shape_str(wz->shape()));
    w.zero_point = wz->data<int8_t>();
    w.zero_point_stride = wz->numel() == 1 ? 0 : 1;
    for (int64_t c = 0; c < wz->numel(); ++c) w.has_zero_point |= w.zero_point[c] != 0;
  }
  if (ctx.has_input(kBias)) {
    TINYQ_ASSIGN_OR_RETURN(const Tensor* b, ctx.const_input(kBias));
    const bool type_ok = b->dtype() == DType::kFloat32 || (is_static && b->dtype() == DType::kInt32);
    if (!type_ok || b->numel() != c_out)
      return ctx.error("bias must be " + std::string(is_static ? "float32 or int32" : "float32") + " with " +
                       std::to_string(c_out) + " entries, got " + dtype_name(b->dtype()) + shape_str(b->shape()));
    if (b->dtype() == DType::kInt32) {
      w.bias_i = b->data<int32_t>();
    } else {
      w.bias_f = b->data<float>();
      for (int64_t c = 0; c < c_out; ++c) w.bias_finite &= std::isfinite(w.bias_f[c]);
    }
  }
  return w;
}

Result<OutSpec> read_out_spec(PrepareContext& ctx, bool is_static, const Shape& out_shape) {
  OutSpec o;
  o.is_static = is_static;
  TINYQ_ASSIGN_OR_RETURN(o.clamp, read_output_clamp(ctx));
  if (!is_static) {
    if (ctx.has_input(kXRange)) {
      const TensorInfo& r = ctx.input(kXRange);
      if (r.dtype != DType::kFloat32 || shape_numel(r.shape) != 3) return ctx.error("x_range must be float32 [3]");
      if (ctx.input(kX).dtype != DType::kFloat32 || ctx.has_input(kXScale))
        return ctx.error("x_range is for a float x that the op quantises itself");
      o.has_x_range = true;
    }
    if (ctx.num_outputs() > 2) return ctx.error("has at most 2 outputs");
    o.has_y_range = ctx.has_output(1);
    if (ctx.has_input(kYScaleOrResidual)) {
      const TensorInfo& z = ctx.input(kYScaleOrResidual);
      if (z.dtype != DType::kFloat32 || z.shape != out_shape)
        return ctx.error("residual input must be float32 " + shape_str(out_shape) + ", got " + dtype_name(z.dtype) +
                         shape_str(z.shape));
      o.has_residual = true;
    }
    o.type = DType::kFloat32;
    return o;
  }
  if (!ctx.has_input(kYScaleOrResidual)) return ctx.error("needs input y_scale");
  const bool has_zp = ctx.has_input(kYZeroPoint);
  o.type = has_zp ? ctx.input(kYZeroPoint).dtype : DType::kUInt8;
  if (!is_quant_type(o.type)) return ctx.error("y_zero_point must be uint8 or int8");
  TINYQ_ASSIGN_OR_RETURN(QuantParams q, read_quant_params(ctx, "y", kYScaleOrResidual, has_zp ? kYZeroPoint : -1,
                                                          o.type, out_shape, 1));
  if (q.per_axis()) return ctx.error("y_scale must be per tensor");
  o.y_scale = q.scale(0);
  o.y_zero_point = q.zero_point(0);
  // A fused Relu/Clip becomes a clamp of the quantised value: QuantizeLinear is monotonic, so
  // Q(clamp(v, lo, hi)) == clamp(Q(v), Q(lo), Q(hi)).
  const int32_t qmin = quant_min(o.type), qmax = quant_max(o.type);
  o.q_lo = quantize_saturate(o.clamp.lo / o.y_scale, o.y_zero_point, qmin, qmax);
  o.q_hi = quantize_saturate(o.clamp.hi / o.y_scale, o.y_zero_point, qmin, qmax);
  if (ctx.num_outputs() > 1) return ctx.error("a static op has 1 output");
  o.dequantize = ctx.attr_int(kDequantizeOutputAttr, 0) != 0;
  if (o.dequantize) o.type = DType::kFloat32;
  return o;
}

void dynamic_x_run(Isa isa, const float* x, const float* x_range, int64_t n, XRun* run) {
  float lo, hi;
  bool nonfinite = false;
  if (x_range) {
    lo = x_range[0];
    hi = x_range[1];
    nonfinite = x_range[2] != 0.0f;  // reduce_range also marks infinite bounds
  } else {
    range_f32(isa, x, n, &lo, &hi, &nonfinite);
  }
  dynamic_params_fast(lo, hi, &run->scale, &run->zero_point);
  run->zero_point_u8 = run->zero_point;
  run->xor_mask = 0;
  // With every x finite (so within [lo, hi], around 0), |x / scale| <= 255.
  run->bounded = !nonfinite;
}

const uint8_t* prepare_x(Isa isa, const XSpec& spec, const void* x, const void* x_scale, const void* x_zero_point,
                         const float* x_range, int64_t n, uint8_t* buf, XRun* run) {
  switch (spec.mode) {
    case XMode::kDynamic:
      dynamic_x_run(isa, static_cast<const float*>(x), x_range, n, run);
      quantize_u8(isa, static_cast<const float*>(x), n, run->scale, run->zero_point, buf, run->bounded);
      return buf;
    case XMode::kStatic: {
      const int32_t shift = spec.qtype == DType::kInt8 ? 128 : 0;
      run->scale = spec.scale;
      run->zero_point = spec.zero_point;
      run->zero_point_u8 = spec.zero_point + shift;
      run->xor_mask = 0;
      quantize_u8(isa, static_cast<const float*>(x), n, spec.scale, run->zero_point_u8, buf);
      return buf;
    }
    case XMode::kQuantized: {
      const bool is_signed = spec.qtype == DType::kInt8;
      run->scale = static_cast<const float*>(x_scale)[0];
      run->zero_point = zero_point_value(x_zero_point, spec.qtype);
      run->zero_point_u8 = run->zero_point + (is_signed ? 128 : 0);
      run->xor_mask = is_signed ? 0x80 : 0;
      return static_cast<const uint8_t*>(x);
    }
  }
  return nullptr;
}

size_t channel_arrays_bytes(int64_t c_out) { return 4 * ((sizeof(int32_t) * static_cast<size_t>(c_out) + 63) / 64 * 64); }

ChannelArrays carve_channel_arrays(void* at, int64_t c_out) {
  const size_t one = (sizeof(int32_t) * static_cast<size_t>(c_out) + 63) / 64 * 64;
  auto* base = static_cast<std::byte*>(at);
  return {reinterpret_cast<int32_t*>(base), reinterpret_cast<float*>(base + one), reinterpret_cast<int32_t*>(base + 2 * one),
          reinterpret_cast<float*>(base + 3 * one)};
}

bool fill_channel_params(const WeightSpec& w, const OutSpec& o, const XRun& x, const int32_t* colsum, int64_t c_out,
                         int64_t depth, const ChannelArrays& out) {
  // sum (a - za)(w - zw) = sum a w - za sum w - zw sum a + depth za zw; the activation sums
  // (sum a) are the epilogue's row sums. Unsigned arithmetic wraps as the SIMD adds do. The
  // loops are split by case so that the common ones (no zero point, no int32 bias) stay simple.
  const uint32_t za = static_cast<uint32_t>(x.zero_point_u8);
  if (colsum && za != 0)
    for (int64_t c = 0; c < c_out; ++c) out.corr[c] = static_cast<int32_t>(0u - za * static_cast<uint32_t>(colsum[c]));
  else  // no activation zero point (every ReLU output's dynamic range): no column-sum term
    std::fill(out.corr, out.corr + c_out, 0);
  if (w.bias_i)
    for (int64_t c = 0; c < c_out; ++c)
      out.corr[c] = static_cast<int32_t>(static_cast<uint32_t>(out.corr[c]) + static_cast<uint32_t>(w.bias_i[c]));
  if (w.zero_point) {
    for (int64_t c = 0; c < c_out; ++c) {
      const int32_t zw = w.zero_point_at(c);
      out.w_zp[c] = zw;
      out.corr[c] = static_cast<int32_t>(static_cast<uint32_t>(out.corr[c]) +
                                         static_cast<uint32_t>(depth) * za * static_cast<uint32_t>(zw));
    }
  }
  if (!o.is_static) {
    // Split by stride so that the per-channel case is a plain vector loop (the 1-row MLPs run
    // this for every layer).
    if (w.scale_stride == 1)
      for (int64_t c = 0; c < c_out; ++c) out.scale[c] = x.scale * w.scale[c];
    else
      std::fill(out.scale, out.scale + c_out, x.scale * w.scale[0]);
    return false;
  }
  // |sum| <= depth * 255 * 255 + |bias|: each (a - za)(w - zw) term is at most 255 * 255.
  double max_product = 0.0;
  for (int64_t c = 0; c < c_out; ++c) {
    out.scale[c] = int8_ref::requant_multiplier(x.scale, w.scale_at(c), o.y_scale);
    const double bias = w.bias_i ? std::fabs(static_cast<double>(w.bias_i[c])) : 0.0;
    double bound = (static_cast<double>(depth) * 65025.0 + bias) * std::fabs(out.scale[c]);
    if (w.bias_f) {  // a float bias in output steps, added after the scale
      out.bias[c] = w.bias_f[c] / o.y_scale;
      bound += std::fabs(static_cast<double>(out.bias[c]));
    }
    max_product = std::max(max_product, bound);
  }
  return std::isfinite(max_product) && max_product < 536870912.0;  // 2^29: room for float rounding
}

Epilogue make_epilogue(const WeightSpec& w, const OutSpec& o, const ChannelArrays& ch, const float* residual) {
  Epilogue e;
  e.corr = ch.corr;
  e.scale = ch.scale;
  e.w_zp = w.has_zero_point ? ch.w_zp : nullptr;
  if (o.is_static) {
    e.kind = o.dequantize ? OutKind::kQuantDequant : OutKind::kQuant;
    e.y_zp = o.y_zero_point;
    e.q_lo = o.q_lo;
    e.q_hi = o.q_hi;
    e.y_signed = o.type == DType::kInt8;
    e.y_scale = o.y_scale;
    e.bias = w.bias_f ? ch.bias : nullptr;
  } else {
    e.kind = OutKind::kFloat;
    e.bias = w.bias_f;
    e.residual = residual;
    e.clamp = o.clamp.active();
    e.lo = o.clamp.lo;
    e.hi = o.clamp.hi;
  }
  return e;
}

void scan_range(const float* y, int64_t n, float* out3) {
  float lo = 0.0f, hi = 0.0f;
  bool bad = false;
  for (int64_t i = 0; i < n; ++i) {
    if (y[i] < lo) lo = y[i];
    if (y[i] > hi) hi = y[i];
    bad |= !std::isfinite(y[i]);
  }
  out3[0] = lo;
  out3[1] = hi;
  out3[2] = bad ? 1.0f : 0.0f;
}

void reference_x(const XSpec& spec, const void* x, const void* x_scale, const void* x_zero_point, int64_t n,
                 int32_t* out, XRun* run) {
  const float* xf = static_cast<const float*>(x);
  switch (spec.mode) {
    case XMode::kDynamic: {
      float lo = 0.0f, hi = 0.0f;
      for (int64_t i = 0; i < n; ++i) {
        if (xf[i] < lo) lo = xf[i];
        if (xf[i] > hi) hi = xf[i];
      }
      dynamic_params(lo, hi, &run->scale, &run->zero_point);
      for (int64_t i = 0; i < n; ++i) out[i] = quantize_saturate(xf[i] / run->scale, run->zero_point, 0, 255);
      return;
    }
    case XMode::kStatic: {
      run->scale = spec.scale;
      run->zero_point = spec.zero_point;
      const int32_t qmin = quant_min(spec.qtype), qmax = quant_max(spec.qtype);
      for (int64_t i = 0; i < n; ++i) out[i] = quantize_saturate(xf[i] / spec.scale, spec.zero_point, qmin, qmax);
      return;
    }
    case XMode::kQuantized: {
      run->scale = static_cast<const float*>(x_scale)[0];
      run->zero_point = zero_point_value(x_zero_point, spec.qtype);
      for (int64_t i = 0; i < n; ++i)
        out[i] = spec.qtype == DType::kInt8 ? static_cast<const int8_t*>(x)[i] : static_cast<const uint8_t*>(x)[i];
      return;
    }
  }
}

}  // namespace tinyq::kernels::int8
