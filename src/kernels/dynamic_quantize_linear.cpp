// DynamicQuantizeLinear (opset 11): quantises float32 x to uint8 with a scale and zero point
// computed from x's range, which is widened to include 0:
//   y_scale = (max(0, max x) - min(0, min x)) / 255
//   y_zero_point = round_half_even(clamp(0 - min(0, min x) / y_scale, 0, 255))
//   y = saturate(round_half_even(x / y_scale) + y_zero_point)
// all in float32, as the ONNX reference and ONNX Runtime. When the range is empty (x all zero,
// or empty) the spec would divide by zero; tinyq follows ONNX Runtime: y_scale = 1,
// y_zero_point = 0, y = 0. NaN elements are skipped by the range scan and quantise to the zero
// point; an infinite range gives y_scale = inf and y = y_zero_point.
#include <cstdint>

#include "kernels/kernel.h"
#include "kernels/quant_params.h"

namespace tinyq::kernels {
namespace {

void dynamic_quantize_reference(int64_t n, const float* x, uint8_t* y, float* y_scale, uint8_t* y_zero_point) {
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  const float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  const int32_t zp = quantize_saturate(0.0f - lo / scale, 0, 0, 255);
  if (y)
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<uint8_t>(quantize_saturate(x[i] / scale, zp, 0, 255));
  *y_scale = scale;
  *y_zero_point = static_cast<uint8_t>(zp);
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_dynamic_quantize_linear(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({}));
  if (!ctx.has_input(0)) return ctx.error("needs input x");
  if (ctx.num_inputs() > 1) return ctx.error("takes 1 input");
  const TensorInfo& x = ctx.input(0);
  if (x.dtype != DType::kFloat32)
    return ctx.unsupported(std::string("x dtype ") + dtype_name(x.dtype) + " (only float32)");
  ctx.set_output(0, DType::kUInt8, x.shape);
  ctx.set_output(1, DType::kFloat32, {});
  ctx.set_output(2, DType::kUInt8, {});
  const int64_t n = shape_numel(x.shape);
  // Omitted outputs get no buffer: y is then not written, the scalars go to locals.
  const bool want_y = ctx.has_output(0), want_scale = ctx.has_output(1), want_zp = ctx.has_output(2);
  return make_kernel([n, want_y, want_scale, want_zp](const KernelArgs& a) {
    float scale;
    uint8_t zp;
    dynamic_quantize_reference(n, static_cast<const float*>(a.inputs[0]),
                               want_y ? static_cast<uint8_t*>(a.outputs[0]) : nullptr,
                               want_scale ? static_cast<float*>(a.outputs[1]) : &scale,
                               want_zp ? static_cast<uint8_t*>(a.outputs[2]) : &zp);
  });
}

}  // namespace tinyq::kernels
