// The vectorised quantisation of the int8 engine (engine.h: quantize_u8, range_f32), compiled per
// instruction set like engine-inl.h and included right after it, whose Ops it uses. No #include
// here, for the same reason as there.

// ---- Quantisation ----

void range_impl(const float* x, int64_t n, float* lo, float* hi, bool* has_nonfinite) {
  Ops::F l = Ops::zerof(), h = Ops::zerof();
  Ops::F nan = Ops::zerof();  // lanes become NaN once a NaN was seen
  int64_t i = 0;
  for (; i + Ops::L <= n; i += Ops::L) {
    const Ops::F v = Ops::loadf(x + i, Ops::L);
    l = Ops::min_keep(v, l);
    h = Ops::max_keep(v, h);
    nan = Ops::addf(nan, Ops::mulf(v, Ops::zerof()));  // 0 for finite v, NaN for NaN and inf
  }
  // Lanes never hold NaN or -0 (they start at +0 and only take strictly smaller / larger
  // values), so any reduction order gives the scan's result.
  float rl = 0.0f, rh = 0.0f;
  bool any = false;
  if (i) {
    rl = Ops::hmin(l);
    rh = Ops::hmax(h);
    any = Ops::any_nan(nan);
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

void quantize_impl(const float* x, int64_t n, float scale, int32_t zp, bool bounded, uint8_t* out) {
  const Ops::F s = Ops::set1f(scale);
  const Ops::I z = Ops::set1i(zp), lo = Ops::set1i(0), hi = Ops::set1i(255);
  // The reference: a division per vector, as QuantizeLinear divides.
  auto exact = [&](Ops::F v) {
    const Ops::F q = Ops::divf(v, s);
    return bounded ? Ops::quant_bounded(q, z, lo, hi) : Ops::quant(q, zp, 0, 255);
  };
  int64_t i = 0;
  // Multiplying by the reciprocal instead, r = fl(1/scale), a normal float. With t = x / scale
  // exact, QuantizeLinear rounds fl(t) and adds zp, which equals rounding fl(t) + zp (zp is an
  // integer). The loops below compute a float y near fl(t) (the bounded one: near fl(t) + zp),
  // each with its error bound; wherever y lies further than that bound from a tie (k + 0.5),
  // both round to the same integer.
  // A block of vectors with any lane nearer a tie is divided instead. Four vectors a step, so
  // that their bytes pack into one store.
  if (n >= 4 * Ops::L && scale >= 0x1p-126f && scale <= 0x1p126f) {
    const Ops::F r = Ops::set1f(1.0f / scale);
    if (bounded) {
      // Rounding by a magic constant: z = x * r + D with D = 1536 + zp + 2^-12 (exact) keeps z
      // in [1024, 2048), where floats are spaced 2^-13 apart, so bits(z) - bits(1536) is
      // u = 8192 (fl(t) + zp) + 2 + e as an integer. e gathers the roundings of r, of x * r
      // (without FMA), of z and of fl(t): |e| <= 8192 (2^-14 + 3 * 2^-24 |t|) < 0.9 for
      // |t| <= 256 (bounded), and the argument needs |e| < 2. Unless u mod 8192 lies in
      // [4096, 4099] (a tie within the error; 1 lane in 2048), round_half_even(fl(t)) + zp is
      // (u + 4094) >> 13: it rounds down when (u - 2) mod 8192 <= 4093 and up when it is >= 4098.
      // The check and the shift use integer operations, which here compete less with the FMA
      // than a float residual and conversion did: measured about 1% faster on nr_metric_v1's
      // dynamic chain and 3% on learned_filter_v1's (AVX-512, Zen 4). With 10 fraction bits the
      // window held 1 lane in 256, and the divisions made learned_filter_v1 5% slower.
      const Ops::F d = Ops::set1f(static_cast<float>(1536 + zp) + 0x1p-12f);
      const Ops::I k = Ops::set1i(0x44C00000 - 4094);  // bits(1536) - 4094
      for (; i + 4 * Ops::L <= n; i += 4 * Ops::L) {
        Ops::I b[4], marks[4];
        TINYQ_UNROLL
        for (int v = 0; v < 4; ++v) {
          b[v] = Ops::bits(Ops::mul_add(Ops::loadf(x + i + v * Ops::L, Ops::L), r, d));
          marks[v] = Ops::tie_marks(b[v]);
        }
        Ops::I q[4];
        if (Ops::any_zero4(marks[0], marks[1], marks[2], marks[3])) {
          TINYQ_UNROLL
          for (int v = 0; v < 4; ++v) q[v] = exact(Ops::loadf(x + i + v * Ops::L, Ops::L));
        } else {
          TINYQ_UNROLL
          for (int v = 0; v < 4; ++v) q[v] = Ops::shift13(b[v], k);  // saturated by the store's packs
        }
        Ops::store_u8x4(out + i, q[0], q[1], q[2], q[3]);
      }
    } else {
      // y = x * r: the error is at most 3 * 2^-24 |t|, below 2^-13 while |y| < 512. Where
      // |y| >= 512 both saturate alike; NaN and infinities carry over unchanged.
      const Ops::F thr = Ops::set1f(0.5f - 0x1p-13f);
      for (; i + 4 * Ops::L <= n; i += 4 * Ops::L) {
        Ops::F v[4], rd[4];
        bool far = false;
        TINYQ_UNROLL
        for (int k = 0; k < 4; ++k) {
          v[k] = Ops::loadf(x + i + k * Ops::L, Ops::L);
          const Ops::F y = Ops::mulf(v[k], r);
          rd[k] = Ops::round_even(y);
          far |= Ops::any_far(y, rd[k], thr);
        }
        Ops::I q[4];
        TINYQ_UNROLL
        for (int k = 0; k < 4; ++k) q[k] = far ? exact(v[k]) : Ops::quant(rd[k], zp, 0, 255);
        Ops::store_u8x4(out + i, q[0], q[1], q[2], q[3]);
      }
    }
  }
  for (; i < n; i += Ops::L) {
    const int count = n - i < Ops::L ? static_cast<int>(n - i) : Ops::L;
    Ops::storeq(out + i, exact(Ops::loadf(x + i, count)), count, false);
  }
}
