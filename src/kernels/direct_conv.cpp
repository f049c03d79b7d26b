// SIMD body of DirectConv (see direct_conv.h), compiled once per Highway target and dispatched at
// run time. The plan (block sizes, tap offsets, packed weights) is built once in create().
#include "kernels/direct_conv.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>

// SSSE3/SSE4 add compile time for CPUs that tinyq does not target; they fall back to scalar code.
// SVE vectors are sizeless and cannot form the accumulator arrays below: Arm uses NEON here.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_SSE4 | HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/direct_conv.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace tinyq::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

int64_t DirectConvLanes() { return static_cast<int64_t>(hn::Lanes(hn::ScalableTag<float>())); }
// Vector registers the block kernels may fill (AVX-512 has 32, AVX2 16).
int DirectConvRegisters() { return HWY_TARGET <= HWY_AVX3 ? 32 : 16; }

struct BlockArgs {
  const float* in;          // block origin in the (staged) input
  const int32_t* offsets;   // per tap, from `in`
  int64_t taps;
  const float* w;           // [taps][kOc], followed by bias[kOc]
  float* out;               // first output channel, first column
  const float* sum;         // laid out like `out` and added before the clamp, or nullptr
  int64_t out_stride;       // between output channels
  int64_t valid;            // columns to store
  float lo, hi;
  bool clamp;  // false: no clamp, so NaN and infinities pass through untouched
};

// kOc output channels x kVec pixel vectors, accumulated in registers over all taps.
template <int kOc, int kVec>
HWY_NOINLINE void ConvBlock(const BlockArgs& a) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const size_t N = hn::Lanes(d);
  const float* HWY_RESTRICT w = a.w;
  const float* HWY_RESTRICT bias = a.w + a.taps * kOc;
  V acc[kOc][kVec];
  HWY_UNROLL(16)
  for (int j = 0; j < kOc; ++j) {
    const V b = hn::Set(d, bias[j]);
    HWY_UNROLL(16)
    for (int v = 0; v < kVec; ++v) acc[j][v] = b;
  }
  const float* HWY_RESTRICT in = a.in;
  const int32_t* HWY_RESTRICT offsets = a.offsets;
  for (int64_t t = 0; t < a.taps; ++t, w += kOc) {
    const float* HWY_RESTRICT src = in + offsets[t];
    V x[kVec];
    HWY_UNROLL(16)
    for (int v = 0; v < kVec; ++v) x[v] = hn::LoadU(d, src + v * N);
    HWY_UNROLL(16)
    for (int j = 0; j < kOc; ++j) {
      const V wj = hn::Set(d, w[j]);
      HWY_UNROLL(16)
      for (int v = 0; v < kVec; ++v) acc[j][v] = hn::MulAdd(wj, x[v], acc[j][v]);
    }
  }
  const V lo = hn::Set(d, a.lo), hi = hn::Set(d, a.hi);
  const int64_t valid = a.valid;
  HWY_UNROLL(16)
  for (int j = 0; j < kOc; ++j) {
    float* HWY_RESTRICT out = a.out + j * a.out_stride;
    HWY_UNROLL(16)
    for (int v = 0; v < kVec; ++v) {
      V r = acc[j][v];
      const int64_t left = valid - static_cast<int64_t>(v * N);
      if (a.sum) {
        const float* sum = a.sum + j * a.out_stride + v * N;
        r = hn::Add(r, left >= static_cast<int64_t>(N) ? hn::LoadU(d, sum)
                                                        : hn::MaskedLoad(hn::FirstN(d, static_cast<size_t>(
                                                                                           left > 0 ? left : 0)),
                                                                         d, sum));
      }
      if (a.clamp) r = hn::Min(hi, hn::Max(lo, r));
      if (left >= static_cast<int64_t>(N)) {
        hn::StoreU(r, d, out + v * N);
      } else if (left > 0) {
        hn::BlendedStore(r, hn::FirstN(d, static_cast<size_t>(left)), d, out + v * N);
      }
    }
  }
}

using BlockFn = void (*)(const BlockArgs&);
constexpr int kMaxVec = 8;

