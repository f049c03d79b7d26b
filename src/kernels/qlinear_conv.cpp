// QLinearConv (opset 10): y = requantize(conv(x - x_zp, w - w_zp) + B) with Conv's attributes;
// exact int32 accumulation (the int32 bias B, [M], is added exactly in int64), then
// int8_ref::requantize with multiplier x_scale * w_scale[m] / y_scale (float32). x, w and y are
// uint8 or int8 (y takes y_zero_point's type). Scales and zero points must be known at plan time
// and are validated then; w may be quantised per output channel, x and y per tensor.
// Unsupported: depth C/group * kernel volume > int8_ref::kMaxExactDepth.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "kernels/int8_ref.h"
#include "kernels/kernel.h"
#include "kernels/linalg_geometry.h"
#include "kernels/quant_params.h"

namespace tinyq::kernels {
namespace {

struct QLinearConvPlan {
  ConvGeometry g;
  int32_t x_zp = 0, y_zp = 0;
  std::vector<int32_t> w_zp;       // 1 or M entries
  std::vector<float> multipliers;  // 1 or M entries
  bool has_bias = false;
};

template <typename TX, typename TW, typename TY>
std::unique_ptr<Kernel> qlinear_conv_kernel(QLinearConvPlan p) {
  const size_t scratch = sizeof(int32_t) * static_cast<size_t>(shape_numel(p.g.out_shape));
  return make_kernel(
      [p = std::move(p)](const KernelArgs& a) {
        constexpr int32_t kMin = std::numeric_limits<TY>::min(), kMax = std::numeric_limits<TY>::max();
        int32_t* acc = static_cast<int32_t*>(a.scratch);
        int8_ref::conv_s32(p.g, static_cast<const TX*>(a.inputs[0]), p.x_zp, static_cast<const TW*>(a.inputs[3]),
                           int8_ref::ZeroPoints{p.w_zp.data(), p.w_zp.size() > 1 ? 1 : 0}, acc);
        const int32_t* bias = p.has_bias ? static_cast<const int32_t*>(a.inputs[8]) : nullptr;
        const int64_t plane = p.g.out_plane(), mult_stride = p.multipliers.size() > 1 ? 1 : 0;
        TY* y = static_cast<TY*>(a.outputs[0]);
        for (int64_t n = 0; n < p.g.batch; ++n)
          for (int64_t c = 0; c < p.g.c_out; ++c) {
            const int64_t b = bias ? bias[c] : 0;
            const float m = p.multipliers[c * mult_stride];
            const int64_t base = (n * p.g.c_out + c) * plane;
            for (int64_t i = 0; i < plane; ++i)
              y[base + i] = static_cast<TY>(
                  quantize_saturate(static_cast<float>(acc[base + i] + b) * m, p.y_zp, kMin, kMax));
          }
      },
      scratch);
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_qlinear_conv(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}));
  for (int i : {0, 1, 3, 4, 6})
    if (!ctx.has_input(i))
      return ctx.error("needs inputs x, x_scale, w, w_scale and y_scale (input " + std::to_string(i) + " is missing)");
  if (ctx.num_inputs() > 9) return ctx.error("takes at most 9 inputs");
  const DType tx = ctx.input(0).dtype, tw = ctx.input(3).dtype;
  const DType ty = ctx.has_input(7) ? ctx.input(7).dtype : tx;
  if (!is_quant_type(tx) || !is_quant_type(tw) || !is_quant_type(ty))
    return ctx.unsupported(std::string("x ") + dtype_name(tx) + ", w " + dtype_name(tw) + ", y " + dtype_name(ty) +
                           " (uint8 and int8 are supported)");
  QLinearConvPlan p;
  TINYQ_ASSIGN_OR_RETURN(p.g, read_conv_geometry(ctx, ctx.input(0).shape, ctx.input(3).shape));
  TINYQ_RETURN_IF_ERROR(int8_ref::check_depth(ctx, p.g.depth()));
  p.has_bias = ctx.has_input(8);
  if (p.has_bias) {
    const TensorInfo& b = ctx.input(8);
    if (b.dtype != DType::kInt32) return ctx.error(std::string("B has dtype ") + dtype_name(b.dtype) + ", expected int32");
    if (b.shape != Shape{p.g.c_out})
      return ctx.error("B " + shape_str(b.shape) + " must have shape [" + std::to_string(p.g.c_out) + "]");
  }
  TINYQ_ASSIGN_OR_RETURN(const QuantParams xq, read_quant_params(ctx, "x", 1, 2, tx, ctx.input(0).shape, 1));
  TINYQ_ASSIGN_OR_RETURN(const QuantParams wq, read_quant_params(ctx, "w", 4, 5, tw, ctx.input(3).shape, 0));
  TINYQ_ASSIGN_OR_RETURN(const QuantParams yq, read_quant_params(ctx, "y", 6, 7, ty, p.g.out_shape, 1));
  if (xq.per_axis() || yq.per_axis()) return ctx.unsupported("per-channel x or y quantisation (only w)");
  p.x_zp = xq.zero_point(0);
  p.y_zp = yq.zero_point(0);
  p.w_zp = wq.zero_points;
  for (size_t c = 0; c < wq.size(); ++c)
    p.multipliers.push_back(int8_ref::requant_multiplier(xq.scale(0), wq.scale(c), yq.scale(0)));
  ctx.set_output(0, ty, p.g.out_shape);
  if (shape_numel(p.g.out_shape) == 0) return make_kernel([](const KernelArgs&) {});
  return int8_ref::visit_int8_pair(tx, tw, [&](auto x, auto w) {
    using TX = decltype(x);
    using TW = decltype(w);
    return ty == DType::kUInt8 ? qlinear_conv_kernel<TX, TW, uint8_t>(std::move(p))
                               : qlinear_conv_kernel<TX, TW, int8_t>(std::move(p));
  });
}

}  // namespace tinyq::kernels
