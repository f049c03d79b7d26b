// The int8 engine for AVX-512 with VNNI: vpdpbusd adds four u8 x s8 products into each int32
// lane exactly (the non-saturating form; vpdpbusds is never used).
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cstdint>
#include <cstring>

#include "kernels/int8/engine.h"
#include "kernels/int8/fused_common.h"

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
  // Rows blocks per epilogue form (with_form in engine-inl.h).
  static constexpr bool kFormBlocks = true;
  // Rows blocks' full-range stores per row (rows_block_finish_k).
  static constexpr bool kRowStores = true;
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

  // Quantisation by the reciprocal (quantize_impl): round half to even as a float, and whether
  // any lane of y lies more than `thr` from its rounded value rd (|y - rd| > thr, NaN excluded).
  static F round_even(F v) { return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static I trunc_i(F v) { return _mm512_cvttps_epi32(v); }  // |v| < 2^31
  static bool any_far(F y, F rd, F thr) {
    const F d = _mm512_abs_ps(_mm512_sub_ps(y, rd));
    return _mm512_cmp_ps_mask(d, thr, _CMP_GT_OQ) != 0;
  }
  // The bounded form of quantize_impl: z = v * r + d in one rounding; any_tie4 says whether any
  // lane of four vectors of bits(z) has (b & 0x1FFC) == 0 (a test into a mask register per
  // vector); shift13 is (b - k) >> 13, arithmetic.
  static F mul_add(F v, F r, F d) { return _mm512_fmadd_ps(v, r, d); }
  static I bits(F v) { return _mm512_castps_si512(v); }
  static bool any_tie4(I a, I b, I c, I d) {
    const I m = _mm512_set1_epi32(0x1FFC);
    return (_mm512_testn_epi32_mask(a, m) | _mm512_testn_epi32_mask(b, m) | _mm512_testn_epi32_mask(c, m) |
            _mm512_testn_epi32_mask(d, m)) != 0;
  }
  static I shift13(I b, I k) { return _mm512_srai_epi32(_mm512_sub_epi32(b, k), 13); }
  // Four vectors of int32 to 4 * L bytes, each saturated to [0, 255].
  static I pack_u8x4(I a, I b, I c, I d) {
    const __m512i bytes = _mm512_packus_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_epi32(order, bytes);
  }
  // Four vectors of int32 (channels j = 0..3 of the same L pixels) to the quad layout, pixel i
  // at bytes 4i..4i+3, each saturated to [0, 255]: the packs leave every 128-bit lane holding
  // four pixels as [a0..a3 b0..b3 c0..c3 d0..d3], which one in-lane shuffle transposes.
  static void store_quads(uint8_t* p, I a, I b, I c, I d) {
    const __m512i bytes = _mm512_packus_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
    const __m512i order = _mm512_set4_epi32(0x0F0B0703, 0x0E0A0602, 0x0D090501, 0x0C080400);
    _mm512_storeu_si512(p, _mm512_shuffle_epi8(bytes, order));
  }
  static void store_u8x4(uint8_t* p, I a, I b, I c, I d) { _mm512_storeu_si512(p, pack_u8x4(a, b, c, d)); }
  // prep_xb of bytes 4q..4q+3 of a vector (pack_u8x4's), without a trip through memory.
  static XP quad_xb(I bytes, int q) { return _mm512_permutexvar_epi32(_mm512_set1_epi32(q), bytes); }

  static void storef(float* p, F v, int count) {
    if (count >= L) _mm512_storeu_ps(p, v);
    else _mm512_mask_storeu_ps(p, mask(count), v);
  }
  static void storei(int32_t* p, I v, int count) {
    if (count >= L) _mm512_storeu_si512(p, v);
    else _mm512_mask_storeu_epi32(p, mask(count), v);
  }
  // store_full for XV consecutive vectors (the last with `last_count` lanes): the rounded values
  // are saturated to int16, the zero point (within [-128, 127]) is added with int16 saturation
  // and the sums saturated to int8, put back in order and stored at once. That is store_full's
  // clamp of round(f) + zp: below |round(f)| = 32767 - 128 nothing saturates before the last
  // pack, and beyond it both give -128 or 127. (Adding zp after the first pack takes two adds
  // per four vectors instead of four.)
  template <int XV>
  static void store_full_row(uint8_t* p, const F (&f)[XV], I zp, int last_count, bool is_signed) {
    static_assert(XV >= 1 && XV <= 4);
    I q[4];
    for (int v = 0; v < 4; ++v)
      q[v] = v < XV ? _mm512_cvt_roundps_epi32(f[v], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC) : q[XV - 1];
    const __m512i zp16 = _mm512_packs_epi32(zp, zp);
    __m512i b = _mm512_packs_epi16(_mm512_adds_epi16(_mm512_packs_epi32(q[0], q[1]), zp16),
                                   _mm512_adds_epi16(_mm512_packs_epi32(q[2], q[3]), zp16));
    b = _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), b);
    if (!is_signed) b = _mm512_xor_si512(b, _mm512_set1_epi8(static_cast<char>(0x80)));
    const int bytes = (XV - 1) * L + last_count;
    _mm512_mask_storeu_epi8(p, bytes >= 64 ? ~__mmask64(0) : (__mmask64(1) << bytes) - 1, b);
  }

  // Values are already within the output type's range, so truncation to bytes is exact.
  static void storeq(uint8_t* p, I v, int count, bool /*is_signed*/) {
    _mm512_mask_cvtepi32_storeu_epi8(p, mask(count), v);
  }
  // round_half_even(f) + zero point saturated to the output type (|f| < 2^30): int8 saturates
  // with vpmovsdb; uint8 is computed 128 lower, saturated as int8 and moved back with an xor.
  static I full_zp(int32_t zp, bool is_signed) { return _mm512_set1_epi32(is_signed ? zp : zp - 128); }
  static void store_full(uint8_t* p, F f, I zp, int count, bool is_signed) {
    const I q = _mm512_add_epi32(_mm512_cvt_roundps_epi32(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zp);
    __m128i b = _mm512_cvtsepi32_epi8(q);
    if (!is_signed) b = _mm_xor_si128(b, _mm_set1_epi8(static_cast<char>(0x80)));
    if (count >= L) _mm_storeu_si128(reinterpret_cast<__m128i*>(p), b);
    else _mm_mask_storeu_epi8(p, mask(count), b);
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
#include "kernels/int8/engine_quant-inl.h"
#include "kernels/int8/engine_row-inl.h"

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
void quantize_quads(const float* x, int64_t channels, int64_t pixels, int64_t plen, float scale, int32_t zp,
                    bool bounded, uint8_t* stage, int64_t plane_bytes) {
  quantize_quads_impl(x, channels, pixels, plen, scale, zp, bounded, stage, plane_bytes);
}
void range_f32(const float* x, int64_t n, float* lo, float* hi, bool* has_nonfinite) { range_impl(x, n, lo, hi, has_nonfinite); }
bool dyn_row(const DynRow& r, const DynRowIo& io) { return dyn_row_impl(r, io); }
void reset_range(float* acc) {
  for (int i = 0; i < 3 * kRangeLanes; i += Ops::L) Ops::storef(acc + i, Ops::zerof(), Ops::L);
}

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


void row_sums(const int8_t* w, int64_t rows, int64_t len, int32_t* out) {
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t r = 0; r < rows; ++r, w += len) {
    __m512i acc = _mm512_setzero_si512();  // four 1 x w products per lane: exact
    for (int64_t i = 0; i < len; i += 64)
      acc = _mm512_dpbusd_epi32(acc, ones, _mm512_maskz_loadu_epi8(byte_mask(len - i), w + i));
    out[r] = _mm512_reduce_add_epi32(acc);
  }
}

// ---- Direct convolution: one input channel per group (conv_image_direct in engine.h) ----

bool has_vbmi() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vbmi");
}

