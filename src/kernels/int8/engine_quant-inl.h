// The vectorised quantisation of the int8 engine (engine.h: quantize_u8, range_f32), compiled per
// instruction set like engine-inl.h and included right after it, whose Ops it uses. No #include
// here, for the same reason as there.

// ---- Quantisation ----

void range_impl(const float* x, int64_t n, float* lo, float* hi, bool* has_nonfinite) {
  // Four accumulators of each kind, so that the scan runs at the vector units' throughput rather
  // than at the latency of one chain of min, max and add, and the NaN test in one multiply-add
  // (one rounding where there is FMA: its sums are 0 or NaN either way).
  constexpr int kChains = 4;
  Ops::F l[kChains], h[kChains], nan[kChains];  // nan: lanes become NaN once a NaN or inf was seen
  TINYQ_UNROLL
  for (int c = 0; c < kChains; ++c) l[c] = h[c] = nan[c] = Ops::zerof();
  int64_t i = 0;
  for (; i + kChains * Ops::L <= n; i += kChains * Ops::L) {
    TINYQ_UNROLL
    for (int c = 0; c < kChains; ++c) {
      const Ops::F v = Ops::loadf(x + i + c * Ops::L, Ops::L);
      l[c] = Ops::min_keep(v, l[c]);
      h[c] = Ops::max_keep(v, h[c]);
      nan[c] = Ops::mul_add(v, Ops::zerof(), nan[c]);  // adds 0 for finite v, NaN for NaN and inf
    }
  }
  for (; i + Ops::L <= n; i += Ops::L) {
    const Ops::F v = Ops::loadf(x + i, Ops::L);
    l[0] = Ops::min_keep(v, l[0]);
    h[0] = Ops::max_keep(v, h[0]);
    nan[0] = Ops::mul_add(v, Ops::zerof(), nan[0]);
  }
  TINYQ_UNROLL
  for (int c = 1; c < kChains; ++c) {
    l[0] = Ops::min_keep(l[c], l[0]);
    h[0] = Ops::max_keep(h[c], h[0]);
    nan[0] = Ops::addf(nan[0], nan[c]);
  }
  // Lanes never hold NaN or -0 (they start at +0 and only take strictly smaller / larger
  // values), so any reduction order gives the scan's result.
  float rl = 0.0f, rh = 0.0f;
  bool any = false;
  if (i) {
    rl = Ops::hmin(l[0]);
    rh = Ops::hmax(h[0]);
    any = Ops::any_nan(nan[0]);
  }
  for (; i < n; ++i) {
    if (x[i] < rl) rl = x[i];
    if (x[i] > rh) rh = x[i];
    any |= x[i] - x[i] != 0.0f;  // NaN for NaN and infinities
  }
  *lo = rl;
  *hi = rh;
  *has_nonfinite = any;
}

// QuantizeLinear's arithmetic for one call (scale, zero point, bounded; see quantize_impl), as
// vectors, and the form its four-vector steps take.
enum class QuantPath {
  kExact,       // a division per vector, as QuantizeLinear divides: the reference
  kBounded,     // the bounded rounding by a magic constant
  kReciprocal,  // the general rounding of x times the reciprocal
};

struct QuantConsts {
  Ops::F s, r, d, thr;
  Ops::I z, lo, hi, k;
  int32_t zp;
  bool bounded;
  QuantPath path;
};

