// The SIMD body of the int8 engine (engine.h), written once against a small `Ops` interface and
// compiled per instruction set: engine_avx512.cpp and engine_avx2.cpp define Ops, set the target
// and include this file inside their own namespace. No #include here, so nothing from the
// standard library is compiled with the wider target.
//
// Ops provides: L (lanes), I/F (int32/float vectors), XP/WP (activations/weights prepared for
// dot), prep_x/prep_wb (conv: activation vector, broadcast weight quad), prep_xb/prep_wv (GEMM:
// broadcast activation quad, weight vector), quad_xb (prep_xb from a register of bytes, for the
// fused one-row form), dot (acc += four u8 x s8 products per lane, exact), kFormBlocks (whether
// rows blocks are compiled per epilogue form, see with_form), kRowStores (whether rows blocks
// store a row's full-range outputs at once, see rows_block_finish_k), and the integer/float
// vector helpers the epilogue and quantisation use.

// Register blocks only stay in registers when their loops are fully unrolled.
#define TINYQ_UNROLL _Pragma("GCC unroll 32")
#define TINYQ_NOINLINE __attribute__((noinline))
#define TINYQ_INLINE __attribute__((always_inline)) inline

// Per-channel epilogue operands as vectors: broadcasts (conv: channels are rows of lanes) or
// loads (GEMM: channels are lanes).
struct ChanVecs {
  Ops::I w_zp;
  Ops::F scale, bias;
};

inline ChanVecs chan_broadcast(const Epilogue& e, int64_t c) {
  ChanVecs v;
  v.w_zp = e.rowsum ? Ops::set1i(e.w_zp[c]) : Ops::zeroi();
  v.scale = Ops::set1f(e.scale[c]);
  v.bias = Ops::set1f(e.bias ? e.bias[c] : -0.0f);  // -0: the neutral summand (see finish_vec)
  return v;
}

inline ChanVecs chan_load(const Epilogue& e, int64_t c0, int count) {
  ChanVecs v;
  v.w_zp = e.rowsum ? Ops::loadi(e.w_zp + c0, count) : Ops::zeroi();
  v.scale = Ops::loadf(e.scale + c0, count);
  v.bias = e.bias ? Ops::loadf(e.bias + c0, count) : Ops::set1f(-0.0f);  // the neutral summand
  return v;
}

// Block-invariant epilogue constants as vectors, built once per register block.
struct EpiVecs {
  Ops::F lo, hi, y_scale;
  Ops::I y_zp, q_lo, q_hi;
  Ops::I full_zp;  // y_zp as Ops::store_full wants it
};

inline EpiVecs epi_vecs(const Epilogue& e) {
  // Without a clamp the bounds are infinite, which lets the fast epilogues clamp unconditionally:
  // min(inf, max(-inf, f)) is f for every f, NaN and -0 included.
  const float inf = std::numeric_limits<float>::infinity();
  return {Ops::set1f(e.clamp ? e.lo : -inf), Ops::set1f(e.clamp ? e.hi : inf), Ops::set1f(e.y_scale),
          Ops::set1i(e.y_zp),                Ops::set1i(e.q_lo),               Ops::set1i(e.q_hi),
          Ops::full_zp(e.y_zp, e.y_signed)};
}

// quantize_saturate of float(sum) * scale. When the caller proved the product finite and below
// 2^30 in magnitude (Epilogue::bounded), its NaN and range guards are no-ops and are skipped.
inline Ops::I requantize(Ops::F f, const Epilogue& e, const EpiVecs& k) {
  if (e.bounded) return Ops::quant_bounded(f, k.y_zp, k.q_lo, k.q_hi);
  return Ops::quant(f, e.y_zp, e.q_lo, e.q_hi);
}

// The output range being gathered (Epilogue::range_acc), held in registers for one block.
struct RangeVecs {
  Ops::F lo, hi, bad;
};

inline RangeVecs load_range(const Epilogue& e) {
  if (!e.range_acc) return {Ops::zerof(), Ops::zerof(), Ops::zerof()};
  return {Ops::loadf(e.range_acc, Ops::L), Ops::loadf(e.range_acc + kRangeLanes, Ops::L),
          Ops::loadf(e.range_acc + 2 * kRangeLanes, Ops::L)};
}

inline void store_range(const Epilogue& e, const RangeVecs& r) {
  if (!e.range_acc) return;
  Ops::storef(e.range_acc, r.lo, Ops::L);
  Ops::storef(e.range_acc + kRangeLanes, r.hi, Ops::L);
  Ops::storef(e.range_acc + 2 * kRangeLanes, r.bad, Ops::L);
}

// The epilogue forms that get straight-line code (their flags fixed at compile time); the rest
// take the generic form, which tests each flag per vector.
enum class EpiForm {
  kQuantFull,   // kQuant, bounded, no weight zero points, [q_lo, q_hi] the whole output type
  kQuant,       // kQuant, bounded, no weight zero points
  kFloat,       // kFloat, no weight zero points, no residual, no range
  kFloatRange,  // kFloat, no weight zero points, no residual, gathering the range
  kFloatRangeNonNeg,  // kFloatRange clamped below at lo >= 0 (Relu, Clip(0, hi)): the range's low
                      // bound stays 0, so only its high bound is gathered
  kGeneric,
  kAny,  // not a form: blocks compiled for kAny read the form per call (an out-of-line dispatch)
};

