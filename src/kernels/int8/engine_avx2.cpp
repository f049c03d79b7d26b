// The int8 engine for AVX2 without VNNI. Each 32-bit lane holds four activation bytes; they are
// split into two int16 pairs (even and odd bytes, zero-extended) and the weight quad likewise
// (sign-extended), and vpmaddwd adds each pair of 16 x 16-bit products into int32 exactly.
// vpmaddubsw is not used: it adds two u8 x s8 products in 16 bits with saturation, which
// full-range weights overflow (255 * -128 * 2 < -32768).
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cstdint>
#include <cstring>

#include "kernels/int8/engine.h"
#include "kernels/int8/fused_common.h"

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2")

namespace tinyq::kernels::int8::avx2 {
namespace {

inline int32_t load32(const void* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

// A barrier so that a product is rounded before the following sum (see epilogue.h).
inline __m256 opaque(__m256 v) {
  asm("" : "+x"(v));
  return v;
}

struct Pairs {
  __m256i e, o;  // int16 pairs of bytes 0,2 and 1,3 of each lane
};

struct Ops {
  static constexpr int L = 8;
  // Rows blocks per epilogue form (with_form): no gain with 16 registers (measured 0-2% slower).
  static constexpr bool kFormBlocks = false;
  // Rows blocks' full-range stores per row (store_full_row): measured up to 7% slower here on
  // nr_metric_v1's 28-wide depthwise layer than a store per vector.
  static constexpr bool kRowStores = false;
  using I = __m256i;
  using F = __m256;
  using XP = Pairs;
  using WP = Pairs;

  static I lane_mask(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }

  static I zeroi() { return _mm256_setzero_si256(); }
  static F zerof() { return _mm256_setzero_ps(); }
  static I set1i(int32_t v) { return _mm256_set1_epi32(v); }
  static F set1f(float v) { return _mm256_set1_ps(v); }
  static I loadu(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static I loadi(const int32_t* p, int count) {
    return count >= L ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)) : _mm256_maskload_epi32(p, lane_mask(count));
  }
  static F loadf(const float* p, int count) {
    return count >= L ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lane_mask(count));
  }