// Multiplying by the reciprocal instead of dividing, r = fl(1/scale), a normal float. With
// t = x / scale exact, QuantizeLinear rounds fl(t) and adds zp, which equals rounding fl(t) + zp
// (zp is an integer). The fast paths compute a float near fl(t) (the bounded one: near
// fl(t) + zp), each with its error bound; wherever it lies further than that bound from a tie
// (k + 0.5), both round to the same integer. A step of four vectors with any lane nearer a tie
// is divided instead.
//
// kBounded, rounding by a magic constant: z = x * r + D with D = 1536.5 + zp + 2^-12 (exact) keeps z
// in [1024, 2048), where floats are spaced 2^-13 apart, so u = bits(z) - bits(1536) is
// 8192 (fl(t) + zp) + 4098 + e as an integer. e gathers the roundings of r, of x * r
// (without FMA), of z and of fl(t): |e| <= 8192 (2^-14 + 3 * 2^-24 |t|) < 0.9 for
// |t| <= 256 (bounded). (The 0.5 in D commutes with the rounding: it is a multiple of the
// spacing.) Write fl(t) + zp = n + f / 8192 with 0 <= f < 8192. Where w = u mod 8192 is at
// least 4, u >> 13 is round_half_even(fl(t)) + zp: it is n when f = w - 4098 - e <= 4093.9
// (below the tie), and n + 1 when f = w + 4094 - e >= 4097.1 (above it). w in [0, 3], a tie
// within the error (1 lane in 2048), divides instead. bits(1536) is a multiple of 8192, so
// the test is (bits(z) & 0x1FFC) == 0, one masked test per vector: measured 25% faster than
// testing w in [4096, 4099] by a minimum over the four vectors (AVX-512, Zen 4). The shift
// uses integer operations, which here compete less with the FMA than a float residual and
// conversion did. With 10 fraction bits the window held 1 lane in 256, and the divisions
// made learned_filter_v1 5% slower.
//
// kReciprocal: y = x * r, whose error is at most 3 * 2^-24 |t|, below 2^-13 while |y| < 512.
// Where |y| >= 512 both saturate alike; NaN and infinities carry over unchanged.
inline QuantConsts quant_consts(float scale, int32_t zp, bool bounded, bool fast_ok) {
  QuantConsts c;
  c.s = Ops::set1f(scale);
  c.z = Ops::set1i(zp);
  c.lo = Ops::set1i(0);
  c.hi = Ops::set1i(255);
  c.zp = zp;
  c.bounded = bounded;
  c.path = QuantPath::kExact;
  if (fast_ok && scale >= 0x1p-126f && scale <= 0x1p126f) {
    c.r = Ops::set1f(1.0f / scale);
    c.path = bounded ? QuantPath::kBounded : QuantPath::kReciprocal;
  }
  c.d = Ops::set1f(static_cast<float>(1536 + zp) + 0.5f + 0x1p-12f);
  c.k = Ops::set1i(0x44C00000);  // bits(1536)
  c.thr = Ops::set1f(0.5f - 0x1p-13f);
  return c;
}

inline Ops::I quant_exact(const QuantConsts& c, Ops::F v) {
  const Ops::F q = Ops::divf(v, c.s);
  return c.bounded ? Ops::quant_bounded(q, c.z, c.lo, c.hi) : Ops::quant(q, c.zp, 0, 255);
}

// Four vectors quantised along path P, as int32 for the packing stores (which saturate them).
template <QuantPath P>
TINYQ_INLINE void quant4(const QuantConsts& c, const Ops::F (&v)[4], Ops::I (&q)[4]) {
  if constexpr (P == QuantPath::kBounded) {
    Ops::I b[4];
    TINYQ_UNROLL
    for (int j = 0; j < 4; ++j) b[j] = Ops::bits(Ops::mul_add(v[j], c.r, c.d));
    if (Ops::any_tie4(b[0], b[1], b[2], b[3])) {
      TINYQ_UNROLL
      for (int j = 0; j < 4; ++j) q[j] = quant_exact(c, v[j]);
    } else {
      TINYQ_UNROLL
      for (int j = 0; j < 4; ++j) q[j] = Ops::shift13(b[j], c.k);
    }
  } else if constexpr (P == QuantPath::kReciprocal) {
    Ops::F rd[4];
    bool far = false;
    TINYQ_UNROLL
    for (int j = 0; j < 4; ++j) {
      const Ops::F y = Ops::mulf(v[j], c.r);
      rd[j] = Ops::round_even(y);
      far |= Ops::any_far(y, rd[j], c.thr);
    }
    TINYQ_UNROLL
    for (int j = 0; j < 4; ++j) q[j] = far ? quant_exact(c, v[j]) : Ops::quant(rd[j], c.zp, 0, 255);
  } else {
    TINYQ_UNROLL
    for (int j = 0; j < 4; ++j) q[j] = quant_exact(c, v[j]);
  }
}

