// The fused one-row form of a dynamic layer (engine.h, DynRow), compiled per instruction set
// like engine-inl.h and included after it and engine_quant-inl.h, whose Ops, gemm layout,
// range_impl and quantize_impl it uses. No #include here, for the same reason as there.

// ---- One row of a dynamic layer, fused end to end ----

struct DynRowVecs {
  Ops::F xs;       // x's scale, for the per-channel scale xs * w_scale[c]
  Ops::F lo, hi;   // the clamp (infinite bounds without one)
  Ops::I neg_za;   // -(x's zero point), times the column sums: the zero-point term
  Ops::F r_lo, r_hi, r_bad;  // y's range so far (see range_impl)
};

// Where the quantised row's quads come from: memory, or (k <= 4 L) one register of bytes.
struct QuadsInMemory {
  const uint8_t* xq;
  typename Ops::XP operator()(int64_t q) const { return Ops::prep_xb(xq + q * 4); }
};
struct QuadsInRegister {
  Ops::I bytes;
  typename Ops::XP operator()(int64_t q) const { return Ops::quad_xb(bytes, static_cast<int>(q)); }
};

// Columns [n0, n0 + NV vectors) of the quantised row: the sums, then the float epilogue that
// fill_channel_params + finish_vec<kFloat(Range)> compute, with the same float operations in the
// same order, and y's range.
template <int NV, typename Quads>
inline void dyn_row_block(const DynRow& r, float* y, const Quads& xq, int64_t kq, int64_t n0, int last_count,
                          DynRowVecs& k) {
  const int64_t panel = gemm_panel(r.n), step = panel * 4, panel_stride = kq * panel * 4;
  Ops::I acc[NV], acc1[NV], acc2[NV];
  const int32_t* wcol[NV];
  int lanes[NV], count[NV];
  TINYQ_UNROLL
  for (int v = 0; v < NV; ++v) {
    const int64_t col = n0 + v * Ops::L;
    count[v] = v == NV - 1 ? last_count : Ops::L;
    acc[v] = Ops::mullo(k.neg_za, Ops::loadi(r.colsum + col, count[v]));  // wraps as fill_channel_params
    acc1[v] = acc2[v] = Ops::zeroi();
    wcol[v] = reinterpret_cast<const int32_t*>(r.packed + (col / panel) * panel_stride + (col % panel) * 4);
    const int64_t avail = panel - col % panel;
    lanes[v] = avail < Ops::L ? static_cast<int>(avail) : Ops::L;
  }
  // Three accumulator chains over K, as gemm_block does for one row.
  int64_t q = 0;
  for (; q + 3 <= kq; q += 3) {
    const typename Ops::XP x0 = xq(q), x1 = xq(q + 1), x2 = xq(q + 2);
    TINYQ_UNROLL
    for (int v = 0; v < NV; ++v) {
      const int32_t* wp = wcol[v] + q * (step / 4);
      acc[v] = Ops::dot(acc[v], x0, Ops::prep_wv(Ops::loadi(wp, lanes[v])));
      acc1[v] = Ops::dot(acc1[v], x1, Ops::prep_wv(Ops::loadi(wp + step / 4, lanes[v])));
      acc2[v] = Ops::dot(acc2[v], x2, Ops::prep_wv(Ops::loadi(wp + 2 * (step / 4), lanes[v])));
    }
  }
  for (; q < kq; ++q) {
    const typename Ops::XP x0 = xq(q);
    TINYQ_UNROLL
    for (int v = 0; v < NV; ++v)
      acc[v] = Ops::dot(acc[v], x0, Ops::prep_wv(Ops::loadi(wcol[v] + q * (step / 4), lanes[v])));
  }
  TINYQ_UNROLL
  for (int v = 0; v < NV; ++v) {
    const int64_t col = n0 + v * Ops::L;
    const Ops::I sum = Ops::addi(acc[v], Ops::addi(acc1[v], acc2[v]));
    const Ops::F scale = r.w_scale_stride ? Ops::mulf(k.xs, Ops::loadf(r.w_scale + col, count[v]))
                                          : Ops::mulf(k.xs, Ops::set1f(r.w_scale[0]));
    const Ops::F bias = r.bias ? Ops::loadf(r.bias + col, count[v]) : Ops::set1f(-0.0f);  // -0: neutral
    const Ops::F f = Ops::clamp(Ops::addf(Ops::mulf(Ops::cvt(sum), scale), bias), k.lo, k.hi);
    Ops::storef(y + col, f, count[v]);
    const Ops::F z = Ops::zero_tail(f, count[v]);  // lanes past the row: 0 leaves the range as it is
    k.r_lo = Ops::min_keep(z, k.r_lo);
    k.r_hi = Ops::max_keep(z, k.r_hi);
    k.r_bad = Ops::addf(k.r_bad, Ops::mulf(z, Ops::zerof()));  // NaN from NaN and infinities
  }
}