  static I iota() { return _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7); }
  // 32-bit words at base + offsets[i] for the first count lanes (0 elsewhere, not read).
  static I gather(const void* base, I offsets, int count) {
    return _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), static_cast<const int*>(base), offsets,
                                       lane_mask(count), 1);
  }
  static Pairs split_unsigned(I v) {
    return {_mm256_and_si256(v, _mm256_set1_epi32(0x00FF00FF)), _mm256_srli_epi16(v, 8)};
  }
  static Pairs split_signed(I v) { return {_mm256_srai_epi16(_mm256_slli_epi16(v, 8), 8), _mm256_srai_epi16(v, 8)}; }
  static XP prep_x(I v) { return split_unsigned(v); }
  static WP prep_wb(const int8_t* w) { return split_signed(_mm256_set1_epi32(load32(w))); }
  static XP prep_xb(const uint8_t* a) { return split_unsigned(_mm256_set1_epi32(load32(a))); }
  static WP prep_wv(I w) { return split_signed(w); }
  static I dot(I acc, const XP& x, const WP& w) {
    return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(x.e, w.e), _mm256_madd_epi16(x.o, w.o)));
  }

  static I addi(I a, I b) { return _mm256_add_epi32(a, b); }
  static I subi(I a, I b) { return _mm256_sub_epi32(a, b); }
  static I mullo(I a, I b) { return _mm256_mullo_epi32(a, b); }
  static F cvt(I v) { return _mm256_cvtepi32_ps(v); }
  static F mulf(F a, F b) { return opaque(_mm256_mul_ps(a, b)); }
  static F addf(F a, F b) { return opaque(_mm256_add_ps(a, b)); }
  static F divf(F a, F b) { return _mm256_div_ps(a, b); }
  static F zero_tail(F v, int count) {
    return count >= L ? v : _mm256_and_ps(v, _mm256_castsi256_ps(lane_mask(count)));
  }
  static float hmin(F v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_min_ss(m, _mm_movehdup_ps(m)));
  }
  static float hmax(F v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
  }
  static bool any_nan(F v) { return _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0; }
  static F min_keep(F v, F keep) { return _mm256_min_ps(v, keep); }
  static F max_keep(F v, F keep) { return _mm256_max_ps(v, keep); }
  // maxps(a, b) is a > b ? a : b, so max(lo, f) is exactly f < lo ? lo : f (NaN and -0 included).
  static F clamp(F f, F lo, F hi) { return _mm256_min_ps(hi, _mm256_max_ps(lo, f)); }
  static I quant(F v, int32_t zp, int32_t lo, int32_t hi) {
    F r = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_and_ps(r, _mm256_cmp_ps(r, r, _CMP_ORD_Q));
    const F lim = _mm256_set1_ps(1073741824.0f);
    r = _mm256_min_ps(_mm256_max_ps(r, _mm256_sub_ps(_mm256_setzero_ps(), lim)), lim);
    I q = _mm256_add_epi32(_mm256_cvttps_epi32(r), _mm256_set1_epi32(zp));
    return _mm256_min_epi32(_mm256_max_epi32(q, _mm256_set1_epi32(lo)), _mm256_set1_epi32(hi));
  }

  // The same for |v| < 2^30 (no NaN): round half to even, convert, add, clamp.
  static I quant_bounded(F v, I zp, I lo, I hi) {
    const I q = _mm256_add_epi32(
        _mm256_cvttps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)), zp);
    return _mm256_min_epi32(_mm256_max_epi32(q, lo), hi);
  }

  // Quantisation by the reciprocal (quantize_impl): round half to even as a float, and whether
  // any lane of y lies more than `thr` from its rounded value rd (|y - rd| > thr, NaN excluded).
  static F round_even(F v) { return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static I trunc_i(F v) { return _mm256_cvttps_epi32(v); }  // |v| < 2^31
  static bool any_far(F y, F rd, F thr) {
    const F d = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(y, rd));
    return _mm256_movemask_ps(_mm256_cmp_ps(d, thr, _CMP_GT_OQ)) != 0;
  }
  // The bounded form of quantize_impl (see engine_avx512.cpp): without FMA, v * r and + d
  // round separately, which its error bound allows for.
  static F mul_add(F v, F r, F d) { return _mm256_add_ps(opaque(_mm256_mul_ps(v, r)), d); }
  static I bits(F v) { return _mm256_castps_si256(v); }
  // Whether any lane of four vectors of bits(z) has (b & 0x1FFC) == 0 (see engine_avx512.cpp).
  static bool any_tie4(I a, I b, I c, I d) {
    const I k = _mm256_set1_epi32(0x1FFC);
    const I m = _mm256_min_epu32(_mm256_min_epu32(_mm256_and_si256(a, k), _mm256_and_si256(b, k)),
                                 _mm256_min_epu32(_mm256_and_si256(c, k), _mm256_and_si256(d, k)));
    return _mm256_movemask_epi8(_mm256_cmpeq_epi32(m, _mm256_setzero_si256())) != 0;
  }
  static I shift13(I b, I k) { return _mm256_srai_epi32(_mm256_sub_epi32(b, k), 13); }
  // Four vectors of int32 to 4 * L bytes, each saturated to [0, 255].
  static I pack_u8x4(I a, I b, I c, I d) {
    const __m256i bytes = _mm256_packus_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  }
  // Four vectors of int32 (channels j = 0..3 of the same L pixels) to the quad layout (see
  // engine_avx512.cpp): each 128-bit lane of the packs holds four pixels, transposed in-lane.
  static void store_quads(uint8_t* p, I a, I b, I c, I d) {
    const __m256i bytes = _mm256_packus_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    const __m256i order = _mm256_setr_epi32(0x0C080400, 0x0D090501, 0x0E0A0602, 0x0F0B0703, 0x0C080400, 0x0D090501,
                                            0x0E0A0602, 0x0F0B0703);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm256_shuffle_epi8(bytes, order));
  }
  static void store_u8x4(uint8_t* p, I a, I b, I c, I d) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), pack_u8x4(a, b, c, d));
  }
  // prep_xb of bytes 4q..4q+3 of a vector (pack_u8x4's), without a trip through memory.
  static XP quad_xb(I bytes, int q) { return split_unsigned(_mm256_permutevar8x32_epi32(bytes, _mm256_set1_epi32(q))); }

  static void storef(float* p, F v, int count) {
    if (count >= L) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, lane_mask(count), v);
  }
  static void storei(int32_t* p, I v, int count) {
    if (count >= L) _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
    else _mm256_maskstore_epi32(p, lane_mask(count), v);
  }
  // round_half_even(f) + zero point saturated to the output type (|f| < 2^30): the packs of
  // storeq saturate.
  static I full_zp(int32_t zp, bool /*is_signed*/) { return _mm256_set1_epi32(zp); }
  static void store_full(uint8_t* p, F f, I zp, int count, bool is_signed) {
    const F r = _mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const I q = _mm256_add_epi32(_mm256_cvttps_epi32(r), zp);
    storeq(p, q, count, is_signed);
  }
  // store_full for XV consecutive vectors (the last with `last_count` lanes).
  template <int XV>
  static void store_full_row(uint8_t* p, const F (&f)[XV], I zp, int last_count, bool is_signed) {
    for (int v = 0; v < XV; ++v) store_full(p + v * L, f[v], zp, v == XV - 1 ? last_count : L, is_signed);
  }
  // Values are already within the output type's range, so the saturating packs are exact.
  static void storeq(uint8_t* p, I v, int count, bool is_signed) {
    const __m256i w16 = _mm256_packs_epi32(v, v);
    const __m256i b8 = is_signed ? _mm256_packs_epi16(w16, w16) : _mm256_packus_epi16(w16, w16);
    const __m128i bytes = _mm_unpacklo_epi32(_mm256_castsi256_si128(b8), _mm256_extracti128_si256(b8, 1));
    if (count >= L) {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(p), bytes);
    } else {
      alignas(16) uint8_t tmp[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
      for (int i = 0; i < count; ++i) p[i] = tmp[i];
    }
  }
};