template <int kOc, size_t... I>
constexpr std::array<BlockFn, kMaxVec> BlockRow(std::index_sequence<I...>) {
  return {&ConvBlock<kOc, static_cast<int>(I) + 1>...};
}
// Indexed by log2(oc block size) and vector count - 1.
const std::array<BlockFn, kMaxVec> kBlocks[4] = {
    BlockRow<1>(std::make_index_sequence<kMaxVec>()), BlockRow<2>(std::make_index_sequence<kMaxVec>()),
    BlockRow<4>(std::make_index_sequence<kMaxVec>()), BlockRow<8>(std::make_index_sequence<kMaxVec>())};

inline int Log2Size(int32_t size) { return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3; }

// Runs every (x block, oc block) of one output row (or of a whole plane when pointwise). Block
// xb reads from origin + xb.x0 - origin_x0.
// `sum` (or nullptr) is laid out like `out`.
void RunRow(const DirectConv& c, const float* origin, int64_t origin_x0, const int32_t* offsets,
            const float* wg, float* out, const float* sum, int64_t out_stride, size_t first_xblock,
            size_t end_xblock) {
  BlockArgs a;
  a.offsets = offsets;
  a.taps = c.taps;
  a.out_stride = out_stride;
  a.lo = c.p.out_min;
  a.hi = c.p.out_max;
  a.clamp = a.lo > -HUGE_VALF || a.hi < HUGE_VALF;
  for (size_t xi = first_xblock; xi < end_xblock; ++xi) {
    const DirectConv::XBlock& xb = c.xblocks[xi];
    a.in = origin + (xb.x0 - origin_x0);
    a.valid = xb.valid;
    for (size_t bi = 0; bi < c.ocblocks.size(); ++bi) {
      const DirectConv::OcBlock& ob = c.ocblocks[bi];
      a.w = wg + c.packed_block_offset[bi];
      a.out = out + ob.oc0 * out_stride + xb.x0;
      a.sum = sum ? sum + ob.oc0 * out_stride + xb.x0 : nullptr;
      kBlocks[Log2Size(ob.size)][xb.nvec - 1](a);
    }
  }
}

// Writes `len` floats of the zero-padded row: dst[q] = src[q - pad_left] inside the row, zero
// outside. Inline vector copies: rows are short, so memcpy/memset call overhead would dominate.
void PadRow(const float* HWY_RESTRICT src, int64_t in_w, int64_t pad_left, int64_t len, float* HWY_RESTRICT dst) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const int64_t q_lo = std::min(len, pad_left);
  const int64_t q_hi = std::clamp<int64_t>(in_w + pad_left, q_lo, len);
  int64_t q = 0;
  for (; q < q_lo; ++q) dst[q] = 0.0f;
  for (; q + N <= q_hi; q += N) hn::StoreU(hn::LoadU(d, src + q - pad_left), d, dst + q);
  for (; q < q_hi; ++q) dst[q] = src[q - pad_left];
  for (; q + N <= len; q += N) hn::StoreU(hn::Zero(d), d, dst + q);
  for (; q < len; ++q) dst[q] = 0.0f;
}

// Stages input rows [iy0, iy0 + rows) of every input channel of a group: zero padding added,
// columns split by stride phase (staged column q of phase ph holds padded column q*sw + ph) so
// that each kernel tap reads a contiguous run. `row_tmp` holds one padded row (sw * phase_w).
void StageRows(const DirectConv& c, const float* xg, int64_t iy0, int64_t rows, float* stage, float* row_tmp) {
  const hn::ScalableTag<float> d;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d));
  const DirectConvParams& p = c.p;
  const int64_t sw = p.stride_w, wph = c.phase_w, row_len = sw * wph;
  for (int64_t ci = 0; ci < p.cin_g; ++ci) {
    for (int64_t r = 0; r < rows; ++r) {
      float* HWY_RESTRICT dst = stage + (ci * c.band_in_rows + r) * row_len;
      const int64_t iy = iy0 + r;
      const float* src = xg + (ci * p.in_h + iy) * p.in_w;
      if (iy < 0 || iy >= p.in_h) {
        PadRow(nullptr, 0, row_len, row_len, dst);
      } else if (sw == 1) {
        PadRow(src, p.in_w, p.pad_left, row_len, dst);
      } else if (sw == 2) {
        // phase_w is a multiple of 16, so whole vectors cover it.
        PadRow(src, p.in_w, p.pad_left, row_len, row_tmp);
        for (int64_t q = 0; q < wph; q += N) {
          hn::Vec<decltype(d)> even, odd;
          hn::LoadInterleaved2(d, row_tmp + 2 * q, even, odd);
          hn::StoreU(even, d, dst + q);
          hn::StoreU(odd, d, dst + wph + q);
        }
      } else {
        PadRow(src, p.in_w, p.pad_left, row_len, row_tmp);
        for (int64_t ph = 0; ph < sw; ++ph)
          for (int64_t q = 0; q < wph; ++q) dst[ph * wph + q] = row_tmp[q * sw + ph];
      }
    }
  }
}

