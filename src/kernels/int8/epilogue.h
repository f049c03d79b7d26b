// How the fast int8 kernels turn an exact int32 sum into an output value, and the scalar form of
// that arithmetic, which the fused ops' reference kernels and the SIMD tails share. The SIMD code
// (engine-inl.h) performs the same float32 operations in the same order, never fused into FMAs,
// so every path gives bit-identical results.
#pragma once

#include <cstdint>
#include <limits>

#include "kernels/quant_params.h"

namespace tinyq::kernels::int8 {

enum class OutKind : int {
  kFloat,           // float(sum) * scale[c] (+ bias[c]) (+ residual) then the float clamp: the dynamic
                    // QOperator chain Cast -> Mul -> Add (-> Add) (-> Relu/Clip)
  kQuant,           // saturate(round_half_even(float(sum) * scale[c] (+ bias[c])) + y_zp) clamped to
                    // [q_lo, q_hi]: QLinearConv/QLinearMatMul requantisation with a fused Relu/Clip
                    // (bias: a float bias in output steps, bias / y_scale)
  kQuantDequant,    // kQuant followed by DequantizeLinear: float(q - y_zp) * y_scale
  kInt32,           // the corrected sum itself (activation row sums, tests)
};

struct Epilogue {
  OutKind kind = OutKind::kFloat;
  // sum = raw u8 x s8 sum + corr[c] - w_zp[c] * rowsum[p]; the zero-point and int32-bias terms.
  const int32_t* corr = nullptr;    // per channel; never null
  const int32_t* rowsum = nullptr;  // per output position (activation sums), or null when w_zp is 0
  const int32_t* w_zp = nullptr;    // per channel; read only with rowsum
  const float* scale = nullptr;     // per channel: x_scale * w_scale (kFloat) or the requant multiplier
  const float* bias = nullptr;      // per channel, or null (kQuant*: in units of y_scale)
  const float* residual = nullptr;  // kFloat: laid out like the output, or null
  bool clamp = false;               // kFloat
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  int32_t y_zp = 0, q_lo = 0, q_hi = 255;  // kQuant*: [q_lo, q_hi] within the output type's range
  bool y_signed = false;                   // kQuant: int8 output (else uint8)
  float y_scale = 1.0f;                    // kQuantDequant
  // kQuant*: every float(sum) * scale (+ bias) is finite and below 2^30 in magnitude (shown per
  // run from the sums' bound), so quantize_saturate's NaN and range guards can be skipped.
  bool bounded = false;
  // kFloat: when set, the range DynamicQuantizeLinear would scan over the output (min with 0,
  // max with 0, NaN skipped, any NaN/infinity) is gathered on the way: 3 vectors of lanes
  // (lo, hi, non-finite marker), laid out as ISA-width float arrays and reduced by reduce_range.
  float* range_acc = nullptr;
  // Whether the output can hold NaN (which the range's lo/hi skip), so the marker lanes must look
  // for it; infinities show in lo/hi anyway. False when scale and bias are finite and there is no
  // residual: float(sum) * scale + bias is then finite or +-inf.
  bool range_nan = true;
};

// Lanes of a range accumulator (the widest ISA's), and its reduction to {lo, hi, non-finite}.
inline constexpr int kRangeLanes = 16;
inline void reset_range(float* acc) {
  // Sixteen-byte stores: a zeroing loop here compiles to `rep stos`, whose start-up cost shows
  // in the 1-row MLPs.
  for (int i = 0; i < 3 * kRangeLanes; i += 4) {
    float* p = acc + i;
    p[0] = p[1] = p[2] = p[3] = 0.0f;
  }
}
inline void reduce_range(const float* acc, float* out3) {
  // Lanes start at +0 and only take strictly smaller (larger) values, so they hold no -0 or NaN
  // and any order gives the scan's result; the marker lanes are 0 or NaN.
  float lo = 0.0f, hi = 0.0f;
  bool bad = false;
  for (int i = 0; i < kRangeLanes; ++i) {
    if (acc[i] < lo) lo = acc[i];
    if (acc[kRangeLanes + i] > hi) hi = acc[kRangeLanes + i];
    bad |= acc[2 * kRangeLanes + i] != 0.0f;
  }
  out3[0] = lo;
  out3[1] = hi;
  // Infinite bounds count too: the markers are only kept when NaN is possible (range_nan).
  bad |= lo - lo != 0.0f || hi - hi != 0.0f;
  out3[2] = bad ? 1.0f : 0.0f;
}

// Keeps the compiler from contracting a product and a following sum into one FMA, which would
// round once where the unfused graph (separate Mul and Add ops) rounds twice.
inline float no_contract(float v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm("" : "+x"(v));
#else
  volatile float t = v;
  v = t;
#endif
  return v;
}

inline int32_t corrected_sum(int32_t raw, const Epilogue& e, int64_t c, int64_t p) {
  uint32_t s = static_cast<uint32_t>(raw) + static_cast<uint32_t>(e.corr[c]);  // wraps like SIMD adds
  if (e.rowsum) s -= static_cast<uint32_t>(e.w_zp[c]) * static_cast<uint32_t>(e.rowsum[p]);
  return static_cast<int32_t>(s);
}

// The float value of kFloat outputs; residual_value is read only when e.residual is set.
inline float finish_float(int32_t sum, const Epilogue& e, int64_t c, float residual_value) {
  float f = no_contract(static_cast<float>(sum) * e.scale[c]);
  if (e.bias) f = no_contract(f + e.bias[c]);
  if (e.residual) f = no_contract(f + residual_value);
  if (e.clamp) {
    f = f < e.lo ? e.lo : f;  // as Relu and Clip: NaN passes through
    f = f > e.hi ? e.hi : f;
  }
  return f;
}

inline int32_t finish_quant(int32_t sum, const Epilogue& e, int64_t c) {
  float f = no_contract(static_cast<float>(sum) * e.scale[c]);
  if (e.bias) f = no_contract(f + e.bias[c]);
  return quantize_saturate(f, e.y_zp, e.q_lo, e.q_hi);
}

inline float finish_dequant(int32_t q, const Epilogue& e) {
  return static_cast<float>(static_cast<int64_t>(q) - e.y_zp) * e.y_scale;
}

// Writes output element `i` (of type float, uint8, int8 or int32 by e.kind) for channel c and
// position p from the raw sum.
inline void finish_scalar(int32_t raw, const Epilogue& e, int64_t c, int64_t p, void* out, int64_t i) {
  const int32_t sum = corrected_sum(raw, e, c, p);
  switch (e.kind) {
    case OutKind::kFloat: {
      const float v = finish_float(sum, e, c, e.residual ? e.residual[i] : 0.0f);
      static_cast<float*>(out)[i] = v;
      if (e.range_acc) {  // lane 0 of the accumulator, with the SIMD lanes' rules
        float* r = e.range_acc;
        r[0] = v < r[0] ? v : r[0];
        r[kRangeLanes] = v > r[kRangeLanes] ? v : r[kRangeLanes];
        if (e.range_nan) r[2 * kRangeLanes] = r[2 * kRangeLanes] + no_contract(v * 0.0f);
      }
      break;
    }
    case OutKind::kQuant:
      if (e.y_signed) static_cast<int8_t*>(out)[i] = static_cast<int8_t>(finish_quant(sum, e, c));
      else static_cast<uint8_t*>(out)[i] = static_cast<uint8_t>(finish_quant(sum, e, c));
      break;
    case OutKind::kQuantDequant:
      static_cast<float*>(out)[i] = finish_dequant(finish_quant(sum, e, c), e);
      break;
    case OutKind::kInt32:
      static_cast<int32_t*>(out)[i] = sum;
      break;
  }
}

}  // namespace tinyq::kernels::int8