// vpermb needs VBMI, which some VNNI CPUs lack: only this section is compiled for it, and
// make_conv_plan only makes direct plans where has_vbmi().
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi")

namespace {

// Where the windows of one image plane come from. Lane i of a window holds the input bytes of its
// pixel's kernel row: columns x0 + i*stride_w + k*dil_w for k < k_w (byte k of the lane); the
// other bytes repeat column x0 + i*stride_w and meet zero weights.
struct DirectPlane {
  const uint8_t* plane;  // input plane (n, g)
  int64_t in_h, in_w, stride_h, dil_h, pad_top, pad_left, stride_w, k_h;
  int64_t span;           // bytes a window reads: 15 * stride_w + (k_w - 1) * dil_w + 1
  __m512i index;          // vpermb index of the windows
  __m512i fill;           // a window of padding
  __m512i fill_flipped;   // padding bytes before the xor
  __m512i flip;           // xor_mask in every byte
  bool flips;

  // The load mask of the window from output column ox: the input columns it reads that exist.
  __mmask64 columns(int64_t ox) const {
    const int64_t col0 = ox * stride_w - pad_left;
    const int64_t lo = col0 < 0 ? -col0 : 0;
    const int64_t hi = in_w - col0 < span ? in_w - col0 : span;
    return hi > lo ? byte_mask(hi) & ~byte_mask(lo) : 0;
  }
  // The window of input row iy (outside the image: padding) from output column ox, whose
  // columns() are m. Masked-off bytes are not read (no fault past the plane); they become padding.
  __m512i window(int64_t iy, int64_t ox, __mmask64 m) const {
    if (iy < 0 || iy >= in_h) return fill;
    __m512i v = _mm512_mask_loadu_epi8(fill_flipped, m, plane + iy * in_w + ox * stride_w - pad_left);
    if (flips) v = _mm512_xor_si512(v, flip);
    return _mm512_permutexvar_epi8(index, v);
  }
};

// Depthwise (one output channel per group): R output rows x XV pixel vectors of channel a.c0.
// S and KH: the vertical stride and kernel height when fixed at compile time (the common 3-row
// kernels at stride 1 or 2, whose row loops then unroll without tests), 0 when read from d.
template <EpiForm K, int R, int XV, int S, int KH>
void direct_rows_block(const DirectPlane& d, const int32_t* taps, int64_t y0, int64_t x0, int64_t out_w,
                       const ConvBlockArgs& a, const Epilogue& e, void* out) {
  const int64_t stride_h = S ? S : d.stride_h, k_h = KH ? KH : d.k_h;
  Ops::I acc[R][XV];
  TINYQ_UNROLL
  for (int r = 0; r < R; ++r)
    TINYQ_UNROLL
    for (int v = 0; v < XV; ++v) acc[r][v] = Ops::set1i(e.corr[a.c0]);  // see finish_vec
  __mmask64 m[XV];
  TINYQ_UNROLL
  for (int v = 0; v < XV; ++v) m[v] = d.columns(x0 + v * Ops::L);
  if (S || d.dil_h == 1) {
    // Each input row's windows once, for every output row whose kernel covers it (stride 1
    // shares a row among up to k_h output rows). The plane's fields are copied to locals and the
    // addresses advance by a row per step: read through `d` (DirectPlane::window), GCC reloaded
    // every field and redid the address arithmetic for every window, about 12 instructions
    // each, which made these blocks instruction-bound.
    const int64_t rows_in = (R - 1) * stride_h + k_h;
    const int64_t in_w = d.in_w, iy0 = y0 * stride_h - d.pad_top;
    // Input rows [ir_lo, ir_hi) of the block lie in the image; the others are padding.
    const int64_t ir_lo = iy0 < 0 ? -iy0 : 0;
    const int64_t ir_hi = d.in_h - iy0 < rows_in ? d.in_h - iy0 : rows_in;
    const uint8_t* row = d.plane + iy0 * in_w + x0 * d.stride_w - d.pad_left;
    const int64_t vstep = Ops::L * d.stride_w;
    const __m512i index = d.index, fill = d.fill, fill_flipped = d.fill_flipped, flip = d.flip;
    const bool flips = d.flips;
    TINYQ_UNROLL
    for (int64_t ir = 0; ir < rows_in; ++ir, row += in_w) {
      __m512i win[XV];
      if (ir < ir_lo || ir >= ir_hi) {
        TINYQ_UNROLL
        for (int v = 0; v < XV; ++v) win[v] = fill;
      } else {
        TINYQ_UNROLL
        for (int v = 0; v < XV; ++v) {
          __m512i b = _mm512_mask_loadu_epi8(fill_flipped, m[v], row + v * vstep);
          if (flips) b = _mm512_xor_si512(b, flip);
          win[v] = _mm512_permutexvar_epi8(index, b);
        }
      }
      TINYQ_UNROLL
      for (int r = 0; r < R; ++r) {
        const int64_t kh = ir - r * stride_h;
        if (kh < 0 || kh >= k_h) continue;
        const __m512i w = _mm512_set1_epi32(taps[kh]);
        TINYQ_UNROLL
        for (int v = 0; v < XV; ++v) acc[r][v] = Ops::dot(acc[r][v], win[v], w);
      }
    }
  } else {
    for (int64_t kh = 0; kh < k_h; ++kh) {
      const __m512i w = _mm512_set1_epi32(taps[kh]);
      TINYQ_UNROLL
      for (int r = 0; r < R; ++r) {
        const int64_t iy = (y0 + r) * stride_h + kh * d.dil_h - d.pad_top;
        TINYQ_UNROLL
        for (int v = 0; v < XV; ++v) acc[r][v] = Ops::dot(acc[r][v], d.window(iy, x0 + v * Ops::L, m[v]), w);
      }
    }
  }
  Ops::I done[R][XV];  // see conv_block
  TINYQ_UNROLL
  for (int r = 0; r < R; ++r)
    TINYQ_UNROLL
    for (int v = 0; v < XV; ++v) done[r][v] = acc[r][v];
  rows_finish<K, R, XV>(done, a, out_w, e, out);
}

// Several output channels per group (a single-channel stem): OCB channels x XV pixel vectors of
// output row y, each window shared by the channels.
template <EpiForm K, int OCB, int XV, int KH>
void direct_channels_block(const DirectPlane& d, const int32_t* taps, int64_t y, int64_t x0, const ConvBlockArgs& a,
                           const Epilogue& e, void* out) {
  Ops::I acc[OCB][XV];
  TINYQ_UNROLL
  for (int o = 0; o < OCB; ++o)
    TINYQ_UNROLL
    for (int v = 0; v < XV; ++v) acc[o][v] = Ops::set1i(e.corr[a.c0 + o]);  // see finish_vec
  __mmask64 m[XV];
  TINYQ_UNROLL
  for (int v = 0; v < XV; ++v) m[v] = d.columns(x0 + v * Ops::L);
  // Local copies and a row pointer, as in direct_rows_block.
  const int64_t k_h = KH ? KH : d.k_h, in_h = d.in_h, row_step = d.dil_h * d.in_w, iy0 = y * d.stride_h - d.pad_top;
  const uint8_t* row = d.plane + iy0 * d.in_w + x0 * d.stride_w - d.pad_left;
  const int64_t vstep = Ops::L * d.stride_w;
  const __m512i index = d.index, fill = d.fill, fill_flipped = d.fill_flipped, flip = d.flip;
  const bool flips = d.flips;
  TINYQ_UNROLL
  for (int64_t kh = 0, iy = iy0; kh < k_h; ++kh, iy += d.dil_h, row += row_step) {
    __m512i win[XV];
    if (iy < 0 || iy >= in_h) {
      TINYQ_UNROLL
      for (int v = 0; v < XV; ++v) win[v] = fill;
    } else {
      TINYQ_UNROLL
      for (int v = 0; v < XV; ++v) {
        __m512i b = _mm512_mask_loadu_epi8(fill_flipped, m[v], row + v * vstep);
        if (flips) b = _mm512_xor_si512(b, flip);
        win[v] = _mm512_permutexvar_epi8(index, b);
      }
    }
    TINYQ_UNROLL
    for (int o = 0; o < OCB; ++o) {
      const __m512i w = _mm512_set1_epi32(taps[o * k_h + kh]);
      TINYQ_UNROLL
      for (int v = 0; v < XV; ++v) acc[o][v] = Ops::dot(acc[o][v], win[v], w);
    }
  }
  Ops::I done[OCB][XV];  // see conv_block
  TINYQ_UNROLL
  for (int o = 0; o < OCB; ++o)
    TINYQ_UNROLL
    for (int v = 0; v < XV; ++v) done[o][v] = acc[o][v];
  // Compiled for a form K, the epilogue is inlined, and the sums go to it in registers rather than
  // through the stack (measured 7% faster on nr_metric_v1's dynamic stem, 5% on its static one, Zen 4).
  if constexpr (K == EpiForm::kAny) conv_block_finish<OCB, XV>(done, a, e, out);
  else conv_block_finish_k<K, OCB, XV>(done, a, e, out);
}

constexpr int kDirectRows = 6;     // output rows per depthwise block (6 x 4 accumulators)
constexpr int kDirectVectors = 4;  // pixel vectors per depthwise block
constexpr int kDirectChanVectors = 3;  // pixel vectors per channel block (8 x 3 accumulators)

using DirectRowsFn = void (*)(const DirectPlane&, const int32_t*, int64_t, int64_t, int64_t, const ConvBlockArgs&,
                              const Epilogue&, void*);
using DirectChannelsFn = void (*)(const DirectPlane&, const int32_t*, int64_t, int64_t, const ConvBlockArgs&,
                                  const Epilogue&, void*);

template <EpiForm K, int R, int S, int KH>
DirectRowsFn direct_rows_fn(int xv) {
  switch (xv) {
    case 1: return &direct_rows_block<K, R, 1, S, KH>;
    case 2: return &direct_rows_block<K, R, 2, S, KH>;
    case 3: return &direct_rows_block<K, R, 3, S, KH>;
    default: return &direct_rows_block<K, R, 4, S, KH>;
  }
}

template <int R>
DirectRowsFn direct_rows_fn(EpiForm form, const ConvShape& s, int xv) {
  return with_form(form, [&](auto f) {
    constexpr EpiForm K = R == kDirectRows ? decltype(f)::kForm : EpiForm::kAny;  // see rows_block_fn
    if (s.k_h == 3 && s.dil_h == 1 && s.stride_h == 1) return direct_rows_fn<K, R, 1, 3>(xv);
    if (s.k_h == 3 && s.dil_h == 1 && s.stride_h == 2) return direct_rows_fn<K, R, 2, 3>(xv);
    return direct_rows_fn<K, R, 0, 0>(xv);
  });
}

template <EpiForm K, int OCB, int KH>
DirectChannelsFn direct_channels_fn(int xv) {
  switch (xv) {
    case 1: return &direct_channels_block<K, OCB, 1, KH>;
    case 2: return &direct_channels_block<K, OCB, 2, KH>;
    default: return &direct_channels_block<K, OCB, 3, KH>;
  }
}

// Full blocks (kMaxOcb channels, kDirectChanVectors vectors) of a 3-row kernel get their own code
// per epilogue form; the rest share the kAny blocks.
template <int OCB>
DirectChannelsFn direct_channels_fn(EpiForm form, const ConvShape& s, int xv) {
  if (OCB != kMaxOcb || xv != kDirectChanVectors || s.k_h != 3) return direct_channels_fn<EpiForm::kAny, OCB, 0>(xv);
  return with_form(form, [&](auto f) { return direct_channels_fn<decltype(f)::kForm, OCB, 3>(xv); });
}

}  // namespace