// Runs fn(0..count-1) on the pool's threads (the caller's included).
template <typename Fn>
void ParallelFor(pthreadpool_t pool, size_t count, const Fn& fn) {
  if (!pool || count <= 1 || pthreadpool_get_threads_count(pool) <= 1) {
    for (size_t i = 0; i < count; ++i) fn(i);
    return;
  }
  pthreadpool_parallelize_1d(
      pool, [](void* context, size_t i) { (*static_cast<const Fn*>(context))(i); }, const_cast<Fn*>(&fn), count, 0);
}

// The work splits into units (an x block of a pointwise plane, or a band of output rows) over all
// images and groups. Without a pool they run in order on one scratch slot; with one, each of up
// to kParallelSlots tasks takes every slots-th unit on its own slot: one hand-off per run, since
// each costs a wake-up of the pool's threads.
void RunDirectConv(const DirectConv& c, const float* x, float* y, const float* sum, float* scratch,
                   pthreadpool_t pool) {
  const DirectConvParams& p = c.p;
  const int64_t in_plane = p.in_h * p.in_w, out_plane = p.out_h * p.out_w;
  const int64_t per_group = c.pointwise ? static_cast<int64_t>(c.xblocks.size())
                                        : (p.out_h + c.band_rows - 1) / c.band_rows;
  const int64_t units = p.batch * p.groups * per_group;
  auto run_unit = [&](int64_t unit, float* slot) {
    const int64_t ng = unit / per_group, u = unit % per_group;
    const float* xg = x + ng * p.cin_g * in_plane;
    float* yg = y + ng * p.cout_g * out_plane;
    const float* sg = sum ? sum + ng * p.cout_g * out_plane : nullptr;
    const float* wg = c.packed.get() + (ng % p.groups) * c.packed_group_stride;
    if (c.pointwise) {
      const DirectConv::XBlock& xb = c.xblocks[u];
      if (xb.valid == xb.nvec * c.lanes) {
        RunRow(c, xg, 0, c.offsets.data(), wg, yg, sg, out_plane, u, u + 1);
        return;
      }
      // A partial last block reads a zero-padded copy, so no load runs past the input buffer.
      const int64_t width = xb.nvec * c.lanes;
      for (int64_t ci = 0; ci < p.cin_g; ++ci) {
        float* dst = slot + ci * width;
        std::memcpy(dst, xg + ci * in_plane + xb.x0, sizeof(float) * xb.valid);
        std::memset(dst + xb.valid, 0, sizeof(float) * (width - xb.valid));
      }
      RunRow(c, slot, xb.x0, c.tail_offsets.data(), wg, yg, sg, out_plane, u, u + 1);
      return;
    }
    const int64_t row_len = p.stride_w * c.phase_w;
    const int64_t y0 = u * c.band_rows;
    const int64_t rows = std::min(c.band_rows, p.out_h - y0);
    const int64_t in_rows = (rows - 1) * p.stride_h + (p.k_h - 1) * p.dil_h + 1;
    StageRows(c, xg, y0 * p.stride_h - p.pad_top, in_rows, slot, slot + c.stage_floats());
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t row = (y0 + r) * p.out_w;
      RunRow(c, slot + r * p.stride_h * row_len, 0, c.offsets.data(), wg, yg + row, sg ? sg + row : nullptr,
             out_plane, 0, c.xblocks.size());
    }
  };
  const size_t threads = pool ? pthreadpool_get_threads_count(pool) : 1;
  const int64_t slots = std::min<int64_t>({static_cast<int64_t>(threads), DirectConv::kParallelSlots, units});
  if (slots <= 1) {
    for (int64_t unit = 0; unit < units; ++unit) run_unit(unit, scratch);
    return;
  }
  ParallelFor(pool, static_cast<size_t>(slots), [&](size_t task) {
    float* slot = scratch + static_cast<int64_t>(task) * c.slot_floats();
    for (int64_t unit = static_cast<int64_t>(task); unit < units; unit += slots) run_unit(unit, slot);
  });
}

}  // namespace tinyq::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tinyq::kernels {