inline EpiForm epi_form(const Epilogue& e) {
  if (e.rowsum || e.residual) return EpiForm::kGeneric;
  if (e.kind == OutKind::kQuant) {
    if (!e.bounded) return EpiForm::kGeneric;
    const bool full = e.y_signed ? (e.q_lo == -128 && e.q_hi == 127) : (e.q_lo == 0 && e.q_hi == 255);
    return full ? EpiForm::kQuantFull : EpiForm::kQuant;
  }
  if (e.kind == OutKind::kFloat) {
    if (!e.range_acc) return EpiForm::kFloat;
    // Clamped values are >= lo >= 0 (or -0, or NaN, which the low bound skips anyway).
    return e.clamp && e.lo >= 0.0f ? EpiForm::kFloatRangeNonNeg : EpiForm::kFloatRange;
  }
  return EpiForm::kGeneric;
}

template <bool kLow = true>
inline void gather_range(Ops::F f, const Epilogue& e, RangeVecs& range, int count) {
  // Lanes past `count` are not output values: 0 leaves a range around 0 unchanged.
  const Ops::F z = Ops::zero_tail(f, count);
  if constexpr (kLow) range.lo = Ops::min_keep(z, range.lo);
  range.hi = Ops::max_keep(z, range.hi);
  if (e.range_nan) range.bad = Ops::addf(range.bad, Ops::mulf(z, Ops::zerof()));  // NaN from NaN, inf
}

// Finishes one vector of sums: `count` lanes go to output elements idx.. of `out`. The blocks start
// their accumulators at corr[c] (Epilogue::corr), so acc already holds the raw sum plus corr.
// rowsum: the activation sums of the lanes' positions (used only with e.rowsum). The fixed forms
// add a missing bias as -0 and clamp to infinite bounds, both of which leave every value, -0 and
// NaN included, unchanged.
template <EpiForm Form>
inline void finish_vec(Ops::I acc, const ChanVecs& cv, Ops::I rowsum, const Epilogue& e, const EpiVecs& k,
                       RangeVecs& range, void* out, int64_t idx, int count) {
  if constexpr (Form == EpiForm::kQuantFull) {  // the output type's saturation is the clamp
    const Ops::F f = Ops::addf(Ops::mulf(Ops::cvt(acc), cv.scale), cv.bias);
    Ops::store_full(static_cast<uint8_t*>(out) + idx, f, k.full_zp, count, e.y_signed);
    return;
  } else if constexpr (Form == EpiForm::kQuant) {
    const Ops::F f = Ops::addf(Ops::mulf(Ops::cvt(acc), cv.scale), cv.bias);
    Ops::storeq(static_cast<uint8_t*>(out) + idx, Ops::quant_bounded(f, k.y_zp, k.q_lo, k.q_hi), count, e.y_signed);
    return;
  } else if constexpr (Form == EpiForm::kFloat || Form == EpiForm::kFloatRange || Form == EpiForm::kFloatRangeNonNeg) {
    Ops::F f = Ops::addf(Ops::mulf(Ops::cvt(acc), cv.scale), cv.bias);
    f = Ops::clamp(f, k.lo, k.hi);
    Ops::storef(static_cast<float*>(out) + idx, f, count);
    if constexpr (Form == EpiForm::kFloatRange) gather_range(f, e, range, count);
    if constexpr (Form == EpiForm::kFloatRangeNonNeg) gather_range</*kLow=*/false>(f, e, range, count);
    return;
  }
  Ops::I s = acc;
  if (e.rowsum) s = Ops::subi(s, Ops::mullo(cv.w_zp, rowsum));
  switch (e.kind) {
    case OutKind::kFloat: {
      Ops::F f = Ops::mulf(Ops::cvt(s), cv.scale);
      if (e.bias) f = Ops::addf(f, cv.bias);
      if (e.residual) f = Ops::addf(f, Ops::loadf(e.residual + idx, count));
      if (e.clamp) f = Ops::clamp(f, k.lo, k.hi);
      Ops::storef(static_cast<float*>(out) + idx, f, count);
      if (e.range_acc) gather_range(f, e, range, count);
      return;
    }
    case OutKind::kQuant: {
      Ops::F f = Ops::mulf(Ops::cvt(s), cv.scale);
      if (e.bias) f = Ops::addf(f, cv.bias);
      const Ops::I q = requantize(f, e, k);
      Ops::storeq(static_cast<uint8_t*>(out) + idx, q, count, e.y_signed);
      return;
    }
    case OutKind::kQuantDequant: {
      Ops::F f = Ops::mulf(Ops::cvt(s), cv.scale);
      if (e.bias) f = Ops::addf(f, cv.bias);
      const Ops::I q = requantize(f, e, k);
      Ops::storef(static_cast<float*>(out) + idx, Ops::mulf(Ops::cvt(Ops::subi(q, k.y_zp)), k.y_scale), count);
      return;
    }
    case OutKind::kInt32:
      Ops::storei(static_cast<int32_t*>(out) + idx, s, count);
      return;
  }
}

// ---- Convolution ----

