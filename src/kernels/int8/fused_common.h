// Plan-time reading and run-time handling shared by the fused int8 ops (fused_conv.cpp,
// fused_gemm.cpp). Both ops take their inputs in the same order:
//   0 x            float32 (quantised by the kernel) or uint8/int8 (already quantised)
//   1 x_scale      float32 scalar: absent with a float x for DynamicQuantizeLinear's per-run
//                  range; present with a float x for QuantizeLinear; present with a quantised x
//   2 x_zero_point uint8/int8 scalar (optional; its type is the quantised type of a float x)
//   3 w            int8 weights packed by packing.h (constant)
//   4 w_scale      float32, 1 or C_out entries (constant)
//   5 w_zero_point int8, 1 or C_out entries (optional, constant)
//   6 bias         float32 [C_out], added after the scale (x_scale * w_scale); static ops may
//                  instead take int32 [C_out] in units of x_scale * w_scale, added to the sum
//                  (optional, constant)
//   7 y_scale / z  static ops: y_scale (float32 scalar, constant); dynamic ops: a float32 tensor
//                  shaped like the output added after the bias (a residual Add; optional)
//   8 y_zero_point static ops: uint8/int8 scalar (optional, constant; sets the output type)
//     / x_range    dynamic ops: float32 [3] {lo, hi, non-finite} of a float x, as the producer's
//                  range output gathered it (optional; saves the kernel its own scan of x)
// "Dynamic" ops are the float-output ones: their x may also be quantised with constant parameters
// (a static QDQ chain whose output stays float). Dynamic ops may have a second output, y_range:
// float32 [3], the range of y that the next op's DynamicQuantizeLinear would scan (see
// Epilogue::range_acc).
// A fused Relu/Clip is the node's output clamp (ir::Node::clamp_min/max, output_clamp.h); static
// ops with attribute tinyq_dequantize_output = 1 output float32 DequantizeLinear(y) instead of y.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/int8/engine.h"
#include "kernels/kernel.h"
#include "kernels/output_clamp.h"
#include "kernels/quant_params.h"

