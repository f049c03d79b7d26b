// QuantizeLinear (opsets 10-21): y = saturate(round_half_even(x / y_scale) + y_zero_point), per
// tensor or per axis (opset 13+), to uint8 or int8. x is float32 or int32.
// Scale and zero point may be known only at run time (e.g. DynamicQuantizeLinear's expanded
// form); when known at plan time they are validated then (scale finite and > 0). At run time a
// bad scale gives the saturated result of the division (inf -> qmin/qmax, NaN -> zero point).
// Unsupported: float8/int4/int16 outputs, blocked quantisation (block_size), float16 inputs.
#include <cstdint>
#include <string>

#include "kernels/kernel.h"
#include "kernels/quant_params.h"

namespace tinyq::kernels {
namespace {

template <typename TX, typename TQ>
void quantize_reference(const QuantLayout& l, const TX* x, const float* scale, const TQ* zp, TQ* y) {
  constexpr int32_t kMin = std::numeric_limits<TQ>::min(), kMax = std::numeric_limits<TQ>::max();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const float s = scale[c];
      const int32_t z = zp ? static_cast<int32_t>(zp[c]) : 0;
      const int64_t base = (o * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i)
        y[base + i] = static_cast<TQ>(quantize_saturate(static_cast<float>(x[base + i]) / s, z, kMin, kMax));
    }
}

template <typename TX, typename TQ>
std::unique_ptr<Kernel> quantize_kernel(const QuantLayout& l, bool has_zp) {
  return make_kernel([l, has_zp](const KernelArgs& a) {
    quantize_reference<TX, TQ>(l, static_cast<const TX*>(a.inputs[0]), static_cast<const float*>(a.inputs[1]),
                               has_zp ? static_cast<const TQ*>(a.inputs[2]) : nullptr, static_cast<TQ*>(a.outputs[0]));
  });
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_quantize_linear(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"axis", "saturate", "block_size", "output_dtype"}));
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("needs inputs x and y_scale");
  if (ctx.num_inputs() > 3) return ctx.error("takes at most 3 inputs");
  TINYQ_ASSIGN_OR_RETURN(const int64_t axis, read_qdq_axis(ctx));
  const TensorInfo& x = ctx.input(0);
  if (x.dtype != DType::kFloat32 && x.dtype != DType::kInt32)
    return ctx.unsupported(std::string("x dtype ") + dtype_name(x.dtype) + " (float32 and int32 are supported)");
  if (ctx.input(1).dtype != DType::kFloat32)
    return ctx.unsupported(std::string("y_scale dtype ") + dtype_name(ctx.input(1).dtype) + " (only float32)");

  // Output type: the zero point's, else opset 21's output_dtype, else uint8.
  const bool has_zp = ctx.has_input(2);
  const auto output_dtype = static_cast<DType>(ctx.attr_int("output_dtype", 0));
  DType qt = has_zp ? ctx.input(2).dtype : (output_dtype != DType::kUndefined ? output_dtype : DType::kUInt8);
  if (has_zp && output_dtype != DType::kUndefined && output_dtype != qt)
    return ctx.error(std::string("output_dtype ") + dtype_name(output_dtype) + " differs from y_zero_point's " +
                     dtype_name(qt));
  if (!is_quant_type(qt))
    return ctx.unsupported(std::string("output dtype ") + dtype_name(qt) + " (uint8 and int8 are supported)");

  TINYQ_ASSIGN_OR_RETURN(const QuantLayout layout, quant_layout(ctx, "y", 1, 2, x.shape, axis));
  if (ctx.input(1).value && (!has_zp || ctx.input(2).value)) {
    // Known now: validate the values (bad scales are load-time errors).
    TINYQ_ASSIGN_OR_RETURN(QuantParams q, make_quant_params(ctx, "y", *ctx.input(1).value,
                                                            has_zp ? ctx.input(2).value : nullptr, qt, x.shape, axis));
    (void)q;
  }
  ctx.set_output(0, qt, x.shape);
  if (shape_numel(x.shape) == 0) return make_kernel([](const KernelArgs&) {});
  const bool int_x = x.dtype == DType::kInt32;
  if (qt == DType::kUInt8)
    return int_x ? quantize_kernel<int32_t, uint8_t>(layout, has_zp) : quantize_kernel<float, uint8_t>(layout, has_zp);
  return int_x ? quantize_kernel<int32_t, int8_t>(layout, has_zp) : quantize_kernel<float, int8_t>(layout, has_zp);
}

}  // namespace tinyq::kernels