struct ConvBlockArgs {
  const uint8_t* origin;   // staged origin of the block's first pixel
  const int32_t* offsets;  // per quad
  int64_t quads;
  const int8_t* w;         // first channel's [T][4] weights
  int64_t wstride;         // bytes between channels' weights
  int64_t c0;              // first (global) output channel
  int64_t out_index;       // output element of (c0, first pixel)
  int64_t ch_stride;       // output elements between channels
  int64_t pos;             // position of the first pixel in the output plane
  int last_count;          // valid lanes of the last pixel vector
};

// The epilogue of a conv block, inlined into the block: the sums then go from registers to the
// epilogue without a trip through memory. (Out of line, the block stored every sum and the
// epilogue loaded it again; inlining measured 1-3% faster on nr_metric_v1 and learned_filter_v1,
// dynamic and static, Zen 4.)
template <EpiForm K, int OCB, int XV>
TINYQ_INLINE void conv_block_finish_k(const Ops::I (&acc)[OCB][XV], const ConvBlockArgs& a_in,
                                        const Epilogue& e_in, void* out) {
  // Local copies: output stores may alias the caller's Epilogue and block arguments, which would
  // force the compiler to reload their fields after every store.
  const Epilogue e = e_in;
  const ConvBlockArgs a = a_in;
  const EpiVecs k = epi_vecs(e);
  RangeVecs range = load_range(e);
  if constexpr (K == EpiForm::kQuantFull && XV > 1) {
    // A channel's XV pixel vectors are consecutive output bytes: packed and stored together
    // (Ops::store_full_row), with finish_vec's arithmetic.
    TINYQ_UNROLL
    for (int o = 0; o < OCB; ++o) {
      const ChanVecs cv = chan_broadcast(e, a.c0 + o);
      Ops::F f[XV];
      TINYQ_UNROLL
      for (int v = 0; v < XV; ++v) f[v] = Ops::addf(Ops::mulf(Ops::cvt(acc[o][v]), cv.scale), cv.bias);
      Ops::template store_full_row<XV>(static_cast<uint8_t*>(out) + a.out_index + o * a.ch_stride, f, k.full_zp,
                                       a.last_count, e.y_signed);
    }
    return;
  }
  TINYQ_UNROLL
  for (int o = 0; o < OCB; ++o) {
    const ChanVecs cv = chan_broadcast(e, a.c0 + o);
    TINYQ_UNROLL
    for (int v = 0; v < XV; ++v) {
      const int count = v == XV - 1 ? a.last_count : Ops::L;
      const Ops::I rows = e.rowsum ? Ops::loadi(e.rowsum + a.pos + v * Ops::L, count) : Ops::zeroi();
      finish_vec<K>(acc[o][v], cv, rows, e, k, range, out, a.out_index + o * a.ch_stride + v * Ops::L, count);
    }
  }
  store_range(e, range);
}

// Calls fn(FormTag<K>{}) with the form K of an image's epilogue, for blocks compiled per form
// with their epilogue inlined (measured 5-9% faster on nr_metric_v1's depthwise layers, Zen 4).
// Only the common forms get their own blocks; the rest, and ISAs without Ops::kFormBlocks, share
// the kAny blocks. Channel blocks (conv_block) keep the out-of-line dispatch: inlined there, GCC 12
// moved their accumulators through memory on every quad (measured 50% slower).
template <EpiForm K>
struct FormTag {
  static constexpr EpiForm kForm = K;
};
template <typename Fn>
TINYQ_INLINE auto with_form(EpiForm form, Fn&& fn) {
  if constexpr (!Ops::kFormBlocks) return fn(FormTag<EpiForm::kAny>{});
  switch (form) {
    case EpiForm::kQuantFull: return fn(FormTag<EpiForm::kQuantFull>{});
    case EpiForm::kFloat: return fn(FormTag<EpiForm::kFloat>{});
    case EpiForm::kFloatRange: return fn(FormTag<EpiForm::kFloatRange>{});
    case EpiForm::kFloatRangeNonNeg: return fn(FormTag<EpiForm::kFloatRangeNonNeg>{});
    case EpiForm::kQuant:
    case EpiForm::kGeneric:
    case EpiForm::kAny: break;
  }
  return fn(FormTag<EpiForm::kAny>{});
}

template <int OCB, int XV>
inline void conv_block_finish(const Ops::I (&acc)[OCB][XV], const ConvBlockArgs& a, const Epilogue& e, void* out) {
  switch (epi_form(e)) {
    case EpiForm::kQuantFull: return conv_block_finish_k<EpiForm::kQuantFull, OCB, XV>(acc, a, e, out);
    case EpiForm::kQuant: return conv_block_finish_k<EpiForm::kQuant, OCB, XV>(acc, a, e, out);
    case EpiForm::kFloat: return conv_block_finish_k<EpiForm::kFloat, OCB, XV>(acc, a, e, out);
    case EpiForm::kFloatRange: return conv_block_finish_k<EpiForm::kFloatRange, OCB, XV>(acc, a, e, out);
    case EpiForm::kFloatRangeNonNeg: return conv_block_finish_k<EpiForm::kFloatRangeNonNeg, OCB, XV>(acc, a, e, out);
    case EpiForm::kGeneric:
    case EpiForm::kAny:  // never epi_form's result
      return conv_block_finish_k<EpiForm::kGeneric, OCB, XV>(acc, a, e, out);
  }
}