// Rows per single-channel block for 1..4 pixel vectors (16 registers, two per x vector in use).
constexpr int kRowsFor[4] = {8, 4, 3, 2};
constexpr int kMaxOcb = 4;
constexpr int kMaxXv = 4;
constexpr int kGemmRows1 = 6;
constexpr int kGemmRows2 = 3;
constexpr int kGemmRows4 = 1;

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

// Interleaves 4 vectors of 32 bytes (pixels) into 128 bytes of quads.
inline void store_quads(__m256i s0, __m256i s1, __m256i s2, __m256i s3, uint8_t* dst) {
  const __m256i a_lo = _mm256_unpacklo_epi8(s0, s1), a_hi = _mm256_unpackhi_epi8(s0, s1);
  const __m256i b_lo = _mm256_unpacklo_epi8(s2, s3), b_hi = _mm256_unpackhi_epi8(s2, s3);
  // Per 128-bit lane k: q0 holds pixels 16k..16k+3, q1 16k+4.., q2 16k+8.., q3 16k+12..
  const __m256i q0 = _mm256_unpacklo_epi16(a_lo, b_lo), q1 = _mm256_unpackhi_epi16(a_lo, b_lo);
  const __m256i q2 = _mm256_unpacklo_epi16(a_hi, b_hi), q3 = _mm256_unpackhi_epi16(a_hi, b_hi);
  __m256i* d = reinterpret_cast<__m256i*>(dst);
  _mm256_storeu_si256(d + 0, _mm256_permute2x128_si256(q0, q1, 0x20));  // pixels 0..7
  _mm256_storeu_si256(d + 1, _mm256_permute2x128_si256(q2, q3, 0x20));  // 8..15
  _mm256_storeu_si256(d + 2, _mm256_permute2x128_si256(q0, q1, 0x31));  // 16..23
  _mm256_storeu_si256(d + 3, _mm256_permute2x128_si256(q2, q3, 0x31));  // 24..31
}

inline __m256i load32b(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m128i load16b(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

// 8 pixels (the low 8 bytes of each source) into 32 bytes of quads.
inline void store_quads8(__m128i s0, __m128i s1, __m128i s2, __m128i s3, uint8_t* dst) {
  const __m128i a = _mm_unpacklo_epi8(s0, s1), b = _mm_unpacklo_epi8(s2, s3);
  __m128i* d = reinterpret_cast<__m128i*>(dst);
  _mm_storeu_si128(d + 0, _mm_unpacklo_epi16(a, b));
  _mm_storeu_si128(d + 1, _mm_unpackhi_epi16(a, b));
}
inline __m128i load8b(const uint8_t* p) { return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)); }

