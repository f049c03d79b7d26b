// Exact integer reference arithmetic of the int8 ops, shared by their scalar reference kernels
// and by the fast int8 kernels' tests: int32 accumulation of (q - zero_point) products with no
// intermediate saturation, and QLinear* requantisation.
//
// Contracts:
//  - Operands are uint8 or int8 in any mix. A product term is at most 255 * 255 in magnitude, so
//    a sum of up to kMaxExactDepth terms is exact in int32; factories call check_depth.
//  - requantize() is the reference requantisation: float(acc) * multiplier in float32 (the
//    multiplier computed in float32 as in_scale * w_scale / out_scale, as ONNX Runtime and
//    XNNPACK's fp32 requantisation do), round half to even, add the zero point, saturate.
#pragma once

#include <cstdint>

#include "kernels/kernel.h"
#include "kernels/linalg_geometry.h"
#include "kernels/quant_params.h"

namespace tinyq::kernels::int8_ref {

// floor((2^31 - 1) / (255 * 255)).
inline constexpr int64_t kMaxExactDepth = 33025;

// Fails (unsupported, naming the node) when `depth` products per output could overflow int32.
Status check_depth(const PrepareContext& ctx, int64_t depth);

// Zero points along one dimension: values[i * stride], stride 0 for one shared value.
struct ZeroPoints {
  const int32_t* values = nullptr;
  int64_t stride = 0;
  int32_t operator[](int64_t i) const { return values[i * stride]; }
};

// Widens `count` run-time zero points of type T (nullptr: absent, i.e. 0; pass nullptr rather
// than reading KernelArgs::inputs past the node's input count) into dst, which holds
// max(count, 1) entries, and returns them as ZeroPoints (stride 0 when there is one value).
template <typename T>
ZeroPoints load_zero_points(const void* zp, int64_t count, int32_t* dst) {
  if (!zp) {
    dst[0] = 0;
    return {dst, 0};
  }
  for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<const T*>(zp)[i];
  return {dst, count > 1 ? 1 : 0};
}

// The multiplier of QLinearConv/QLinearMatMul output channel c, in float32.
inline float requant_multiplier(float in_scale, float w_scale, float out_scale) {
  return in_scale * w_scale / out_scale;
}

inline int32_t requantize(int32_t acc, float multiplier, int32_t zero_point, int32_t qmin, int32_t qmax) {
  return quantize_saturate(static_cast<float>(acc) * multiplier, zero_point, qmin, qmax);
}

// c[i*ldc + j] = sum_k (a[i*lda + k] - a_zp[i]) * (b[k*ldb + j] - b_zp[j]) for i < m, j < n.
template <typename TA, typename TB>
void gemm_s32(int64_t m, int64_t n, int64_t k, const TA* a, int64_t lda, ZeroPoints a_zp, const TB* b, int64_t ldb,
              ZeroPoints b_zp, int32_t* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    const int32_t za = a_zp[i];
    for (int64_t j = 0; j < n; ++j) {
      const int32_t zb = b_zp[j];
      int32_t acc = 0;
      for (int64_t kk = 0; kk < k; ++kk)
        acc += (static_cast<int32_t>(a[i * lda + kk]) - za) * (static_cast<int32_t>(b[kk * ldb + j]) - zb);
      c[i * ldc + j] = acc;
    }
  }
}

// y[n, oc, o...] = sum over the group's input channels and the kernel window of
// (x - x_zp) * (w[oc] - w_zp[oc]). Padding contributes nothing (it stands for x_zp, real 0).
template <typename TX, typename TW>
void conv_s32(const ConvGeometry& g, const TX* x, int32_t x_zp, const TW* w, ZeroPoints w_zp, int32_t* y) {
  const int64_t cin_g = g.cin_per_group(), cout_g = g.cout_per_group();
  const int64_t in_sz = g.in_plane(), out_sz = g.out_plane(), k_sz = g.kernel_volume();
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oc = 0; oc < g.c_out; ++oc) {
      const int64_t grp = oc / cout_g;
      const int32_t zw = w_zp[oc];
      int32_t* yc = y + (n * g.c_out + oc) * out_sz;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            int32_t acc = 0;
            for (int64_t ci = 0; ci < cin_g; ++ci) {
              const TX* xc = x + (n * g.c_in + grp * cin_g + ci) * in_sz;
              const TW* wc = w + (oc * cin_g + ci) * k_sz;
              for (int64_t kd = 0; kd < g.k[0]; ++kd) {
                const int64_t id = od * g.s[0] - g.pb[0] + kd * g.d[0];
                if (id < 0 || id >= g.in[0]) continue;
                for (int64_t kh = 0; kh < g.k[1]; ++kh) {
                  const int64_t ih = oh * g.s[1] - g.pb[1] + kh * g.d[1];
                  if (ih < 0 || ih >= g.in[1]) continue;
                  for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                    const int64_t iw = ow * g.s[2] - g.pb[2] + kw * g.d[2];
                    if (iw < 0 || iw >= g.in[2]) continue;
                    acc += (static_cast<int32_t>(xc[(id * g.in[1] + ih) * g.in[2] + iw]) - x_zp) *
                           (static_cast<int32_t>(wc[(kd * g.k[1] + kh) * g.k[2] + kw]) - zw);
                  }
                }
              }
            }
            yc[(od * g.out[1] + oh) * g.out[2] + ow] = acc;
          }
    }
}

// Calls f(TypeTag-like values) with (TA, TB) the C++ types of two uint8/int8 dtypes, e.g.
//   visit_int8_pair(a, b, [&](auto ta, auto tb) { using TA = decltype(ta); ... });
// where ta/tb are value-initialised uint8_t/int8_t. Returns f's result; the caller checked the
// dtypes with is_quant_type.
template <typename F>
decltype(auto) visit_int8_pair(DType a, DType b, F&& f) {
  if (a == DType::kUInt8) {
    if (b == DType::kUInt8) return f(uint8_t{}, uint8_t{});
    return f(uint8_t{}, int8_t{});
  }
  if (b == DType::kUInt8) return f(int8_t{}, uint8_t{});
  return f(int8_t{}, int8_t{});
}

}  // namespace tinyq::kernels::int8_ref