// OCB output channels x XV pixel vectors, accumulated in registers over all quads.
template <int OCB, int XV>
void conv_block(const ConvBlockArgs& a, const Epilogue& e, void* out) {
  Ops::I acc[OCB][XV];
  TINYQ_UNROLL
  for (int o = 0; o < OCB; ++o)
    TINYQ_UNROLL
    for (int v = 0; v < XV; ++v) acc[o][v] = Ops::set1i(e.corr[a.c0 + o]);  // see finish_vec
  const uint8_t* origin = a.origin;
  const int8_t* w = a.w;
  const int64_t wstride = a.wstride;
  const int32_t* offsets = a.offsets;
  for (int64_t t = 0; t < a.quads; ++t, w += 4) {
    const uint8_t* src = origin + offsets[t];
    typename Ops::XP x[XV];
    TINYQ_UNROLL
    for (int v = 0; v < XV; ++v) x[v] = Ops::prep_x(Ops::loadu(src + v * Ops::L * 4));
    TINYQ_UNROLL
    for (int o = 0; o < OCB; ++o) {
      const typename Ops::WP wq = Ops::prep_wb(w + o * wstride);
      TINYQ_UNROLL
      for (int v = 0; v < XV; ++v) acc[o][v] = Ops::dot(acc[o][v], x[v], wq);
    }
  }
  // A separate array for the epilogue: taking acc's address would keep it in memory in the loop.
  Ops::I done[OCB][XV];
  TINYQ_UNROLL
  for (int o = 0; o < OCB; ++o)
    TINYQ_UNROLL
    for (int v = 0; v < XV; ++v) done[o][v] = acc[o][v];
  conv_block_finish<OCB, XV>(done, a, e, out);
}

// One output channel (depthwise, or a single-channel output): R output rows x XV pixel vectors
// per block instead, so that small planes still give the registers enough work per call.
template <EpiForm K, int R, int XV>
TINYQ_INLINE void rows_block_finish_k(const Ops::I (&acc)[R][XV], const ConvBlockArgs& a_in, int64_t out_w,
                                        const Epilogue& e_in, void* out) {
  const Epilogue e = e_in;  // see conv_block_finish_k
  const ConvBlockArgs a = a_in;
  const EpiVecs k = epi_vecs(e);
  RangeVecs range = load_range(e);
  const ChanVecs cv = chan_broadcast(e, a.c0);
  if constexpr (K == EpiForm::kQuantFull && XV > 1 && Ops::kRowStores) {
    // A row's XV pixel vectors are consecutive output bytes: packed and stored together, as in
    // conv_block_finish_k, instead of a narrowing store per vector (measured 10% faster on
    // nr_metric_v1's 56-wide stride-1 depthwise layer, static, Zen 4; the 28-wide one is unchanged).
    TINYQ_UNROLL
    for (int r = 0; r < R; ++r) {
      Ops::F f[XV];
      TINYQ_UNROLL
      for (int v = 0; v < XV; ++v) f[v] = Ops::addf(Ops::mulf(Ops::cvt(acc[r][v]), cv.scale), cv.bias);
      Ops::template store_full_row<XV>(static_cast<uint8_t*>(out) + a.out_index + r * out_w, f, k.full_zp,
                                       a.last_count, e.y_signed);
    }
    return;
  }
  TINYQ_UNROLL
  for (int r = 0; r < R; ++r) {
    TINYQ_UNROLL
    for (int v = 0; v < XV; ++v) {
      const int count = v == XV - 1 ? a.last_count : Ops::L;
      const int64_t pos = a.pos + r * out_w + v * Ops::L;
      const Ops::I rows = e.rowsum ? Ops::loadi(e.rowsum + pos, count) : Ops::zeroi();
      finish_vec<K>(acc[r][v], cv, rows, e, k, range, out, a.out_index + r * out_w + v * Ops::L, count);
    }
  }
  store_range(e, range);
}

template <int R, int XV>
inline void rows_block_finish(const Ops::I (&acc)[R][XV], const ConvBlockArgs& a, int64_t out_w, const Epilogue& e,
                              void* out) {
  switch (epi_form(e)) {
    case EpiForm::kQuantFull: return rows_block_finish_k<EpiForm::kQuantFull, R, XV>(acc, a, out_w, e, out);
    case EpiForm::kQuant: return rows_block_finish_k<EpiForm::kQuant, R, XV>(acc, a, out_w, e, out);
    case EpiForm::kFloat: return rows_block_finish_k<EpiForm::kFloat, R, XV>(acc, a, out_w, e, out);
    case EpiForm::kFloatRange: return rows_block_finish_k<EpiForm::kFloatRange, R, XV>(acc, a, out_w, e, out);
    case EpiForm::kFloatRangeNonNeg:
      return rows_block_finish_k<EpiForm::kFloatRangeNonNeg, R, XV>(acc, a, out_w, e, out);
    case EpiForm::kGeneric:
    case EpiForm::kAny:  // never epi_form's result
      return rows_block_finish_k<EpiForm::kGeneric, R, XV>(acc, a, out_w, e, out);
  }
}

