// ISA-independent parts of the int8 engine: plans, staging, dispatch and the scalar level.
#include "kernels/int8/engine.h"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tinyq::kernels::int8 {

namespace {

int64_t lanes_of(Isa isa) {
  switch (isa) {
    case Isa::kAvx512Vnni: return 16;
    case Isa::kAvx2: return 8;
    case Isa::kScalar: return 1;
  }
  return 1;
}

// Byte offset, within a staged row, of padded column `col` (stride phases are stored one after
// another, each plen pixels of 4 bytes).
int64_t column_offset(const ConvPlan& p, int64_t col) {
  return ((col % p.s.stride_w) * p.plen + col / p.s.stride_w) * 4;
}

// dst[4 i + j] = src[j][i] ^ xor_mask: four rows into one row of byte quads.
void interleave4(const uint8_t* const src[4], int64_t n, uint8_t xor_mask, uint8_t* dst) {
  int64_t i = 0;
#if defined(__SSE2__)
  const __m128i flip = _mm_set1_epi8(static_cast<char>(xor_mask));
  for (; i + 16 <= n; i += 16) {
    __m128i s[4];
    for (int j = 0; j < 4; ++j)
      s[j] = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src[j] + i)), flip);
    const __m128i a_lo = _mm_unpacklo_epi8(s[0], s[1]), a_hi = _mm_unpackhi_epi8(s[0], s[1]);
    const __m128i b_lo = _mm_unpacklo_epi8(s[2], s[3]), b_hi = _mm_unpackhi_epi8(s[2], s[3]);
    __m128i* d = reinterpret_cast<__m128i*>(dst + i * 4);
    _mm_storeu_si128(d + 0, _mm_unpacklo_epi16(a_lo, b_lo));
    _mm_storeu_si128(d + 1, _mm_unpackhi_epi16(a_lo, b_lo));
    _mm_storeu_si128(d + 2, _mm_unpacklo_epi16(a_hi, b_hi));
    _mm_storeu_si128(d + 3, _mm_unpackhi_epi16(a_hi, b_hi));
  }
#endif
  for (; i < n; ++i)
    for (int j = 0; j < 4; ++j) dst[i * 4 + j] = static_cast<uint8_t>(src[j][i] ^ xor_mask);
}

// Portable stride-2 staging: gather each phase, then interleave.
void stage_s2_generic(const uint8_t* const src[4], int64_t n_even, int64_t n_odd, uint8_t xor_mask,
                      uint8_t* dst_even, uint8_t* dst_odd) {
  constexpr int64_t kChunk = 256;
  uint8_t gathered[4][kChunk];
  const uint8_t* from[4] = {gathered[0], gathered[1], gathered[2], gathered[3]};
  for (int odd = 0; odd < 2; ++odd) {
    const int64_t n = odd ? n_odd : n_even;
    uint8_t* dst = odd ? dst_odd : dst_even;
    for (int64_t done = 0; done < n; done += kChunk) {
      const int64_t len = std::min(kChunk, n - done);
      for (int j = 0; j < 4; ++j)
        for (int64_t i = 0; i < len; ++i) gathered[j][i] = src[j][2 * (done + i) + odd];
      interleave4(from, len, xor_mask, dst + done * 4);
    }
  }
}

}  // namespace