// Calls fn(PathTag<P>{}) with the call's path.
template <QuantPath P>
struct PathTag {
  static constexpr QuantPath kPath = P;
};
template <typename Fn>
TINYQ_INLINE void with_path(QuantPath path, Fn&& fn) {
  switch (path) {
    case QuantPath::kBounded: return fn(PathTag<QuantPath::kBounded>{});
    case QuantPath::kReciprocal: return fn(PathTag<QuantPath::kReciprocal>{});
    case QuantPath::kExact: return fn(PathTag<QuantPath::kExact>{});
  }
}

void quantize_impl(const float* x, int64_t n, float scale, int32_t zp, bool bounded, uint8_t* out) {
  const QuantConsts c = quant_consts(scale, zp, bounded, n >= 4 * Ops::L);
  int64_t i = 0;
  // Four vectors a step, so that their bytes pack into one store.
  with_path(c.path, [&](auto tag) {
    for (; i + 4 * Ops::L <= n; i += 4 * Ops::L) {
      Ops::F v[4];
      TINYQ_UNROLL
      for (int j = 0; j < 4; ++j) v[j] = Ops::loadf(x + i + j * Ops::L, Ops::L);
      Ops::I q[4];
      quant4<decltype(tag)::kPath>(c, v, q);
      Ops::store_u8x4(out + i, q[0], q[1], q[2], q[3]);
    }
  });
  for (; i < n; i += Ops::L) {
    const int count = n - i < Ops::L ? static_cast<int>(n - i) : Ops::L;
    Ops::storeq(out + i, quant_exact(c, Ops::loadf(x + i, count)), count, false);
  }
}

void quantize_quads_impl(const float* x, int64_t channels, int64_t pixels, int64_t plen, float scale, int32_t zp,
                         bool bounded, uint8_t* stage, int64_t plane_bytes) {
  const QuantConsts c = quant_consts(scale, zp, bounded, true);
  with_path(c.path, [&](auto tag) {
    constexpr QuantPath P = decltype(tag)::kPath;
    for (int64_t plane = 0; plane * 4 < channels; ++plane) {
      const float* src = x + plane * 4 * pixels;
      const int64_t real = channels - plane * 4 < 4 ? channels - plane * 4 : 4;
      uint8_t* dst = stage + plane * plane_bytes;
      Ops::F v[4];
      Ops::I q[4];
      int64_t p = 0;
      if (real == 4)
        for (; p + Ops::L <= pixels; p += Ops::L) {
          TINYQ_UNROLL
          for (int j = 0; j < 4; ++j) v[j] = Ops::loadf(src + j * pixels + p, Ops::L);
          quant4<P>(c, v, q);
          Ops::store_quads(dst + 4 * p, q[0], q[1], q[2], q[3]);
        }
      // The rest: missing channels and the pixels past the plane (up to plen) read 0, which
      // quantises to the zero point, the staged padding.
      for (; p < plen; p += Ops::L) {
        const int count = pixels - p >= Ops::L ? Ops::L : (pixels > p ? static_cast<int>(pixels - p) : 0);
        for (int j = 0; j < 4; ++j) v[j] = j < real && count ? Ops::loadf(src + j * pixels + p, count) : Ops::zerof();
        quant4<P>(c, v, q);
        Ops::store_quads(dst + 4 * p, q[0], q[1], q[2], q[3]);
      }
    }
  });
}