// The epilogue of a rows block compiled for form K: inlined, or dispatched for kAny.
template <EpiForm K, int R, int XV>
TINYQ_INLINE void rows_finish(const Ops::I (&acc)[R][XV], const ConvBlockArgs& a, int64_t out_w, const Epilogue& e,
                              void* out) {
  if constexpr (K == EpiForm::kAny) rows_block_finish<R, XV>(acc, a, out_w, e, out);
  else rows_block_finish_k<K, R, XV>(acc, a, out_w, e, out);
}

template <EpiForm K, int R, int XV>
void rows_block(const ConvBlockArgs& a, int64_t ystride, int64_t out_w, const Epilogue& e, void* out) {
  Ops::I acc[R][XV];
  TINYQ_UNROLL
  for (int r = 0; r < R; ++r)
    TINYQ_UNROLL
    for (int v = 0; v < XV; ++v) acc[r][v] = Ops::set1i(e.corr[a.c0]);  // see finish_vec
  const int8_t* w = a.w;
  for (int64_t t = 0; t < a.quads; ++t) {
    const typename Ops::WP wq = Ops::prep_wb(w + t * 4);
    const uint8_t* src = a.origin + a.offsets[t];
    TINYQ_UNROLL
    for (int r = 0; r < R; ++r)
      TINYQ_UNROLL
      for (int v = 0; v < XV; ++v)
        acc[r][v] = Ops::dot(acc[r][v], Ops::prep_x(Ops::loadu(src + r * ystride + v * Ops::L * 4)), wq);
  }
  Ops::I done[R][XV];  // see conv_block
  TINYQ_UNROLL
  for (int r = 0; r < R; ++r)
    TINYQ_UNROLL
    for (int v = 0; v < XV; ++v) done[r][v] = acc[r][v];
  rows_finish<K, R, XV>(done, a, out_w, e, out);
}

using RowsBlockFn = void (*)(const ConvBlockArgs&, int64_t, int64_t, const Epilogue&, void*);

// Rows per block for xv pixel vectors (as many accumulators as fit), then smaller remainders
// (which are rarer, and share the kAny blocks).
template <EpiForm K, int XV>
RowsBlockFn rows_block_fn(int rows) {
  if (rows == kRowsFor[XV - 1]) return &rows_block<K, kRowsFor[XV - 1], XV>;
  if (rows >= 4) return &rows_block<EpiForm::kAny, 4, XV>;
  if (rows >= 2) return &rows_block<EpiForm::kAny, 2, XV>;
  return &rows_block<EpiForm::kAny, 1, XV>;
}

RowsBlockFn rows_block_fn(EpiForm form, int rows, int xv) {
  return with_form(form, [&](auto f) {
    constexpr EpiForm K = decltype(f)::kForm;
    switch (xv) {
      case 1: return rows_block_fn<K, 1>(rows);
      case 2: return rows_block_fn<K, 2>(rows);
      case 3: return rows_block_fn<K, 3>(rows);
      default: return rows_block_fn<K, 4>(rows);
    }
  });
}

// Single output channel per group: blocks of rows x pixel vectors.
void conv_image_rows(const ConvPlan& p, const uint8_t* stage, const int8_t* packed, int64_t n, int64_t g,
                     const Epilogue& e, void* out) {
  const ConvShape& s = p.s;
  const int64_t out_plane = s.out_h * s.out_w;
  const EpiForm form = epi_form(e);
  ConvBlockArgs a;
  a.offsets = p.offsets.data();
  a.quads = p.quads;
  a.wstride = p.quads * 4;
  a.ch_stride = out_plane;
  a.c0 = g;
  a.w = packed + g * a.wstride;
  for (int64_t xv0 = 0; xv0 < p.x_vectors;) {
    const int xv = static_cast<int>(p.x_vectors - xv0 < 4 ? p.x_vectors - xv0 : 4);
    const int64_t x0 = xv0 * Ops::L;
    const int64_t last_x = x0 + (xv - 1) * Ops::L;
    a.last_count = static_cast<int>(s.out_w - last_x < Ops::L ? s.out_w - last_x : Ops::L);
    const int full = kRowsFor[xv - 1];
    for (int64_t y = 0; y < s.out_h;) {
      const int64_t left = s.out_h - y;
      const int rows = left >= full ? full : (left >= 4 ? 4 : (left >= 2 ? 2 : 1));
      a.origin = stage + y * p.ystride + x0 * 4;
      a.pos = y * s.out_w + x0;
      a.out_index = (n * s.c_out() + g) * out_plane + a.pos;
      rows_block_fn(form, rows, xv)(a, p.ystride, s.out_w, e, out);
      y += rows;
    }
    xv0 += xv;
  }
}