HWY_EXPORT(DirectConvLanes);
HWY_EXPORT(DirectConvRegisters);
HWY_EXPORT(RunDirectConv);

void DirectConv::AlignedFree::operator()(float* p) const { std::free(p); }

namespace {

// Splits the pixel vectors of a row of `width` columns into blocks of at most `max_vec`, as even
// as possible: a lone 1-vector block would reload every broadcast weight for a single FMA each.
std::vector<DirectConv::XBlock> split_columns(int64_t width, int64_t lanes, int max_vec) {
  std::vector<DirectConv::XBlock> blocks;
  const int64_t nvec = (width + lanes - 1) / lanes;
  const int64_t nblocks = (nvec + max_vec - 1) / max_vec;
  for (int64_t b = 0, v = 0; b < nblocks; ++b) {
    const int64_t count = nvec / nblocks + (b < nvec % nblocks ? 1 : 0);
    const int64_t x0 = v * lanes;
    blocks.push_back({static_cast<int32_t>(x0), static_cast<int32_t>(count),
                      static_cast<int32_t>(std::min(count * lanes, width - x0))});
    v += count;
  }
  return blocks;
}

// Most pixel vectors a block of `oc` channels can hold in `regs` registers (accumulators, the
// input vectors of one tap and one broadcast weight).
int max_vectors(int oc, int regs) { return std::clamp((regs - 1) / (oc + 1), 1, 8); }

}  // namespace

