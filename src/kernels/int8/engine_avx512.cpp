// The int8 engine for AVX-512 with VNNI: vpdpbusd adds four u8 x s8 products into each int32
// lane exactly (the non-saturating form; vpdpbusds is never used).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/int8/engine.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define TINYQ_INT8_AVX512 1
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")
// GCC 12 flags _mm512_undefined_ps() inside its own intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace tinyq::kernels::int8::avx512 {
namespace {

inline int32_t load32(const void* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

// A barrier so that a product is rounded before the following sum (see epilogue.h).
inline __m512 opaque(__m512 v) {
  asm("" : "+v"(v));
  return v;
}

struct Ops {
  static constexpr int L = 16;
  using I = __m512i;
  using F = __m512;
  using XP = __m512i;
  using WP = __m512i;

  static __mmask16 mask(int count) { return count >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << count) - 1u); }

  static I zeroi() { return _mm512_setzero_si512(); }
  static F zerof() { return _mm512_setzero_ps(); }
  static I set1i(int32_t v) { return _mm512_set1_epi32(v); }
  static F set1f(float v) { return _mm512_set1_ps(v); }
  static I loadu(const void* p) { return _mm512_loadu_si512(p); }
  static I loadi(const int32_t* p, int count) {
    return count >= L ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi32(mask(count), p);
  }
  static F loadf(const float* p, int count) {
    return count >= L ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mask(count), p);
  }

  static I iota() { return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }
  // 32-bit words at base + offsets[i] for the first count lanes (0 elsewhere, not read).
  static I gather(const void* base, I offsets, int count) {
    return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), mask(count), offsets, base, 1);
  }
  static XP prep_x(I v) { return v; }
  static WP prep_wb(const int8_t* w) { return _mm512_set1_epi32(load32(w)); }
  static XP prep_xb(const uint8_t* a) { return _mm512_set1_epi32(load32(a)); }
  static WP prep_wv(I w) { return w; }
  static I dot(I acc, XP x, WP w) { return _mm512_dpbusd_epi32(acc, x, w); }

  static I addi(I a, I b) { return _mm512_add_epi32(a, b); }
  static I subi(I a, I b) { return _mm512_sub_epi32(a, b); }
  static I mullo(I a, I b) { return _mm512_mullo_epi32(a, b); }
  static F cvt(I v) { return _mm512_cvtepi32_ps(v); }
  static F mulf(F a, F b) { return opaque(_mm512_mul_ps(a, b)); }
  static F addf(F a, F b) { return opaque(_mm512_add_ps(a, b)); }
  static F divf(F a, F b) { return _mm512_div_ps(a, b); }
  // v < keep ? v : keep, and v > keep ? v : keep: NaN in v keeps `keep`, as the scalar scans do.
  static F zero_tail(F v, int count) { return count >= L ? v : _mm512_maskz_mov_ps(mask(count), v); }
  static float hmin(F v) { return _mm512_reduce_min_ps(v); }
  static float hmax(F v) { return _mm512_reduce_max_ps(v); }
  static bool any_nan(F v) { return _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) != 0; }
  static F min_keep(F v, F keep) { return _mm512_min_ps(v, keep); }
  static F max_keep(F v, F keep) { return _mm512_max_ps(v, keep); }
  // As Relu/Clip: f < lo -> lo, then > hi -> hi; NaN passes through. maxps(a, b) is a > b ? a : b, so max(lo, f) is exactly f < lo ? lo : f (NaN and -0 included).
  static F clamp(F f, F lo, F hi) { return _mm512_min_ps(hi, _mm512_max_ps(lo, f)); }
  // quantize_saturate(v, zp, lo, hi): round half to even, NaN -> 0, clamp to +-2^30, add zp, clamp.
  static I quant(F v, int32_t zp, int32_t lo, int32_t hi) {
    F r = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(r, r, _CMP_ORD_Q), r);
    const F lim = _mm512_set1_ps(1073741824.0f);
    r = _mm512_min_ps(_mm512_max_ps(r, _mm512_sub_ps(_mm512_setzero_ps(), lim)), lim);
    I q = _mm512_add_epi32(_mm512_cvttps_epi32(r), _mm512_set1_epi32(zp));
    return _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(lo)), _mm512_set1_epi32(hi));
  }

  // The same for |v| < 2^30 (no NaN): one rounding conversion, add, clamp.
  static I quant_bounded(F v, I zp, I lo, I hi) {
    const I q = _mm512_add_epi32(_mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zp);
    return _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);
  }

  static void storef(float* p, F v, int count) {
    if (count >= L) _mm512_storeu_ps(p, v);
    else _mm512_mask_storeu_ps(p, mask(count), v);
  }
  static void storei(int32_t* p, I v, int count) {
    if (count >= L) _mm512_storeu_si512(p, v);
    else _mm512_mask_storeu_epi32(p, mask(count), v);
  }
  // Values are already within the output type's range, so truncation to bytes is exact.
  static void storeq(uint8_t* p, I v, int count, bool /*is_signed*/) {
    _mm512_mask_cvtepi32_storeu_epi8(p, mask(count), v);
  }
};