ConvPlan make_conv_plan(const ConvShape& s, Isa isa) {
  ConvPlan p;
  p.s = s;
  p.isa = isa;
  p.lanes = lanes_of(isa);
  p.mode = conv_quad_mode(s.cin_g);
  p.quads = conv_quads(s.cin_g, s.k_h, s.k_w);
  p.x_vectors = (s.out_w + p.lanes - 1) / p.lanes;
  // Staged pixels per phase: every column a lane vector may read, including the tail lanes.
  const int64_t max_x = p.x_vectors * p.lanes - 1;
  p.plen = max_x + (s.k_w - 1) * s.dil_w / s.stride_w + 1;
  p.row_bytes = s.stride_w * p.plen * 4;
  if (p.mode == QuadMode::kChannels) {
    p.planes = (s.cin_g + 3) / 4;
    p.stage_rows = (s.out_h - 1) * s.stride_h + (s.k_h - 1) * s.dil_h + 1;
    p.ystride = s.stride_h * p.row_bytes;
  } else {
    p.planes = (s.k_h + 3) / 4;
    p.stage_rows = s.out_h;
    p.ystride = p.row_bytes;
  }
  p.plane_bytes = p.stage_rows * p.row_bytes;
  // Interior padded columns [c0, c1) come from the input; phase ph holds columns ph, ph + sw, ...
  const int64_t sw = s.stride_w;
  const int64_t c0 = std::min(s.pad_left, sw * p.plen), c1 = std::min(s.pad_left + s.in_w, sw * p.plen);
  for (int64_t ph = 0; ph < sw; ++ph) {
    ConvPlan::Phase f;
    const int64_t first = c0 + ((ph - c0) % sw + sw) % sw;
    f.count = first < c1 ? (c1 - first + sw - 1) / sw : 0;
    f.src_col = first - s.pad_left;
    const int64_t idx0 = f.count ? first / sw : p.plen;
    f.dst = (ph * p.plen + idx0) * 4;
    f.pad_before = idx0 * 4;
    f.pad_after = (p.plen - idx0 - f.count) * 4;
    p.phases.push_back(f);
  }
  p.image_bytes = p.planes * p.plane_bytes;
  p.ones.assign(static_cast<size_t>(p.quads * 4), 0);
  if (p.mode == QuadMode::kChannels) {
    const int64_t cq = p.planes;
    for (int64_t kh = 0; kh < s.k_h; ++kh)
      for (int64_t kw = 0; kw < s.k_w; ++kw) {
        const int64_t col = column_offset(p, kw * s.dil_w);
        for (int64_t q = 0; q < cq; ++q) {
          p.offsets.push_back(static_cast<int32_t>(q * p.plane_bytes + kh * s.dil_h * p.row_bytes + col));
          for (int64_t j = 0; j < 4; ++j)
            if (q * 4 + j < s.cin_g) p.ones[static_cast<size_t>(((kh * s.k_w + kw) * cq + q) * 4 + j)] = 1;
        }
      }
  } else {
    for (int64_t rq = 0; rq < p.planes; ++rq)
      for (int64_t kw = 0; kw < s.k_w; ++kw) {
        p.offsets.push_back(static_cast<int32_t>(rq * p.plane_bytes + column_offset(p, kw * s.dil_w)));
        for (int64_t j = 0; j < 4; ++j)
          if (rq * 4 + j < s.k_h) p.ones[static_cast<size_t>((rq * s.k_w + kw) * 4 + j)] = 1;
      }
  }
  // Register blocks: the widest pixel block that fits beside a block of channels. AVX-512 has 32
  // vector registers (AVX2 16), of which the x vectors (twice over on AVX2) and temporaries take some.
  const int64_t cout_g = s.cout_g;
  if (isa == Isa::kAvx512Vnni) {
    p.ocb = cout_g >= 8 ? 8 : (cout_g >= 4 ? 4 : (cout_g >= 2 ? 2 : 1));
    p.xv = p.ocb == 8 ? 3 : 4;
  } else if (isa == Isa::kAvx2) {
    p.ocb = cout_g >= 4 ? 4 : (cout_g >= 2 ? 2 : 1);
    p.xv = p.ocb == 4 ? 2 : 3;
  }
  p.direct = isa == Isa::kAvx512Vnni && s.cin_g == 1 && s.k_w <= 4 &&
             (p.lanes - 1) * s.stride_w + (s.k_w - 1) * s.dil_w < 64 && avx512::has_vbmi();
  if (p.direct)
    for (int64_t i = 0; i < p.lanes; ++i)
      for (int64_t k = 0; k < 4; ++k)
        p.window_index[4 * i + k] = static_cast<uint8_t>(i * s.stride_w + (k < s.k_w ? k * s.dil_w : 0));
  const size_t align = 64;
  auto up = [&](size_t v) { return (v + align - 1) / align * align; };
  // Slack after the image: the last pixel vectors of the last row may read up to a vector past it.
  p.fill_offset = up(static_cast<size_t>(p.image_bytes) + 64);
  p.scratch_bytes = p.fill_offset + up(static_cast<size_t>(s.in_w) + 32);
  return p;
}