std::unique_ptr<DirectConv> DirectConv::create(const DirectConvParams& p, const float* weights, const float* bias) {
  // Larger geometry (hostile strides or dilations) goes to the reference kernel, so that the
  // staging arithmetic below and in slot_floats() cannot overflow.
  constexpr int64_t kMaxGeometry = int64_t{1} << 20;
  for (int64_t v : {p.stride_h, p.stride_w, p.dil_h, p.dil_w, p.k_h, p.k_w, p.in_h, p.in_w})
    if (v > kMaxGeometry) return nullptr;
  if (p.cin_g * std::max(p.in_h * p.in_w, (p.k_h * p.dil_h + p.stride_h) * (p.in_w + p.k_w * p.dil_w + 64)) >
      std::numeric_limits<int32_t>::max())
    return nullptr;
  auto c = std::make_unique<DirectConv>();
  c->p = p;
  c->lanes = HWY_DYNAMIC_DISPATCH(DirectConvLanes)();
  const int regs = HWY_DYNAMIC_DISPATCH(DirectConvRegisters)();
  c->pointwise = p.k_h == 1 && p.k_w == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
                 p.pad_left == 0 && p.out_h == p.in_h && p.out_w == p.in_w;
  c->taps = p.cin_g * p.k_h * p.k_w;

  // Output channel blocks: the widest size that still leaves room for several pixel vectors,
  // then smaller power-of-two sizes for the remainder.
  int main_oc = 1;
  for (int oc : {8, 4, 2}) {
    if (oc <= p.cout_g && max_vectors(oc, regs) >= (regs >= 32 ? 3 : 2)) {
      main_oc = oc;
      break;
    }
  }
  for (int64_t oc0 = 0; oc0 < p.cout_g;) {
    int size = main_oc;
    while (size > p.cout_g - oc0) size /= 2;
    c->ocblocks.push_back({static_cast<int32_t>(oc0), size});
    oc0 += size;
  }
  // Smaller remainder blocks need fewer registers, so the main block's vector count fits all.
  const int max_vec = max_vectors(main_oc, regs);

  // Pack weights (and bias after them) per group and oc block, taps in (ci, ky, kx) order.
  size_t per_group = 0;
  for (const OcBlock& b : c->ocblocks) {
    c->packed_block_offset.push_back(per_group);
    per_group += static_cast<size_t>(b.size) * (c->taps + 1);
  }
  c->packed_group_stride = (per_group + 15) / 16 * 16;
  const size_t total = c->packed_group_stride * p.groups;
  c->packed.reset(static_cast<float*>(std::aligned_alloc(64, (total * sizeof(float) + 63) / 64 * 64)));
  std::fill_n(c->packed.get(), total, 0.0f);
  for (int64_t g = 0; g < p.groups; ++g) {
    for (size_t bi = 0; bi < c->ocblocks.size(); ++bi) {
      const OcBlock& b = c->ocblocks[bi];
      float* dst = c->packed.get() + g * c->packed_group_stride + c->packed_block_offset[bi];
      for (int j = 0; j < b.size; ++j) {
        const int64_t oc = g * p.cout_g + b.oc0 + j;
        for (int64_t t = 0; t < c->taps; ++t) dst[t * b.size + j] = weights[oc * c->taps + t];
        dst[c->taps * b.size + j] = bias ? bias[oc] : 0.0f;
      }
    }
  }

  if (c->pointwise) {
    const int64_t plane = p.in_h * p.in_w;
    c->xblocks = split_columns(plane, c->lanes, max_vec);
    const XBlock& last = c->xblocks.back();
    for (int64_t ci = 0; ci < p.cin_g; ++ci) {
      c->offsets.push_back(static_cast<int32_t>(ci * plane));
      c->tail_offsets.push_back(static_cast<int32_t>(ci * last.nvec * c->lanes));
    }
    return c;
  }

  c->xblocks = split_columns(p.out_w, c->lanes, max_vec);
  const int64_t max_shift = (p.k_w - 1) * p.dil_w / p.stride_w;
  const int64_t padded_w = (p.out_w + c->lanes - 1) / c->lanes * c->lanes + max_shift;
  c->phase_w = (padded_w + 15) / 16 * 16;
  const int64_t row_len = p.stride_w * c->phase_w;
  // Bands of output rows whose staged input (256 KiB) stays in L2 with room for the outputs being
  // written (128-512 KiB budgets measured within 5% of each other on the 16->16 3x3 224x224 conv).
  constexpr int64_t kStageBudgetFloats = 64 * 1024;
  const int64_t row_floats = p.cin_g * row_len;
  const int64_t extra_rows = (p.k_h - 1) * p.dil_h + 1;
  int64_t band = (kStageBudgetFloats / std::max<int64_t>(row_floats, 1) - extra_rows) / p.stride_h + 1;
  c->band_rows = std::clamp<int64_t>(band, 1, p.out_h);
  c->band_in_rows = (c->band_rows - 1) * p.stride_h + extra_rows;
  for (int64_t ci = 0; ci < p.cin_g; ++ci)
    for (int64_t ky = 0; ky < p.k_h; ++ky)
      for (int64_t kx = 0; kx < p.k_w; ++kx) {
        const int64_t col = kx * p.dil_w;
        c->offsets.push_back(static_cast<int32_t>((ci * c->band_in_rows + ky * p.dil_h) * row_len +
                                                  (col % p.stride_w) * c->phase_w + col / p.stride_w));
      }
  return c;
}

int64_t DirectConv::slot_floats() const {
  if (pointwise) {
    const XBlock& last = xblocks.back();
    return last.valid < last.nvec * lanes ? (p.cin_g * last.nvec * lanes + 15) / 16 * 16 : 0;
  }
  return stage_floats() + (p.stride_w * phase_w + 15) / 16 * 16;
}

size_t DirectConv::scratch_bytes() const { return sizeof(float) * slot_floats() * kParallelSlots; }

void DirectConv::run(const float* x, float* y, void* scratch, const float* sum, pthreadpool_t pool) const {
  HWY_DYNAMIC_DISPATCH(RunDirectConv)(*this, x, y, sum, static_cast<float*>(scratch), pool);
}

}  // namespace tinyq::kernels
#endif  // HWY_ONCE