// The same for 16 pixels (rows of 16 to 31 pixels: the small planes of the later layers).
inline void store_quads16(__m128i s0, __m128i s1, __m128i s2, __m128i s3, uint8_t* dst) {
  const __m128i a_lo = _mm_unpacklo_epi8(s0, s1), a_hi = _mm_unpackhi_epi8(s0, s1);
  const __m128i b_lo = _mm_unpacklo_epi8(s2, s3), b_hi = _mm_unpackhi_epi8(s2, s3);
  __m128i* d = reinterpret_cast<__m128i*>(dst);
  _mm_storeu_si128(d + 0, _mm_unpacklo_epi16(a_lo, b_lo));
  _mm_storeu_si128(d + 1, _mm_unpackhi_epi16(a_lo, b_lo));
  _mm_storeu_si128(d + 2, _mm_unpacklo_epi16(a_hi, b_hi));
  _mm_storeu_si128(d + 3, _mm_unpackhi_epi16(a_hi, b_hi));
}

}  // namespace

// Blocks of 32 pixels with vectors. AVX2 has no byte-masked loads, so a row's last block ends at
// its last pixel and overlaps the one before (writing the same bytes again); rows of 8 to 31
// pixels take two overlapping blocks of 8 or 16, shorter ones go byte by byte.
void stage_s1(const uint8_t* const src[4], int64_t n, uint8_t xor_mask, uint8_t* dst) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(xor_mask));
  if (n < 32) {
    const __m128i f = _mm256_castsi256_si128(flip);
    if (n < 8) {
      for (int64_t i = 0; i < n; ++i)
        for (int j = 0; j < 4; ++j) dst[i * 4 + j] = static_cast<uint8_t>(src[j][i] ^ xor_mask);
      return;
    }
    if (n < 16) {
      for (int64_t i : {int64_t{0}, n - 8})
        store_quads8(_mm_xor_si128(load8b(src[0] + i), f), _mm_xor_si128(load8b(src[1] + i), f),
                     _mm_xor_si128(load8b(src[2] + i), f), _mm_xor_si128(load8b(src[3] + i), f), dst + i * 4);
      return;
    }
    for (int64_t i : {int64_t{0}, n - 16})
      store_quads16(_mm_xor_si128(load16b(src[0] + i), f), _mm_xor_si128(load16b(src[1] + i), f),
                    _mm_xor_si128(load16b(src[2] + i), f), _mm_xor_si128(load16b(src[3] + i), f), dst + i * 4);
    return;
  }
  for (int64_t i = 0;; i += 32) {
    if (i > n - 32) i = n - 32;
    store_quads(_mm256_xor_si256(load32b(src[0] + i), flip), _mm256_xor_si256(load32b(src[1] + i), flip),
                _mm256_xor_si256(load32b(src[2] + i), flip), _mm256_xor_si256(load32b(src[3] + i), flip),
                dst + i * 4);
    if (i == n - 32) break;
  }
}