// conv_block for exactly T quads (short pointwise convolutions: 16, 32 and 64 input channels),
// fully unrolled, with the epilogue of form K inlined: without the quad loop the sums stay in
// registers through the epilogue (measured 4-11% faster on nr_metric_v1's pointwise layers, Zen 4).
template <EpiForm K, int OCB, int XV, int T>
void conv_block_quads(const ConvBlockArgs& a, const Epilogue& e, void* out) {
  Ops::I acc[OCB][XV];
  TINYQ_UNROLL
  for (int o = 0; o < OCB; ++o)
    TINYQ_UNROLL
    for (int v = 0; v < XV; ++v) acc[o][v] = Ops::set1i(e.corr[a.c0 + o]);  // see finish_vec
  const uint8_t* origin = a.origin;
  const int8_t* w = a.w;
  const int64_t wstride = a.wstride;
  const int32_t* offsets = a.offsets;
  TINYQ_UNROLL
  for (int t = 0; t < T; ++t) {
    const uint8_t* src = origin + offsets[t];
    typename Ops::XP x[XV];
    TINYQ_UNROLL
    for (int v = 0; v < XV; ++v) x[v] = Ops::prep_x(Ops::loadu(src + v * Ops::L * 4));
    TINYQ_UNROLL
    for (int o = 0; o < OCB; ++o) {
      const typename Ops::WP wq = Ops::prep_wb(w + o * wstride + t * 4);
      TINYQ_UNROLL
      for (int v = 0; v < XV; ++v) acc[o][v] = Ops::dot(acc[o][v], x[v], wq);
    }
  }
  Ops::I done[OCB][XV];  // see conv_block
  TINYQ_UNROLL
  for (int o = 0; o < OCB; ++o)
    TINYQ_UNROLL
    for (int v = 0; v < XV; ++v) done[o][v] = acc[o][v];
  conv_block_finish_k<K, OCB, XV>(done, a, e, out);
}

using ConvBlockFn = void (*)(const ConvBlockArgs&, const Epilogue&, void*);

// The conv_block_quads of a full block (kMaxOcb channels x 3 vectors, make_conv_plan's block),
// or null.
ConvBlockFn conv_block_quads_fn(EpiForm form, int64_t quads) {
  if constexpr (!Ops::kFormBlocks) return nullptr;
  return with_form(form, [&](auto f) -> ConvBlockFn {
    constexpr EpiForm K = decltype(f)::kForm;
    if constexpr (K == EpiForm::kAny) {
      return nullptr;
    } else {
      switch (quads) {
        case 4: return &conv_block_quads<K, kMaxOcb, 3, 4>;
        case 8: return &conv_block_quads<K, kMaxOcb, 3, 8>;
        case 16: return &conv_block_quads<K, kMaxOcb, 3, 16>;
        default: return nullptr;
      }
    }
  });
}

template <int OCB>
ConvBlockFn conv_block_fn(int xv) {
  switch (xv) {
    case 1: return &conv_block<OCB, 1>;
    case 2: return &conv_block<OCB, 2>;
    case 3: return &conv_block<OCB, 3>;
    default: return &conv_block<OCB, kMaxXv>;
  }
}

ConvBlockFn conv_block_fn(int ocb, int xv) {
  switch (ocb) {
    case 1: return conv_block_fn<1>(xv);
    case 2: return conv_block_fn<2>(xv);
    case 4: return conv_block_fn<4>(xv);
    default: return conv_block_fn<kMaxOcb>(xv);
  }
}

void conv_image_impl(const ConvPlan& p, const uint8_t* stage, const int8_t* packed, int64_t n, int64_t g,
                const Epilogue& e, void* out) {
  const ConvShape& s = p.s;
  if (s.cout_g == 1) return conv_image_rows(p, stage, packed, n, g, e, out);
  const int64_t out_plane = s.out_h * s.out_w;
  const int64_t wstride = p.quads * 4;
  ConvBlockArgs a;
  a.offsets = p.offsets.data();
  a.quads = p.quads;
  a.wstride = wstride;
  a.ch_stride = out_plane;
  const ConvBlockFn full = p.ocb == kMaxOcb && p.xv == 3 ? conv_block_quads_fn(epi_form(e), p.quads) : nullptr;
  for (int64_t y = 0; y < s.out_h; ++y) {
    const uint8_t* row = stage + y * p.ystride;
    int64_t oc0 = 0;
    while (oc0 < s.cout_g) {
      const int64_t left = s.cout_g - oc0;
      const int ocb = left >= p.ocb ? p.ocb : (left >= 4 ? 4 : (left >= 2 ? 2 : 1));
      const int64_t c = g * s.cout_g + oc0;
      a.w = packed + c * wstride;
      a.c0 = c;
      for (int64_t xv0 = 0; xv0 < p.x_vectors;) {
        const int xv = static_cast<int>(p.x_vectors - xv0 < p.xv ? p.x_vectors - xv0 : p.xv);
        const int64_t x0 = xv0 * Ops::L;
        const int64_t last_x = x0 + (xv - 1) * Ops::L;
        a.last_count = static_cast<int>(s.out_w - last_x < Ops::L ? s.out_w - last_x : Ops::L);
        a.origin = row + x0 * 4;
        a.pos = y * s.out_w + x0;
        a.out_index = (n * s.c_out() + c) * out_plane + a.pos;
        (full && ocb == kMaxOcb && xv == 3 ? full : conv_block_fn(ocb, xv))(a, e, out);
        xv0 += xv;
      }
      oc0 += ocb;
    }
  }
}

// ---- GEMM ----

struct GemmBlockArgs {
  const uint8_t* a;  // first row
  int64_t lda;
  int64_t kq;
  const int8_t* packed;
  int64_t panel;         // columns per panel (packing.h)
  int64_t panel_stride;  // bytes per panel
  int64_t n0;            // first column
  int64_t m0;            // first row
  int64_t n_cols;
  int last_count;        // valid lanes of the last column vector
};