void stage_conv_image(const ConvPlan& p, const uint8_t* x, int64_t n, int64_t g, uint8_t xor_mask, uint8_t fill,
                      uint8_t* stage) {
  const ConvShape& s = p.s;
  const int64_t in_plane = s.in_h * s.in_w;
  const uint8_t* image = x + (n * s.c_in() + g * s.cin_g) * in_plane;
  const StageS1Fn s1 = p.isa == Isa::kAvx512Vnni ? &avx512::stage_s1
                       : p.isa == Isa::kAvx2     ? &avx2::stage_s1
                                                 : &interleave4;
  const StageS2Fn s2 = p.isa == Isa::kAvx512Vnni ? &avx512::stage_s2
                       : p.isa == Isa::kAvx2     ? &avx2::stage_s2
                                                 : &stage_s2_generic;
  // Absent sources (padding rows, channels past cin_g) read this row, which becomes `fill`.
  uint8_t* fill_row = stage + p.fill_offset;
  std::memset(fill_row, fill ^ xor_mask, static_cast<size_t>(s.in_w));
  if (p.isa == Isa::kAvx512Vnni && s.stride_w <= 2) {
    for (int64_t plane = 0; plane < p.planes; ++plane)
      avx512::stage_plane(p, image, plane, xor_mask, fill, fill_row, stage + plane * p.plane_bytes);
    return;
  }
  for (int64_t plane = 0; plane < p.planes; ++plane)
    for (int64_t r = 0; r < p.stage_rows; ++r) {
      const uint8_t* src[4];
      for (int64_t j = 0; j < 4; ++j) {
        int64_t ch, row;
        if (p.mode == QuadMode::kChannels) {
          ch = plane * 4 + j;
          row = r - s.pad_top;
        } else {
          const int64_t kh = plane * 4 + j;
          ch = kh < s.k_h ? 0 : s.cin_g;  // a padding row of the kernel reads nothing
          row = r * s.stride_h + kh * s.dil_h - s.pad_top;
        }
        src[j] = ch < s.cin_g && row >= 0 && row < s.in_h ? image + ch * in_plane + row * s.in_w : fill_row;
      }
      uint8_t* dst = stage + plane * p.plane_bytes + r * p.row_bytes;
      for (int64_t ph = 0; ph < s.stride_w; ++ph) {
        const ConvPlan::Phase& f = p.phases[ph];
        uint8_t* base = dst + ph * p.plen * 4;
        std::memset(base, fill, static_cast<size_t>(f.pad_before));
        std::memset(dst + f.dst + f.count * 4, fill, static_cast<size_t>(f.pad_after));
      }
      if (s.stride_w == 1) {
        const ConvPlan::Phase& f = p.phases[0];
        if (!f.count) continue;
        const uint8_t* from[4];
        for (int j = 0; j < 4; ++j) from[j] = src[j] + f.src_col;
        s1(from, f.count, xor_mask, dst + f.dst);
      } else if (s.stride_w == 2) {
        // The phase that starts one column earlier holds the "even" bytes from that column on.
        const ConvPlan::Phase& a = p.phases[0];
        const ConvPlan::Phase& b = p.phases[1];
        const bool a_first = !b.count || (a.count && a.src_col < b.src_col);
        const ConvPlan::Phase& even = a_first ? a : b;
        const ConvPlan::Phase& odd = a_first ? b : a;
        if (!even.count) continue;
        const uint8_t* from[4];
        for (int j = 0; j < 4; ++j) from[j] = src[j] + even.src_col;
        s2(from, even.count, odd.count, xor_mask, dst + even.dst, dst + odd.dst);
      } else {
        for (int64_t ph = 0; ph < s.stride_w; ++ph) {
          const ConvPlan::Phase& f = p.phases[ph];
          for (int64_t j = 0; j < 4; ++j)
            for (int64_t i = 0; i < f.count; ++i)
              dst[f.dst + i * 4 + j] = static_cast<uint8_t>(src[j][f.src_col + i * s.stride_w] ^ xor_mask);
        }
      }
    }
}