template <typename Quads>
void dyn_row_columns(const DynRow& r, const DynRowIo& io, const Quads& xq, float xs, int32_t zp) {
  const float inf = std::numeric_limits<float>::infinity();
  DynRowVecs k{Ops::set1f(xs),
               Ops::set1f(r.clamp ? r.lo : -inf),
               Ops::set1f(r.clamp ? r.hi : inf),
               Ops::set1i(static_cast<int32_t>(0u - static_cast<uint32_t>(zp))),
               Ops::zerof(),
               Ops::zerof(),
               Ops::zerof()};
  const int64_t kq = gemm_k_quads(r.k);
  const int64_t nvec = (r.n + Ops::L - 1) / Ops::L;
  for (int64_t v0 = 0; v0 < nvec;) {
    const int nv = static_cast<int>(nvec - v0 < 4 ? nvec - v0 : 4);
    const int64_t n0 = v0 * Ops::L, last_col = n0 + (nv - 1) * Ops::L;
    const int last_count = static_cast<int>(r.n - last_col < Ops::L ? r.n - last_col : Ops::L);
    switch (nv) {
      case 1: dyn_row_block<1>(r, io.y, xq, kq, n0, last_count, k); break;
      case 2: dyn_row_block<2>(r, io.y, xq, kq, n0, last_count, k); break;
      case 3: dyn_row_block<3>(r, io.y, xq, kq, n0, last_count, k); break;
      default: dyn_row_block<4>(r, io.y, xq, kq, n0, last_count, k); break;
    }
    v0 += nv;
  }
  if (io.y_range) {  // lanes hold no NaN or -0 (see range_impl), so any reduction order will do
    io.y_range[0] = Ops::hmin(k.r_lo);
    io.y_range[1] = Ops::hmax(k.r_hi);
    io.y_range[2] = Ops::any_nan(k.r_bad) ? 1.0f : 0.0f;
  }
}

// The register and memory forms are written out separately, each reading x's range its own way:
// one shared prologue measured 5% slower on the 1-row MLPs (Zen 4).
bool dyn_row_impl(const DynRow& r, const DynRowIo& io) {
  float lo, hi;
  bool nonfinite;
  if (r.k <= 4 * Ops::L) {
    // x fits four vectors: its range, quantisation and quads stay in registers. Lanes past k
    // read as 0, which leaves the range (around 0) as it is, and meet zero weights.
    Ops::F v[4];
    TINYQ_UNROLL
    for (int j = 0; j < 4; ++j) {
      const int64_t left = r.k - j * Ops::L;
      v[j] = left <= 0 ? Ops::zerof() : Ops::loadf(io.x + j * Ops::L, left < Ops::L ? static_cast<int>(left) : Ops::L);
    }
    if (io.x_range) {
      lo = io.x_range[0];
      hi = io.x_range[1];
      nonfinite = io.x_range[2] != 0.0f;
    } else {
      Ops::F l = Ops::zerof(), h = Ops::zerof(), bad = Ops::zerof();
      TINYQ_UNROLL
      for (int j = 0; j < 4; ++j) {
        l = Ops::min_keep(v[j], l);
        h = Ops::max_keep(v[j], h);
        bad = Ops::addf(bad, Ops::mulf(v[j], Ops::zerof()));
      }
      lo = Ops::hmin(l);
      hi = Ops::hmax(h);
      nonfinite = Ops::any_nan(bad);
    }
    if (nonfinite) return false;  // NaN and infinities take the general path
    float xs;
    int32_t zp;
    dynamic_params_fast(lo, hi, &xs, &zp);
    // quantize_impl's exact form (a division per vector, as QuantizeLinear divides).
    const Ops::F s = Ops::set1f(xs);
    const Ops::I z = Ops::set1i(zp), q_lo = Ops::set1i(0), q_hi = Ops::set1i(255);
    // Vectors wholly past k are never multiplied by a weight: any bytes will do there.
    const int64_t used = (r.k + Ops::L - 1) / Ops::L;
    Ops::I q[4];
    TINYQ_UNROLL
    for (int j = 0; j < 4; ++j) q[j] = j < used ? Ops::quant_bounded(Ops::divf(v[j], s), z, q_lo, q_hi) : z;
    dyn_row_columns(r, io, QuadsInRegister{Ops::pack_u8x4(q[0], q[1], q[2], q[3])}, xs, zp);
    return true;
  }
  if (io.x_range) {
    lo = io.x_range[0];
    hi = io.x_range[1];
    nonfinite = io.x_range[2] != 0.0f;
  } else {
    range_impl(io.x, r.k, &lo, &hi, &nonfinite);
  }
  if (nonfinite) return false;
  float xs;
  int32_t zp;
  dynamic_params_fast(lo, hi, &xs, &zp);
  alignas(64) uint8_t xq[kDynRowMaxK + 64];
  const int64_t kq = gemm_k_quads(r.k);
  for (int64_t i = r.k; i < kq * 4; ++i) xq[i] = 0;  // the last quad's padding (its weights are 0)
  quantize_impl(io.x, r.k, xs, zp, /*bounded=*/true, xq);
  dyn_row_columns(r, io, QuadsInMemory{xq}, xs, zp);
  return true;
}
