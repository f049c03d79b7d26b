// SIMD body of the packed GEMM (see packed_gemm.h), compiled per Highway target.
// Packed layout: bias[panels * L], then panel p = columns [p*L, p*L + L) as [K][L], zero padded.
#include "kernels/packed_gemm.h"

#include <algorithm>
#include <cmath>
#include <array>
#include <cstring>
#include <utility>

// SVE vectors are sizeless and cannot form the accumulator arrays below: Arm uses NEON here.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4 | HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/packed_gemm.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace tinyq::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

int64_t GemmLanes() { return static_cast<int64_t>(hn::Lanes(hn::ScalableTag<float>())); }

struct GemmArgs {
  const float* a;
  int64_t lda;
  const float* b;        // first panel of the block, row 0
  int64_t panel_stride;  // floats between panels
  const float* bias;     // bias of the block's first column
  int64_t k;
  float* y;
  int64_t ldy;
  int64_t valid;  // columns to store
  float lo, hi;
  bool clamp;  // false: no clamp, so NaN and infinities pass through untouched
};

// kMr rows x kNv column vectors, accumulated in registers over K.
template <int kMr, int kNv>
HWY_NOINLINE void GemmBlock(const GemmArgs& g) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const size_t L = hn::Lanes(d);
  // An FMA waits about 4 cycles for its accumulator; with fewer than 4 accumulators (one row
  // times few columns) K is split over independent partial sums, added at the end.
  constexpr int kSplit = kMr * kNv >= 4 ? 1 : (kMr * kNv == 1 ? 4 : 2);
  V acc[kSplit][kMr][kNv];
  HWY_UNROLL(16)
  for (int v = 0; v < kNv; ++v) {
    const V b = hn::LoadU(d, g.bias + v * L);
    HWY_UNROLL(16)
    for (int r = 0; r < kMr; ++r) {
      acc[0][r][v] = b;
      HWY_UNROLL(16)
      for (int sp = 1; sp < kSplit; ++sp) acc[sp][r][v] = hn::Zero(d);
    }
  }
  const float* HWY_RESTRICT a = g.a;
  const float* HWY_RESTRICT b = g.b;
  const int64_t lda = g.lda, ps = g.panel_stride;
  // One k step into partial sum `sp`.
  auto step = [&](int sp, int64_t kk) HWY_ATTR {
    V bv[kNv];
    HWY_UNROLL(16)
    for (int v = 0; v < kNv; ++v) bv[v] = hn::LoadU(d, b + kk * L + v * ps);
    HWY_UNROLL(16)
    for (int r = 0; r < kMr; ++r) {
      const V av = hn::Set(d, a[r * lda + kk]);
      HWY_UNROLL(16)
      for (int v = 0; v < kNv; ++v) acc[sp][r][v] = hn::MulAdd(av, bv[v], acc[sp][r][v]);
    }
  };
  int64_t kk = 0;
  for (; kk + kSplit <= g.k; kk += kSplit) {
    HWY_UNROLL(16)
    for (int sp = 0; sp < kSplit; ++sp) step(sp, kk + sp);
  }
  for (; kk < g.k; ++kk) step(0, kk);
  HWY_UNROLL(16)
  for (int sp = 1; sp < kSplit; ++sp) {
    HWY_UNROLL(16)
    for (int r = 0; r < kMr; ++r) {
      HWY_UNROLL(16)
      for (int v = 0; v < kNv; ++v) acc[0][r][v] = hn::Add(acc[0][r][v], acc[sp][r][v]);
    }
  }
  const V lo = hn::Set(d, g.lo), hi = hn::Set(d, g.hi);
  HWY_UNROLL(16)
  for (int r = 0; r < kMr; ++r) {
    float* HWY_RESTRICT y = g.y + r * g.ldy;
    HWY_UNROLL(16)
    for (int v = 0; v < kNv; ++v) {
      const V out = g.clamp ? hn::Min(hi, hn::Max(lo, acc[0][r][v])) : acc[0][r][v];
      const int64_t left = g.valid - static_cast<int64_t>(v * L);
      if (left >= static_cast<int64_t>(L)) {
        hn::StoreU(out, d, y + v * L);
      } else if (left > 0) {
        hn::BlendedStore(out, hn::FirstN(d, static_cast<size_t>(left)), d, y + v * L);
      }
    }
  }
}

using GemmFn = void (*)(const GemmArgs&);
constexpr int kMaxNv = 8;
template <int kMr, size_t... I>
constexpr std::array<GemmFn, kMaxNv> GemmRow(std::index_sequence<I...>) {
  return {&GemmBlock<kMr, static_cast<int>(I) + 1>...};
}
// Row block sizes 1, 2, 4 and 6 (index 0..3), by column vector count - 1.
const std::array<GemmFn, kMaxNv> kGemmBlocks[4] = {
    GemmRow<1>(std::make_index_sequence<kMaxNv>()), GemmRow<2>(std::make_index_sequence<kMaxNv>()),
    GemmRow<4>(std::make_index_sequence<kMaxNv>()), GemmRow<6>(std::make_index_sequence<kMaxNv>())};