void conv_image_direct(const ConvPlan& p, const uint8_t* x, const int32_t* taps, int64_t n, int64_t g,
                       uint8_t xor_mask, uint8_t fill, const Epilogue& e, void* out) {
  const ConvShape& s = p.s;
  DirectPlane d;
  d.plane = x + (n * s.c_in() + g) * s.in_h * s.in_w;
  d.in_h = s.in_h;
  d.in_w = s.in_w;
  d.stride_h = s.stride_h;
  d.dil_h = s.dil_h;
  d.pad_top = s.pad_top;
  d.pad_left = s.pad_left;
  d.stride_w = s.stride_w;
  d.k_h = s.k_h;
  d.span = (Ops::L - 1) * s.stride_w + (s.k_w - 1) * s.dil_w + 1;
  d.index = _mm512_load_si512(p.window_index);
  d.fill = _mm512_set1_epi8(static_cast<char>(fill));
  d.fill_flipped = _mm512_set1_epi8(static_cast<char>(fill ^ xor_mask));
  d.flip = _mm512_set1_epi8(static_cast<char>(xor_mask));
  d.flips = xor_mask != 0;
  const int64_t out_plane = s.out_h * s.out_w;
  const EpiForm form = epi_form(e);
  ConvBlockArgs a{};
  a.ch_stride = out_plane;
  if (s.cout_g == 1) {
    a.c0 = g;
    for (int64_t xv0 = 0; xv0 < p.x_vectors;) {
      const int xv = static_cast<int>(p.x_vectors - xv0 < kDirectVectors ? p.x_vectors - xv0 : kDirectVectors);
      const int64_t x0 = xv0 * Ops::L, last_x = x0 + (xv - 1) * Ops::L;
      a.last_count = static_cast<int>(s.out_w - last_x < Ops::L ? s.out_w - last_x : Ops::L);
      for (int64_t y = 0; y < s.out_h;) {
        const int64_t left = s.out_h - y;
        const int rows = left >= kDirectRows ? kDirectRows : (left >= 4 ? 4 : (left >= 2 ? 2 : 1));
        a.pos = y * s.out_w + x0;
        a.out_index = (n * s.c_out() + g) * out_plane + a.pos;
        const DirectRowsFn fn = rows == kDirectRows ? direct_rows_fn<kDirectRows>(form, s, xv)
                                : rows == 4         ? direct_rows_fn<4>(form, s, xv)
                                : rows == 2         ? direct_rows_fn<2>(form, s, xv)
                                                    : direct_rows_fn<1>(form, s, xv);
        fn(d, taps + g * s.k_h, y, x0, s.out_w, a, e, out);
        y += rows;
      }
      xv0 += xv;
    }
    return;
  }
  for (int64_t y = 0; y < s.out_h; ++y)
    for (int64_t xv0 = 0; xv0 < p.x_vectors;) {
      const int xv = static_cast<int>(p.x_vectors - xv0 < kDirectChanVectors ? p.x_vectors - xv0 : kDirectChanVectors);
      const int64_t x0 = xv0 * Ops::L, last_x = x0 + (xv - 1) * Ops::L;
      a.last_count = static_cast<int>(s.out_w - last_x < Ops::L ? s.out_w - last_x : Ops::L);
      a.pos = y * s.out_w + x0;
      for (int64_t oc0 = 0; oc0 < s.cout_g;) {
        const int64_t left = s.cout_g - oc0;
        const int ocb = left >= kMaxOcb ? kMaxOcb : (left >= 4 ? 4 : (left >= 2 ? 2 : 1));
        const int64_t c = g * s.cout_g + oc0;
        a.c0 = c;
        a.out_index = (n * s.c_out() + c) * out_plane + a.pos;
        const DirectChannelsFn fn = ocb == kMaxOcb ? direct_channels_fn<kMaxOcb>(form, s, xv)
                                    : ocb == 4     ? direct_channels_fn<4>(form, s, xv)
                                    : ocb == 2     ? direct_channels_fn<2>(form, s, xv)
                                                   : direct_channels_fn<1>(form, s, xv);
        fn(d, taps + c * s.k_h, y, x0, a, e, out);
        oc0 += ocb;
      }
      xv0 += xv;
    }
}