namespace tinyq::kernels::int8 {

inline constexpr const char* kDequantizeOutputAttr = "tinyq_dequantize_output";

enum InputIndex : int {
  kX = 0, kXScale = 1, kXZeroPoint = 2, kW = 3, kWScale = 4, kWZeroPoint = 5, kBias = 6,
  kYScaleOrResidual = 7, kYZeroPoint = 8, kXRange = 8,
};

// How the kernel obtains quantised activations.
enum class XMode {
  kDynamic,    // float x, DynamicQuantizeLinear: uint8 with scale and zero point from x's range
  kStatic,     // float x, QuantizeLinear with the constant x_scale / x_zero_point
  kQuantized,  // uint8/int8 x with x_scale / x_zero_point (read at run time)
};

struct XSpec {
  XMode mode = XMode::kDynamic;
  DType qtype = DType::kUInt8;  // the quantised type
  float scale = 1.0f;           // kStatic, and kQuantized when params_known
  int32_t zero_point = 0;       // kStatic, and kQuantized when params_known
  bool params_known = false;    // scale and zero point are plan-time constants (kStatic, or constant inputs)
};

// Weights and the per-channel constants of a fused op, read at plan time. The pointers refer to
// the constant input tensors (which outlive the kernel), so nothing is copied.
struct WeightSpec {
  const int8_t* packed = nullptr;
  const float* scale = nullptr;         // 1 (stride 0) or C_out entries
  int64_t scale_stride = 0;
  const int8_t* zero_point = nullptr;   // null, 1 (stride 0) or C_out entries
  int64_t zero_point_stride = 0;
  bool has_zero_point = false;          // any entry != 0
  const float* bias_f = nullptr;        // float bias: C_out entries, or null
  bool bias_finite = true;              // every bias_f entry is finite
  float max_scale = 0.0f;               // the largest scale entry
  const int32_t* bias_i = nullptr;      // static ops: C_out entries, or null
  float scale_at(int64_t c) const { return scale[c * scale_stride]; }
  int32_t zero_point_at(int64_t c) const { return zero_point ? zero_point[c * zero_point_stride] : 0; }
};

struct OutSpec {
  bool is_static = false;        // requantised (QLinear*) rather than float (dynamic)
  DType type = DType::kFloat32;  // output dtype
  float y_scale = 1.0f;
  int32_t y_zero_point = 0;
  int32_t q_lo = 0, q_hi = 255;  // static: output range with the fused clamp applied
  bool dequantize = false;       // static: output DequantizeLinear(y) as float32
  OutputClamp clamp;             // dynamic: float clamp
  bool has_residual = false;     // dynamic
  bool has_x_range = false;      // dynamic: input 8 given
  bool has_y_range = false;      // dynamic: output 1 wanted
};

// Reads inputs 0-2 and validates them.
Result<XSpec> read_x_spec(PrepareContext& ctx);
// Reads inputs 3-6 for c_out output channels; `packed_bytes` is the size the packing needs.
Result<WeightSpec> read_weight_spec(PrepareContext& ctx, bool is_static, int64_t c_out, size_t packed_bytes);
// Reads inputs 7-8 and the clamp / dequantize attributes; `out_shape` checks the residual.
Result<OutSpec> read_out_spec(PrepareContext& ctx, bool is_static, const Shape& out_shape);

// Per-run activation parameters in the engine's unsigned domain.
struct XRun {
  bool bounded = false;       // float x was quantised on the fast path (finite range, no NaN)
  float scale = 1.0f;
  int32_t zero_point = 0;     // in the operand's own type
  int32_t zero_point_u8 = 0;  // zero_point + 128 for int8 operands
  uint8_t xor_mask = 0;       // 0x80 for int8 operands
};

// The run parameters of x when XSpec::params_known (what prepare_x sets, without quantising).
XRun known_x_run(const XSpec& spec);

// quantize_saturate(v, 0, 0, 255) for the zero point, without its libm calls (this runs once per
// op and run, which matters for the 1-row MLPs): NaN -> 0, round half to even, clamp.
inline int32_t saturate_u8_round_half_even(float v) {
  if (!(v > 0.0f)) return 0;  // NaN, zero and negatives (which saturate to 0)
  if (!(v < 255.5f)) return 255;
  const int32_t t = static_cast<int32_t>(v);  // exact truncation: 0 <= v < 256
  const float frac = v - static_cast<float>(t);  // exact
  return t + ((frac > 0.5f || (frac == 0.5f && (t & 1))) ? 1 : 0);
}

// DynamicQuantizeLinear's scale and zero point for the range [lo, hi] (mirrors its reference).
inline void dynamic_params(float lo, float hi, float* scale, int32_t* zero_point) {
  *scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  *zero_point = saturate_u8_round_half_even(0.0f - lo / *scale);
}

// dynamic_params without its two dependent divisions in a row (the 1-row MLPs wait on them in
// every layer): the zero point is computed from 255 / (hi - lo), which does not wait for the
// scale, and checked. y = -lo * fl(255 / d) is within 4 * 2^-24 * |y| (four roundings) of the
// rounded quotient fl(-lo / scale), below 2^-13 for y in (0, 255); so when y is further than
// 2^-13 from a tie, both round (and saturate) to the same integer. Anything else (a tie, zero
// or full range, extreme or non-finite bounds) divides as dynamic_params does. lo <= 0 <= hi.
inline void dynamic_params_fast(float lo, float hi, float* scale, int32_t* zero_point) {
  const float d = hi - lo;
  if (lo == 0.0f && d > 0.0f) {  // 0 - 0 / scale: every ReLU output's range
    *scale = d / 255.0f;
    *zero_point = 0;
    return;
  }
  if (d >= 0x1p-100f && d <= 0x1p100f) {
    *scale = d / 255.0f;
    const float y = (0.0f - lo) * (255.0f / d);
    if (y > 0.0f && y < 255.0f) {
      const int32_t t = static_cast<int32_t>(y);   // exact truncation
      const float frac = y - static_cast<float>(t);  // exact
      if (frac < 0.5f - 0x1p-13f) { *zero_point = t; return; }
      if (frac > 0.5f + 0x1p-13f) { *zero_point = t + 1; return; }
    }
  }
  dynamic_params(lo, hi, scale, zero_point);
}

// The run parameters of a dynamic op's float x (XMode::kDynamic), as prepare_x sets them, without
// quantising: DynamicQuantizeLinear's scale and zero point for x's range (x_range, or a scan).
void dynamic_x_run(Isa isa, const float* x, const float* x_range, int64_t n, XRun* run);

// Quantises (or adopts) x for one run. For float x, writes n unsigned-domain bytes to `buf` and
// returns buf; for quantised x returns x itself (then xor_mask says how to read it).
// x_range: input 8 of a dynamic op, or null to scan x.
const uint8_t* prepare_x(Isa isa, const XSpec& spec, const void* x, const void* x_scale, const void* x_zero_point,
                         const float* x_range, int64_t n, uint8_t* buf, XRun* run);

// Per-run channel arrays of the epilogue: corr (zero-point terms and int32 bias), scale, the
// weights' zero points widened to int32, and (static ops with a float bias) bias / y_scale.
// colsum[c] is the sum of channel c's weights (null: 0); depth the number of real products per
// output.
struct ChannelArrays {
  int32_t* corr;
  float* scale;
  int32_t* w_zp;
  float* bias;
};
// Returns whether every float(sum) * scale is provably below 2^29 in magnitude (Epilogue::bounded).
bool fill_channel_params(const WeightSpec& w, const OutSpec& o, const XRun& x, const int32_t* colsum, int64_t c_out,
                         int64_t depth, const ChannelArrays& out);
// Bytes of scratch for ChannelArrays of c_out channels (and carve_channel_arrays to place them).
size_t channel_arrays_bytes(int64_t c_out);
ChannelArrays carve_channel_arrays(void* at, int64_t c_out);

// An Epilogue for the op's output, pointing at the per-run arrays (w_zp only with zero points).
Epilogue make_epilogue(const WeightSpec& w, const OutSpec& o, const ChannelArrays& ch, const float* residual);
// The same, built once at plan time; per run a copy gets the run's pointers (cheaper for 1-row MLPs).
inline Epilogue epilogue_for_run(const Epilogue& base, const WeightSpec& w, const ChannelArrays& ch,
                                 const float* residual) {
  Epilogue e = base;
  e.corr = ch.corr;
  e.scale = ch.scale;
  e.w_zp = w.has_zero_point ? ch.w_zp : nullptr;
  if (e.kind == OutKind::kFloat) e.residual = residual;
  else e.bias = w.bias_f ? ch.bias : nullptr;  // a static float bias: bias / y_scale, per run
  return e;
}

// The reference range output: DynamicQuantizeLinear's scan of y as {lo, hi, non-finite}.
void scan_range(const float* y, int64_t n, float* out3);

// Scalar reference of the activation step: x as its quantised type's values, widened to int32
// (float x quantised exactly as DynamicQuantizeLinear / QuantizeLinear do).
void reference_x(const XSpec& spec, const void* x, const void* x_scale, const void* x_zero_point, int64_t n,
                 int32_t* out, XRun* run);

}  // namespace tinyq::kernels::int8