namespace {

void conv_image_scalar(const ConvPlan& p, const uint8_t* stage, const int8_t* packed, int64_t n, int64_t g,
                       const Epilogue& e, void* out) {
  const ConvShape& s = p.s;
  const int64_t out_plane = s.out_h * s.out_w;
  for (int64_t oc = 0; oc < s.cout_g; ++oc) {
    const int64_t c = g * s.cout_g + oc;
    const int8_t* w = packed + c * p.quads * 4;
    const int64_t out_base = (n * s.c_out() + c) * out_plane;
    for (int64_t y = 0; y < s.out_h; ++y)
      for (int64_t x = 0; x < s.out_w; ++x) {
        const uint8_t* origin = stage + y * p.ystride + x * 4;
        int32_t acc = 0;
        for (int64_t t = 0; t < p.quads; ++t)
          for (int64_t j = 0; j < 4; ++j) acc += origin[p.offsets[t] + j] * w[t * 4 + j];
        const int64_t pos = y * s.out_w + x;
        finish_scalar(acc, e, c, pos, out, out_base + pos);
      }
  }
}

void gemm_scalar(const uint8_t* a, int64_t lda, int64_t rows, const int8_t* packed, int64_t k, int64_t n_cols,
                 const Epilogue& e, void* out) {
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t j = 0; j < n_cols; ++j) {
      int32_t acc = 0;
      for (int64_t kk = 0; kk < k; ++kk) acc += a[m * lda + kk] * packed_gemm_weight(packed, k, n_cols, kk, j);
      finish_scalar(acc, e, j, m, out, m * n_cols + j);
    }
}

}  // namespace

void conv_image(const ConvPlan& p, const uint8_t* stage, const int8_t* packed, int64_t n, int64_t g,
                const Epilogue& e, void* out) {
  switch (p.isa) {
    case Isa::kAvx512Vnni: return avx512::conv_image(p, stage, packed, n, g, e, out);
    case Isa::kAvx2: return avx2::conv_image(p, stage, packed, n, g, e, out);
    case Isa::kScalar: return conv_image_scalar(p, stage, packed, n, g, e, out);
  }
}

void conv_image_direct(const ConvPlan& p, const uint8_t* x, const int32_t* taps, int64_t n, int64_t g,
                       uint8_t xor_mask, uint8_t fill, const Epilogue& e, void* out) {
  avx512::conv_image_direct(p, x, taps, n, g, xor_mask, fill, e, out);  // only AVX-512 plans are direct
}

void gemm(Isa isa, const uint8_t* a, int64_t lda, int64_t rows, const int8_t* packed, int64_t k, int64_t n_cols,
          const Epilogue& e, void* out) {
  switch (isa) {
    case Isa::kAvx512Vnni: return avx512::gemm(a, lda, rows, packed, k, n_cols, e, out);
    case Isa::kAvx2: return avx2::gemm(a, lda, rows, packed, k, n_cols, e, out);
    case Isa::kScalar: return gemm_scalar(a, lda, rows, packed, k, n_cols, e, out);
  }
}