#pragma GCC pop_options

}  // namespace tinyq::kernels::int8::avx512

#pragma GCC pop_options

#else  // not x86-64 GCC/Clang: never selected (best_isa() is kScalar), present for the linker.
namespace tinyq::kernels::int8::avx512 {
void conv_image(const ConvPlan&, const uint8_t*, const int8_t*, int64_t, int64_t, const Epilogue&, void*) {}
void gemm(const uint8_t*, int64_t, int64_t, const int8_t*, int64_t, int64_t, const Epilogue&, void*) {}
void reset_range(float*) {}
void row_sums(const int8_t*, int64_t, int64_t, int32_t*) {}
void quantize_u8(const float*, int64_t, float, int32_t, bool, uint8_t*) {}
void quantize_quads(const float*, int64_t, int64_t, int64_t, float, int32_t, bool, uint8_t*, int64_t) {}
void range_f32(const float*, int64_t, float*, float*, bool*) {}
bool dyn_row(const DynRow&, const DynRowIo&) { return false; }
void stage_plane(const ConvPlan&, const uint8_t*, int64_t, uint8_t, uint8_t, const uint8_t*, uint8_t*) {}
void stage_s1(const uint8_t* const[4], int64_t, uint8_t, uint8_t*) {}
void stage_s2(const uint8_t* const[4], int64_t, int64_t, uint8_t, uint8_t*, uint8_t*) {}
bool has_vbmi() { return false; }
void conv_image_direct(const ConvPlan&, const uint8_t*, const int32_t*, int64_t, int64_t, uint8_t, uint8_t,
                       const Epilogue&, void*) {}
}  // namespace tinyq::kernels::int8::avx512
#endif