// Rows [r0, r1) of Y: every column block, then the row blocks under it.
void GemmRows(const GemmArgs& proto, const float* a, int64_t r0, int64_t r1, const float* packed, int64_t n,
              float* y) {
  const int64_t L = GemmLanes();
  const int64_t panels = (n + L - 1) / L;
  const int64_t ps = proto.panel_stride;
  const float* b0 = packed + panels * L;
  // Registers: AVX-512 has 32 vectors, the others 16; accumulators + B vectors + one A broadcast.
  const int regs = HWY_TARGET <= HWY_AVX3 ? 32 : 16;
  // One row: as many column vectors as fit (latency hiding needs several independent sums).
  // Many rows: 6 rows x 2 (or 4 with AVX-512) vectors, the usual register-blocked shape.
  const int64_t nv_max = r1 - r0 >= 4 ? (regs >= 32 ? 4 : 2) : kMaxNv;
  GemmArgs g = proto;
  for (int64_t p0 = 0; p0 < panels; p0 += nv_max) {
    const int64_t nv = std::min(nv_max, panels - p0);
    g.b = b0 + p0 * ps;
    g.bias = packed + p0 * L;
    g.valid = std::min(nv * L, n - p0 * L);
    for (int64_t r = r0; r < r1;) {
      const int64_t left = r1 - r;
      const int idx = left >= 6 ? 3 : left >= 4 ? 2 : left >= 2 ? 1 : 0;
      static constexpr int kRows[4] = {1, 2, 4, 6};
      g.a = a + r * g.lda;
      g.y = y + r * g.ldy + p0 * L;
      kGemmBlocks[idx][nv - 1](g);
      r += kRows[idx];
    }
  }
}

void GemmRun(const float* a, int64_t lda, int64_t m, const float* packed, int64_t k, int64_t n, float* y,
             int64_t ldy, float lo, float hi, pthreadpool_t pool) {
  GemmArgs g;
  g.lda = lda;
  g.panel_stride = k * GemmLanes();
  g.k = k;
  g.ldy = ldy;
  g.lo = lo;
  g.hi = hi;
  g.clamp = lo > -HUGE_VALF || hi < HUGE_VALF;
  // Threads take chunks of rows; a chunk is large enough to amortise the hand-off (a few us).
  constexpr int64_t kRowsPerTask = 96;
  const size_t threads = pool ? pthreadpool_get_threads_count(pool) : 1;
  if (threads <= 1 || m < 2 * kRowsPerTask) {
    GemmRows(g, a, 0, m, packed, n, y);
    return;
  }
  struct Task {
    const GemmArgs* g;
    const float* a;
    int64_t m;
    const float* packed;
    int64_t n;
    float* y;
  } task{&g, a, m, packed, n, y};
  pthreadpool_parallelize_1d(
      pool,
      [](void* context, size_t i) {
        const Task& t = *static_cast<const Task*>(context);
        const int64_t r0 = static_cast<int64_t>(i) * kRowsPerTask;
        GemmRows(*t.g, t.a, r0, std::min(t.m, r0 + kRowsPerTask), t.packed, t.n, t.y);
      },
      &task, static_cast<size_t>((m + kRowsPerTask - 1) / kRowsPerTask), 0);
}

}  // namespace tinyq::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tinyq::kernels {

HWY_EXPORT(GemmLanes);
HWY_EXPORT(GemmRun);

int64_t packed_gemm_lanes() {
  static const int64_t lanes = HWY_DYNAMIC_DISPATCH(GemmLanes)();
  return lanes;
}

size_t packed_gemm_floats(int64_t k, int64_t n) {
  const int64_t L = packed_gemm_lanes();
  const int64_t panels = (n + L - 1) / L;
  return static_cast<size_t>(panels * L * (k + 1));
}

void packed_gemm_pack(const float* b, bool trans_b, int64_t k, int64_t n, float alpha, const float* bias,
                      float* packed) {
  const int64_t L = packed_gemm_lanes();
  const int64_t panels = (n + L - 1) / L;
  std::fill_n(packed, packed_gemm_floats(k, n), 0.0f);
  if (bias) std::copy_n(bias, n, packed);
  float* body = packed + panels * L;
  for (int64_t j = 0; j < n; ++j) {
    float* col = body + (j / L) * k * L + j % L;
    for (int64_t kk = 0; kk < k; ++kk) col[kk * L] = alpha * (trans_b ? b[j * k + kk] : b[kk * n + j]);
  }
}

void packed_gemm_run(const float* a, int64_t lda, int64_t m, const float* packed, int64_t k, int64_t n, float* y,
                     int64_t ldy, float lo, float hi, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(GemmRun)(a, lda, m, packed, k, n, y, ldy, lo, hi, pool);
}

}  // namespace tinyq::kernels
#endif  // HWY_ONCE