// Rows per single-channel block for 1..4 pixel vectors (accumulators <= 24 of 32 registers).
constexpr int kRowsFor[4] = {16, 12, 8, 6};
constexpr int kMaxOcb = 8;
constexpr int kMaxXv = 4;
constexpr int kGemmRows1 = 8;
constexpr int kGemmRows2 = 8;
constexpr int kGemmRows4 = 5;

#include "kernels/int8/engine-inl.h"

}  // namespace

void conv_image(const ConvPlan& p, const uint8_t* stage, const int8_t* packed, int64_t n, int64_t g,
                const Epilogue& e, void* out) {
  conv_image_impl(p, stage, packed, n, g, e, out);
}
void gemm(const uint8_t* a, int64_t lda, int64_t rows, const int8_t* packed, int64_t k, int64_t n_cols,
          const Epilogue& e, void* out) {
  gemm_impl(a, lda, rows, packed, k, n_cols, e, out);
}
void quantize_u8(const float* x, int64_t n, float scale, int32_t zp, bool bounded, uint8_t* out) {
  quantize_impl(x, n, scale, zp, bounded, out);
}
void range_f32(const float* x, int64_t n, float* lo, float* hi, bool* has_nonfinite) { range_impl(x, n, lo, hi, has_nonfinite); }

namespace {

inline __mmask64 byte_mask(int64_t n) { return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1; }

// Interleaves 4 vectors of 64 bytes (pixels) into 256 bytes of quads; stores the first n pixels.
inline void store_quads(__m512i s0, __m512i s1, __m512i s2, __m512i s3, int64_t n, uint8_t* dst) {
  const __m512i a_lo = _mm512_unpacklo_epi8(s0, s1), a_hi = _mm512_unpackhi_epi8(s0, s1);
  const __m512i b_lo = _mm512_unpacklo_epi8(s2, s3), b_hi = _mm512_unpackhi_epi8(s2, s3);
  // Per 128-bit lane k: q0 holds pixels 16k..16k+3, q1 16k+4.., q2 16k+8.., q3 16k+12..
  const __m512i q0 = _mm512_unpacklo_epi16(a_lo, b_lo), q1 = _mm512_unpackhi_epi16(a_lo, b_lo);
  const __m512i q2 = _mm512_unpacklo_epi16(a_hi, b_hi), q3 = _mm512_unpackhi_epi16(a_hi, b_hi);
  // Transpose the 4x4 grid of 128-bit lanes so that output k holds lane k of q0..q3.
  const __m512i t0 = _mm512_shuffle_i64x2(q0, q1, 0x44), t1 = _mm512_shuffle_i64x2(q2, q3, 0x44);
  const __m512i t2 = _mm512_shuffle_i64x2(q0, q1, 0xEE), t3 = _mm512_shuffle_i64x2(q2, q3, 0xEE);
  const __m512i out[4] = {_mm512_shuffle_i64x2(t0, t1, 0x88), _mm512_shuffle_i64x2(t0, t1, 0xDD),
                          _mm512_shuffle_i64x2(t2, t3, 0x88), _mm512_shuffle_i64x2(t2, t3, 0xDD)};
  for (int k = 0; k < 4; ++k) {
    const int64_t left = n - 16 * k;
    if (left <= 0) break;
    if (left >= 16) _mm512_storeu_si512(dst + 64 * k, out[k]);
    else _mm512_mask_storeu_epi8(dst + 64 * k, byte_mask(left * 4), out[k]);
  }
}

}  // namespace

namespace {

inline void fill_bytes(uint8_t* dst, int64_t n, __m512i fill) {
  for (; n >= 64; n -= 64, dst += 64) _mm512_storeu_si512(dst, fill);
  if (n > 0) _mm512_mask_storeu_epi8(dst, byte_mask(n), fill);
}

}  // namespace