template <EpiForm K, int MB, int NV>
TINYQ_NOINLINE void gemm_block_finish_k(const Ops::I (&acc)[MB][NV], const GemmBlockArgs& g_in, const Epilogue& e_in,
                                        void* out) {
  const Epilogue e = e_in;  // see conv_block_finish_k
  const GemmBlockArgs g = g_in;
  const EpiVecs k = epi_vecs(e);
  RangeVecs range = load_range(e);
  TINYQ_UNROLL
  for (int v = 0; v < NV; ++v) {
    const int count = v == NV - 1 ? g.last_count : Ops::L;
    const int64_t col = g.n0 + v * Ops::L;
    const ChanVecs cv = chan_load(e, col, count);
    TINYQ_UNROLL
    for (int m = 0; m < MB; ++m) {
      const Ops::I rows = e.rowsum ? Ops::set1i(e.rowsum[g.m0 + m]) : Ops::zeroi();
      finish_vec<K>(acc[m][v], cv, rows, e, k, range, out, (g.m0 + m) * g.n_cols + col, count);
    }
  }
  store_range(e, range);
}

template <int MB, int NV>
inline void gemm_block_finish(const Ops::I (&acc)[MB][NV], const GemmBlockArgs& g, const Epilogue& e, void* out) {
  switch (epi_form(e)) {
    case EpiForm::kQuantFull: return gemm_block_finish_k<EpiForm::kQuantFull, MB, NV>(acc, g, e, out);
    case EpiForm::kQuant: return gemm_block_finish_k<EpiForm::kQuant, MB, NV>(acc, g, e, out);
    case EpiForm::kFloat: return gemm_block_finish_k<EpiForm::kFloat, MB, NV>(acc, g, e, out);
    case EpiForm::kFloatRange: return gemm_block_finish_k<EpiForm::kFloatRange, MB, NV>(acc, g, e, out);
    case EpiForm::kFloatRangeNonNeg: return gemm_block_finish_k<EpiForm::kFloatRangeNonNeg, MB, NV>(acc, g, e, out);
    case EpiForm::kGeneric:
    case EpiForm::kAny:  // never epi_form's result
      return gemm_block_finish_k<EpiForm::kGeneric, MB, NV>(acc, g, e, out);
  }
}

template <int MB, int NV>
void gemm_block(const GemmBlockArgs& g, const Epilogue& e, void* out) {
  Ops::I acc[MB][NV];
  TINYQ_UNROLL
  for (int m = 0; m < MB; ++m)
    TINYQ_UNROLL
    for (int v = 0; v < NV; ++v)  // see finish_vec
      acc[m][v] = Ops::loadi(e.corr + g.n0 + v * Ops::L, v == NV - 1 ? g.last_count : Ops::L);
  const int8_t* wcol[NV];
  int lanes[NV];  // weight lanes present in the panel (a narrow panel is shorter than a vector)
  TINYQ_UNROLL
  for (int v = 0; v < NV; ++v) {
    const int64_t col = g.n0 + v * Ops::L;
    wcol[v] = g.packed + (col / g.panel) * g.panel_stride + (col % g.panel) * 4;
    const int64_t avail = g.panel - col % g.panel;
    lanes[v] = avail < Ops::L ? static_cast<int>(avail) : Ops::L;
  }
  const int64_t step = g.panel * 4;
  int64_t q = 0;
  if (MB == 1) {
    // One row (a 1-row MLP layer) has little to overlap: split K over two more accumulator
    // chains so that the dot products' latency does not serialise (integer sums are exact in
    // any order).
    Ops::I acc1[NV], acc2[NV];
    TINYQ_UNROLL
    for (int v = 0; v < NV; ++v) acc1[v] = acc2[v] = Ops::zeroi();
    for (; q + 3 <= g.kq; q += 3) {
      TINYQ_UNROLL
      for (int v = 0; v < NV; ++v) {
        const int32_t* wp = reinterpret_cast<const int32_t*>(wcol[v] + q * step);
        acc[0][v] = Ops::dot(acc[0][v], Ops::prep_xb(g.a + q * 4), Ops::prep_wv(Ops::loadi(wp, lanes[v])));
        acc1[v] = Ops::dot(acc1[v], Ops::prep_xb(g.a + q * 4 + 4),
                           Ops::prep_wv(Ops::loadi(wp + step / 4, lanes[v])));
        acc2[v] = Ops::dot(acc2[v], Ops::prep_xb(g.a + q * 4 + 8),
                           Ops::prep_wv(Ops::loadi(wp + 2 * (step / 4), lanes[v])));
      }
    }
    TINYQ_UNROLL
    for (int v = 0; v < NV; ++v) acc[0][v] = Ops::addi(acc[0][v], Ops::addi(acc1[v], acc2[v]));
  }
  for (; q < g.kq; ++q) {
    typename Ops::WP w[NV];
    TINYQ_UNROLL
    for (int v = 0; v < NV; ++v)
      w[v] = Ops::prep_wv(Ops::loadi(reinterpret_cast<const int32_t*>(wcol[v] + q * step), lanes[v]));
    TINYQ_UNROLL
    for (int m = 0; m < MB; ++m) {
      const typename Ops::XP x = Ops::prep_xb(g.a + m * g.lda + q * 4);
      TINYQ_UNROLL
      for (int v = 0; v < NV; ++v) acc[m][v] = Ops::dot(acc[m][v], x, w[v]);
    }
  }
  Ops::I done[MB][NV];  // see conv_block
  TINYQ_UNROLL
  for (int m = 0; m < MB; ++m)
    TINYQ_UNROLL
    for (int v = 0; v < NV; ++v) done[m][v] = acc[m][v];
  gemm_block_finish<MB, NV>(done, g, e, out);
}

