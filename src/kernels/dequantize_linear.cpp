// DequantizeLinear (opsets 10-21): y = float(x - x_zero_point) * x_scale, per tensor or per axis
// (opset 13+), from uint8, int8 or int32 (whose zero point must be 0) to float32.
// The subtraction is exact in integers before the one float multiply, as the ONNX reference.
// Scale and zero point may be run-time values; plan-time values are validated.
// Unsupported: float8/int4/int16 inputs, float16 scales, blocked quantisation (block_size).
#include <cstdint>
#include <string>

#include "kernels/kernel.h"
#include "kernels/quant_params.h"

namespace tinyq::kernels {
namespace {

template <typename TQ>
void dequantize_reference(const QuantLayout& l, const TQ* x, const float* scale, const TQ* zp, float* y) {
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const float s = scale[c];
      const int64_t z = zp ? static_cast<int64_t>(zp[c]) : 0;
      const int64_t base = (o * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i)
        y[base + i] = static_cast<float>(static_cast<int64_t>(x[base + i]) - z) * s;
    }
}

template <typename TQ>
std::unique_ptr<Kernel> dequantize_kernel(const QuantLayout& l, bool has_zp) {
  return make_kernel([l, has_zp](const KernelArgs& a) {
    dequantize_reference<TQ>(l, static_cast<const TQ*>(a.inputs[0]), static_cast<const float*>(a.inputs[1]),
                             has_zp ? static_cast<const TQ*>(a.inputs[2]) : nullptr, static_cast<float*>(a.outputs[0]));
  });
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_dequantize_linear(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"axis", "block_size"}));
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("needs inputs x and x_scale");
  if (ctx.num_inputs() > 3) return ctx.error("takes at most 3 inputs");
  TINYQ_ASSIGN_OR_RETURN(const int64_t axis, read_qdq_axis(ctx));
  const TensorInfo& x = ctx.input(0);
  if (!is_quant_type(x.dtype) && x.dtype != DType::kInt32)
    return ctx.unsupported(std::string("x dtype ") + dtype_name(x.dtype) + " (uint8, int8 and int32 are supported)");
  if (ctx.input(1).dtype != DType::kFloat32)
    return ctx.unsupported(std::string("x_scale dtype ") + dtype_name(ctx.input(1).dtype) + " (only float32)");
  const bool has_zp = ctx.has_input(2);
  if (has_zp && ctx.input(2).dtype != x.dtype)
    return ctx.error(std::string("x_zero_point has dtype ") + dtype_name(ctx.input(2).dtype) + " but x is " +
                     dtype_name(x.dtype));
  TINYQ_ASSIGN_OR_RETURN(const QuantLayout layout, quant_layout(ctx, "x", 1, 2, x.shape, axis));
  if (ctx.input(1).value && (!has_zp || ctx.input(2).value)) {
    TINYQ_ASSIGN_OR_RETURN(QuantParams q, make_quant_params(ctx, "x", *ctx.input(1).value,
                                                            has_zp ? ctx.input(2).value : nullptr, x.dtype, x.shape, axis));
    (void)q;
  }
  ctx.set_output(0, DType::kFloat32, x.shape);
  if (shape_numel(x.shape) == 0) return make_kernel([](const KernelArgs&) {});
  switch (x.dtype) {
    case DType::kUInt8: return dequantize_kernel<uint8_t>(layout, has_zp);
    case DType::kInt8: return dequantize_kernel<int8_t>(layout, has_zp);
    default: return dequantize_kernel<int32_t>(layout, has_zp);
  }
}

}  // namespace tinyq::kernels