void stage_plane(const ConvPlan& p, const uint8_t* image, int64_t plane, uint8_t xor_mask, uint8_t fill,
                 const uint8_t* fill_row, uint8_t* dst) {
  const ConvShape& s = p.s;
  const int64_t in_plane = s.in_h * s.in_w;
  const __m512i fill_v = _mm512_set1_epi8(static_cast<char>(fill));
  const ConvPlan::Phase* ph = p.phases.data();
  // Stride 2: the phase that starts one column earlier holds the "even" bytes from there on.
  const bool a_first = s.stride_w == 1 || !ph[1].count || (ph[0].count && ph[0].src_col < ph[1].src_col);
  const ConvPlan::Phase& even = a_first ? ph[0] : ph[1];
  const ConvPlan::Phase& odd = a_first ? ph[1 % s.stride_w] : ph[0];
  for (int64_t r = 0; r < p.stage_rows; ++r, dst += p.row_bytes) {
    const uint8_t* src[4];
    for (int64_t j = 0; j < 4; ++j) {
      int64_t ch, row;
      if (p.mode == QuadMode::kChannels) {
        ch = plane * 4 + j;
        row = r - s.pad_top;
      } else {
        const int64_t kh = plane * 4 + j;
        ch = kh < s.k_h ? 0 : s.cin_g;
        row = r * s.stride_h + kh * s.dil_h - s.pad_top;
      }
      src[j] = (ch < s.cin_g && row >= 0 && row < s.in_h ? image + ch * in_plane + row * s.in_w : fill_row) +
               even.src_col;
    }
    for (int64_t f = 0; f < s.stride_w; ++f) {
      fill_bytes(dst + f * p.plen * 4, ph[f].pad_before, fill_v);
      fill_bytes(dst + ph[f].dst + ph[f].count * 4, ph[f].pad_after, fill_v);
    }
    if (!even.count) continue;
    if (s.stride_w == 1) stage_s1(src, even.count, xor_mask, dst + even.dst);
    else stage_s2(src, even.count, odd.count, xor_mask, dst + even.dst, dst + odd.dst);
  }
}

void stage_s1(const uint8_t* const src[4], int64_t n, uint8_t xor_mask, uint8_t* dst) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(xor_mask));
  for (int64_t i = 0; i < n; i += 64) {
    const __mmask64 m = byte_mask(n - i);
    __m512i v[4];
    for (int j = 0; j < 4; ++j) v[j] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src[j] + i), flip);
    store_quads(v[0], v[1], v[2], v[3], n - i, dst + i * 4);
  }
}

void stage_s2(const uint8_t* const src[4], int64_t n_even, int64_t n_odd, uint8_t xor_mask, uint8_t* dst_even,
              uint8_t* dst_odd) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(xor_mask));
  const __m512i low = _mm512_set1_epi16(0x00FF);
  // packus interleaves 8-byte halves of its two sources per 128-bit lane; this restores order.
  const __m512i order = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
  const int64_t n = n_even > n_odd ? n_even : n_odd;
  for (int64_t i = 0; i < n; i += 64) {
    // Source bytes used from 2i on: evens up to 2(n_even-1), odds up to 2(n_odd-1)+1.
    const int64_t need_even = n_even - i > 0 ? 2 * (n_even - i) - 1 : 0;
    const int64_t need_odd = n_odd - i > 0 ? 2 * (n_odd - i) : 0;
    const int64_t need = need_even > need_odd ? need_even : need_odd;
    const __mmask64 m0 = byte_mask(need), m1 = byte_mask(need - 64 > 0 ? need - 64 : 0);
    __m512i e[4], o[4];
    for (int j = 0; j < 4; ++j) {
      const __m512i lo = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m0, src[j] + 2 * i), flip);
      const __m512i hi = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m1, src[j] + 2 * i + 64), flip);
      e[j] = _mm512_permutexvar_epi64(
          order, _mm512_packus_epi16(_mm512_and_si512(lo, low), _mm512_and_si512(hi, low)));
      o[j] = _mm512_permutexvar_epi64(order, _mm512_packus_epi16(_mm512_srli_epi16(lo, 8), _mm512_srli_epi16(hi, 8)));
    }
    if (n_even - i > 0) store_quads(e[0], e[1], e[2], e[3], n_even - i, dst_even + i * 4);
    if (n_odd - i > 0) store_quads(o[0], o[1], o[2], o[3], n_odd - i, dst_odd + i * 4);
  }
}

}  // namespace tinyq::kernels::int8::avx512

#pragma GCC pop_options

#else  // not x86-64 GCC/Clang: never selected (best_isa() is kScalar), present for the linker.
namespace tinyq::kernels::int8::avx512 {
void conv_image(const ConvPlan&, const uint8_t*, const int8_t*, int64_t, int64_t, const Epilogue&, void*) {}
void gemm(const uint8_t*, int64_t, int64_t, const int8_t*, int64_t, int64_t, const Epilogue&, void*) {}
void quantize_u8(const float*, int64_t, float, int32_t, bool, uint8_t*) {}
void range_f32(const float*, int64_t, float*, float*, bool*) {}
void stage_plane(const ConvPlan&, const uint8_t*, int64_t, uint8_t, uint8_t, const uint8_t*, uint8_t*) {}
void stage_s1(const uint8_t* const[4], int64_t, uint8_t, uint8_t*) {}
void stage_s2(const uint8_t* const[4], int64_t, int64_t, uint8_t, uint8_t*, uint8_t*) {}
}  // namespace tinyq::kernels::int8::avx512
#endif