using GemmBlockFn = void (*)(const GemmBlockArgs&, const Epilogue&, void*);

template <int MB>
GemmBlockFn gemm_block_fn(int nv) {
  switch (nv) {
    case 1: return &gemm_block<MB, 1>;
    case 2: return &gemm_block<MB, 2>;
    case 3: return &gemm_block<MB, 3>;
    default: return &gemm_block<MB, 4>;
  }
}

// Rows per block for nv column vectors: as many accumulators as the registers allow.
constexpr int gemm_rows_for(int nv) { return nv == 1 ? kGemmRows1 : (nv == 2 ? kGemmRows2 : kGemmRows4); }

// One output column (N = 1): rows are the lanes instead, so that every lane is an output; the
// four activation bytes of a K quad are gathered from the rows, the weight quad broadcast.
constexpr int kGemvVectors = 4;  // independent row vectors in flight

void gemv(const uint8_t* a, int64_t lda, int64_t rows, const int8_t* packed, int64_t k, const Epilogue& e_in,
          void* out) {
  const Epilogue e = e_in;  // see conv_block_finish
  const EpiVecs kv = epi_vecs(e);
  RangeVecs range = load_range(e);
  const ChanVecs cv = chan_broadcast(e, 0);
  const int64_t kq = gemm_k_quads(k);
  const Ops::I offsets = Ops::mullo(Ops::iota(), Ops::set1i(static_cast<int32_t>(lda)));
  constexpr int64_t kBlock = Ops::L * kGemvVectors;
  for (int64_t m0 = 0; m0 < rows; m0 += kBlock) {
    Ops::I acc[kGemvVectors];
    int count[kGemvVectors];
    TINYQ_UNROLL
    for (int u = 0; u < kGemvVectors; ++u) {
      acc[u] = Ops::set1i(e.corr[0]);  // see finish_vec
      const int64_t left = rows - (m0 + u * Ops::L);
      count[u] = left <= 0 ? 0 : (left < Ops::L ? static_cast<int>(left) : Ops::L);
    }
    for (int64_t q = 0; q < kq; ++q) {
      const typename Ops::WP wq = Ops::prep_wb(packed + q * 4);
      TINYQ_UNROLL
      for (int u = 0; u < kGemvVectors; ++u)
        if (count[u])
          acc[u] = Ops::dot(acc[u], Ops::prep_x(Ops::gather(a + (m0 + u * Ops::L) * lda + q * 4, offsets, count[u])),
                            wq);
    }
    TINYQ_UNROLL
    for (int u = 0; u < kGemvVectors; ++u) {
      if (!count[u]) break;
      const int64_t m = m0 + u * Ops::L;
      const Ops::I rs = e.rowsum ? Ops::loadi(e.rowsum + m, count[u]) : Ops::zeroi();
      finish_vec<EpiForm::kGeneric>(acc[u], cv, rs, e, kv, range, out, m, count[u]);
    }
  }
  store_range(e, range);
}

void gemm_impl(const uint8_t* a, int64_t lda, int64_t rows, const int8_t* packed, int64_t k, int64_t n_cols,
          const Epilogue& e, void* out) {
  if (n_cols == 1 && rows > 1) return gemv(a, lda, rows, packed, k, e, out);
  GemmBlockArgs g;
  g.lda = lda;
  g.kq = gemm_k_quads(k);
  g.packed = packed;
  g.panel = gemm_panel(n_cols);
  g.panel_stride = g.kq * g.panel * 4;
  g.n_cols = n_cols;
  const int64_t nvec = (n_cols + Ops::L - 1) / Ops::L;
  for (int64_t v0 = 0; v0 < nvec;) {
    const int nv = static_cast<int>(nvec - v0 < 4 ? nvec - v0 : 4);
    g.n0 = v0 * Ops::L;
    const int64_t last_col = g.n0 + (nv - 1) * Ops::L;
    g.last_count = static_cast<int>(n_cols - last_col < Ops::L ? n_cols - last_col : Ops::L);
    const int mb = nv == 3 ? gemm_rows_for(4) : gemm_rows_for(nv);
    const GemmBlockFn wide = mb == kGemmRows1   ? gemm_block_fn<kGemmRows1>(nv)
                             : mb == kGemmRows2 ? gemm_block_fn<kGemmRows2>(nv)
                                                : gemm_block_fn<kGemmRows4>(nv);
    const GemmBlockFn one = gemm_block_fn<1>(nv);
    int64_t m = 0;
    for (; m + mb <= rows; m += mb) {
      g.a = a + m * lda;
      g.m0 = m;
      wide(g, e, out);
    }
    for (; m < rows; ++m) {
      g.a = a + m * lda;
      g.m0 = m;
      one(g, e, out);
    }
    v0 += nv;
  }
}