void stage_s2(const uint8_t* const src[4], int64_t n_even, int64_t n_odd, uint8_t xor_mask, uint8_t* dst_even,
              uint8_t* dst_odd) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(xor_mask));
  const __m256i low = _mm256_set1_epi16(0x00FF);
  // A block reads source bytes 2i .. 2i + 63, which both counts name when each has 32 left; the
  // last block ends there and overlaps the one before (see stage_s1).
  const int64_t n_both = n_even < n_odd ? n_even : n_odd;
  int64_t i = 0;
  if (n_both >= 8 && n_both < 16) {  // two overlapping blocks of 8 (see stage_s1)
    const __m128i f = _mm256_castsi256_si128(flip), low16 = _mm256_castsi256_si128(low);
    for (int64_t b : {int64_t{0}, n_both - 8}) {
      __m128i e[4], o[4];
      for (int j = 0; j < 4; ++j) {
        const __m128i v = _mm_xor_si128(load16b(src[j] + 2 * b), f);  // bytes 2b .. 2b + 15
        e[j] = _mm_packus_epi16(_mm_and_si128(v, low16), _mm_setzero_si128());
        o[j] = _mm_packus_epi16(_mm_srli_epi16(v, 8), _mm_setzero_si128());
      }
      store_quads8(e[0], e[1], e[2], e[3], dst_even + b * 4);
      store_quads8(o[0], o[1], o[2], o[3], dst_odd + b * 4);
    }
    i = n_both;
  }
  if (n_both >= 16 && n_both < 32) {  // two overlapping blocks of 16 (see stage_s1)
    const __m128i f = _mm256_castsi256_si128(flip), low16 = _mm256_castsi256_si128(low);
    for (int64_t b : {int64_t{0}, n_both - 16}) {
      __m128i e[4], o[4];
      for (int j = 0; j < 4; ++j) {
        const __m128i lo = _mm_xor_si128(load16b(src[j] + 2 * b), f);
        const __m128i hi = _mm_xor_si128(load16b(src[j] + 2 * b + 16), f);
        e[j] = _mm_packus_epi16(_mm_and_si128(lo, low16), _mm_and_si128(hi, low16));
        o[j] = _mm_packus_epi16(_mm_srli_epi16(lo, 8), _mm_srli_epi16(hi, 8));
      }
      store_quads16(e[0], e[1], e[2], e[3], dst_even + b * 4);
      store_quads16(o[0], o[1], o[2], o[3], dst_odd + b * 4);
    }
    i = n_both;
  }
  for (int64_t b = 0; n_both >= 32; b += 32) {
    i = b > n_both - 32 ? n_both - 32 : b;
    __m256i e[4], o[4];
    for (int j = 0; j < 4; ++j) {
      const __m256i lo = _mm256_xor_si256(load32b(src[j] + 2 * i), flip);
      const __m256i hi = _mm256_xor_si256(load32b(src[j] + 2 * i + 32), flip);
      // packus works per 128-bit lane (lo0 hi0 lo1 hi1 in 8-byte units); the permute restores order.
      e[j] = _mm256_permute4x64_epi64(_mm256_packus_epi16(_mm256_and_si256(lo, low), _mm256_and_si256(hi, low)), 0xD8);
      o[j] = _mm256_permute4x64_epi64(_mm256_packus_epi16(_mm256_srli_epi16(lo, 8), _mm256_srli_epi16(hi, 8)), 0xD8);
    }
    store_quads(e[0], e[1], e[2], e[3], dst_even + i * 4);
    store_quads(o[0], o[1], o[2], o[3], dst_odd + i * 4);
    if (i == n_both - 32) {
      i = n_both;
      break;
    }
  }
  for (int64_t k = i; k < n_even; ++k)
    for (int j = 0; j < 4; ++j) dst_even[k * 4 + j] = static_cast<uint8_t>(src[j][2 * k] ^ xor_mask);
  for (int64_t k = i; k < n_odd; ++k)
    for (int j = 0; j < 4; ++j) dst_odd[k * 4 + j] = static_cast<uint8_t>(src[j][2 * k + 1] ^ xor_mask);
}

}  // namespace tinyq::kernels::int8::avx2

#pragma GCC pop_options

#else  // not x86-64 GCC/Clang: never selected (best_isa() is kScalar), present for the linker.
namespace tinyq::kernels::int8::avx2 {
void conv_image(const ConvPlan&, const uint8_t*, const int8_t*, int64_t, int64_t, const Epilogue&, void*) {}
void gemm(const uint8_t*, int64_t, int64_t, const int8_t*, int64_t, int64_t, const Epilogue&, void*) {}
void reset_range(float*) {}
void quantize_u8(const float*, int64_t, float, int32_t, bool, uint8_t*) {}
void quantize_quads(const float*, int64_t, int64_t, int64_t, float, int32_t, bool, uint8_t*, int64_t) {}
void range_f32(const float*, int64_t, float*, float*, bool*) {}
bool dyn_row(const DynRow&, const DynRowIo&) { return false; }
void stage_s1(const uint8_t* const*, int64_t, uint8_t, uint8_t*) {}
void stage_s2(const uint8_t* const*, int64_t, int64_t, uint8_t, uint8_t*, uint8_t*) {}
}  // namespace tinyq::kernels::int8::avx2
#endif