bool gemm_dyn_row(Isa isa, const DynRow& r, const DynRowIo& io) {
  switch (isa) {
    case Isa::kAvx512Vnni: return avx512::dyn_row(r, io);
    case Isa::kAvx2: return avx2::dyn_row(r, io);
    case Isa::kScalar: return false;
  }
  return false;
}

void row_sums(Isa isa, const int8_t* w, int64_t rows, int64_t len, int32_t* out) {
  if (isa == Isa::kAvx512Vnni) return avx512::row_sums(w, rows, len, out);
  for (int64_t r = 0; r < rows; ++r) {
    int32_t sum = 0;
    for (int64_t i = 0; i < len; ++i) sum += w[r * len + i];
    out[r] = sum;
  }
}

void reset_range(Isa isa, float* acc) {
  switch (isa) {
    case Isa::kAvx512Vnni: return avx512::reset_range(acc);
    case Isa::kAvx2: return avx2::reset_range(acc);
    case Isa::kScalar: return int8::reset_range(acc);
  }
}

void quantize_u8(Isa isa, const float* x, int64_t n, float scale, int32_t zp, uint8_t* out, bool bounded) {
  switch (isa) {
    case Isa::kAvx512Vnni: return avx512::quantize_u8(x, n, scale, zp, bounded, out);
    case Isa::kAvx2: return avx2::quantize_u8(x, n, scale, zp, bounded, out);
    case Isa::kScalar:
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(quantize_saturate(x[i] / scale, zp, 0, 255));
      return;
  }
}

bool quantize_quads_fits(const ConvPlan& p) {
  const ConvShape& s = p.s;
  // Then the plan stages one row per plane, plen >= in_w pixels long, with no padding before it.
  return !p.direct && p.mode == QuadMode::kChannels && s.in_h == 1 && s.out_h == 1 && s.k_h == 1 && s.k_w == 1 &&
         s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 && s.pad_left == 0 && s.out_w == s.in_w;
}

void quantize_quads(Isa isa, const float* x, int64_t channels, int64_t pixels, int64_t plen, float scale, int32_t zp,
                    bool bounded, uint8_t* stage, int64_t plane_bytes) {
  switch (isa) {
    case Isa::kAvx512Vnni: return avx512::quantize_quads(x, channels, pixels, plen, scale, zp, bounded, stage, plane_bytes);
    case Isa::kAvx2: return avx2::quantize_quads(x, channels, pixels, plen, scale, zp, bounded, stage, plane_bytes);
    case Isa::kScalar:
      for (int64_t plane = 0; plane * 4 < channels; ++plane)
        for (int64_t i = 0; i < plen; ++i)
          for (int64_t j = 0; j < 4; ++j) {
            const int64_t c = plane * 4 + j;
            const float v = c < channels && i < pixels ? x[c * pixels + i] : 0.0f;
            stage[plane * plane_bytes + 4 * i + j] = static_cast<uint8_t>(quantize_saturate(v / scale, zp, 0, 255));
          }
      return;
  }
}

void range_f32(Isa isa, const float* x, int64_t n, float* lo, float* hi, bool* has_nonfinite) {
  switch (isa) {
    case Isa::kAvx512Vnni: return avx512::range_f32(x, n, lo, hi, has_nonfinite);
    case Isa::kAvx2: return avx2::range_f32(x, n, lo, hi, has_nonfinite);
    case Isa::kScalar: {
      float l = 0.0f, h = 0.0f;
      bool nan = false;
      for (int64_t i = 0; i < n; ++i) {
        if (x[i] < l) l = x[i];
        if (x[i] > h) h = x[i];
        nan |= x[i] - x[i] != 0.0f;  // NaN for NaN and infinities
      }
      *lo = l;
      *hi = h;
      *has_nonfinite = nan;
      return;
    }
  }
}

}  // namespace tinyq::kernels::int8
