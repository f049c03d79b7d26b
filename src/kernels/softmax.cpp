// Softmax and LogSoftmax. Opset < 13 flattens the input to 2-D at `axis` (default 1) and
// normalises each row; opset >= 13 normalises along `axis` alone (default -1). Both subtract the
// running maximum first, so large inputs never overflow. The fast float32 kernel handles
// contiguous rows (every opset < 13 case, and the last axis from 13) with Highway SIMD.

#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_AVX3_DL)
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/softmax.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "kernels/vec_math-inl.h"

#ifndef TINYQ_KERNELS_SOFTMAX_SHARED_
#define TINYQ_KERNELS_SOFTMAX_SHARED_

#include <cmath>
#include <string>

#include "kernels/elementwise.h"

namespace tinyq::kernels::softmax {

// The input viewed as [outer, len, inner]; normalisation runs along len.
struct Geometry {
  int64_t outer = 1, len = 1, inner = 1;
};

using FastRowsF32 = void (*)(const float*, float*, size_t rows, size_t len);

// Plain scalar walk over any geometry: max, sum of exp(x - max), then normalise.
template <bool kLog, typename T>
void softmax_reference(const Geometry& g, const T* x, T* y) {
  for (int64_t o = 0; o < g.outer; ++o) {
    for (int64_t j = 0; j < g.inner; ++j) {
      const int64_t base = o * g.len * g.inner + j;
      T m = x[base];
      for (int64_t k = 1; k < g.len; ++k) {
        const T v = x[base + k * g.inner];
        m = v > m ? v : m;
      }
      T sum = 0;
      for (int64_t k = 0; k < g.len; ++k) {
        const T e = std::exp(x[base + k * g.inner] - m);
        if constexpr (!kLog) y[base + k * g.inner] = e;
        sum += e;
      }
      if constexpr (kLog) {
        const T log_sum = std::log(sum);
        for (int64_t k = 0; k < g.len; ++k) y[base + k * g.inner] = (x[base + k * g.inner] - m) - log_sum;
      } else {
        for (int64_t k = 0; k < g.len; ++k) y[base + k * g.inner] /= sum;
      }
    }
  }
}

}  // namespace tinyq::kernels::softmax

#endif  // TINYQ_KERNELS_SOFTMAX_SHARED_

HWY_BEFORE_NAMESPACE();
namespace tinyq::kernels::softmax::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Contiguous rows of `len`: vector max, vector exp-and-sum, then one scaling pass. A partial last
// vector is loaded with a tail load and masked out of the sum.
template <bool kLog>
HWY_INLINE void Rows(const float* HWY_RESTRICT x, float* HWY_RESTRICT y, size_t rows, size_t len) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const size_t lanes = hn::Lanes(d);
  const size_t full = len - len % lanes;
  const size_t tail = len - full;
  for (size_t r = 0; r < rows; ++r, x += len, y += len) {
    float m = x[0];
    if (full) {
      V vm = hn::LoadU(d, x);
      for (size_t i = lanes; i < full; i += lanes) vm = hn::Max(vm, hn::LoadU(d, x + i));
      m = hn::GetLane(hn::MaxOfLanes(d, vm));
    }
    for (size_t i = full; i < len; ++i) m = x[i] > m ? x[i] : m;
    // NaN anywhere makes its own exp NaN and so the sum and the whole row, as in the reference.
    const V vmax = hn::Set(d, m);
    V vsum = hn::Zero(d);
    for (size_t i = 0; i < full; i += lanes) {
      const V e = kernels::HWY_NAMESPACE::ExpF(d, hn::Sub(hn::LoadU(d, x + i), vmax));
      if constexpr (!kLog) hn::StoreU(e, d, y + i);
      vsum = hn::Add(vsum, e);
    }
    if (tail) {
      const V xt = kernels::HWY_NAMESPACE::LoadTailF32(d, x + full, tail);
      const V e = kernels::HWY_NAMESPACE::ExpF(d, hn::Sub(xt, vmax));
      vsum = hn::Add(vsum, hn::IfThenElseZero(hn::FirstN(d, tail), e));
      if constexpr (!kLog) kernels::HWY_NAMESPACE::StoreTailF32(d, e, y + full, tail);
    }
    const float sum = hn::GetLane(hn::SumOfLanes(d, vsum));
    if constexpr (kLog) {
      // (x - m) - log(sum), grouped as the reference groups it.
      const float log_sum = std::log(sum);
      for (size_t i = 0; i < len; ++i) y[i] = (x[i] - m) - log_sum;
    } else {
      const V vs = hn::Set(d, sum);
      for (size_t i = 0; i < full; i += lanes) hn::StoreU(hn::Div(hn::LoadU(d, y + i), vs), d, y + i);
      for (size_t i = full; i < len; ++i) y[i] /= sum;
    }
  }
}

void SoftmaxRowsF32(const float* x, float* y, size_t rows, size_t len) { Rows<false>(x, y, rows, len); }
void LogSoftmaxRowsF32(const float* x, float* y, size_t rows, size_t len) { Rows<true>(x, y, rows, len); }

}  // namespace tinyq::kernels::softmax::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tinyq::kernels {
namespace softmax {
HWY_EXPORT(SoftmaxRowsF32);
HWY_EXPORT(LogSoftmaxRowsF32);
}  // namespace softmax

namespace {

using KernelResult = Result<std::unique_ptr<Kernel>>;

template <bool kLog>
KernelResult make_softmax_family(PrepareContext& ctx, softmax::FastRowsF32 fast_rows) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"axis"}));
  if (!ctx.has_input(0)) return ctx.error("input 0 is required");
  const TensorInfo& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  if (rank == 0) return ctx.error("input must have rank >= 1");
  const bool per_axis = ctx.opset() >= 13;
  int64_t axis = ctx.attr_int("axis", per_axis ? -1 : 1);
  if (axis < -rank || axis >= rank)
    return ctx.error("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  if (axis < 0) axis += rank;

  softmax::Geometry g;
  for (int64_t d = 0; d < axis; ++d) g.outer *= x.shape[d];
  if (per_axis) {
    g.len = x.shape[axis];
    for (int64_t d = axis + 1; d < rank; ++d) g.inner *= x.shape[d];
  } else {
    for (int64_t d = axis; d < rank; ++d) g.len *= x.shape[d];
  }
  if (g.outer * g.inner == 0 || g.len == 0) g.outer = 0;  // empty: nothing to normalise

  return visit_dtype<kFloatTypes>(x.dtype, KernelResult(unsupported_dtype(ctx, x.dtype)),
                                  [&](auto tag) -> KernelResult {
    using T = typename decltype(tag)::type;
    ctx.set_output(0, x.dtype, x.shape);
    if constexpr (std::is_same_v<T, float>) {
      if (ctx.impl() == KernelImpl::kFast && g.inner == 1) {
        const size_t rows = static_cast<size_t>(g.outer), len = static_cast<size_t>(g.len);
        return make_kernel([fast_rows, rows, len](const KernelArgs& a) {
          fast_rows(static_cast<const float*>(a.inputs[0]), static_cast<float*>(a.outputs[0]), rows, len);
        });
      }
    }
    return make_kernel([g](const KernelArgs& a) {
      softmax::softmax_reference<kLog>(g, static_cast<const T*>(a.inputs[0]), static_cast<T*>(a.outputs[0]));
    });
  });
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_softmax(PrepareContext& ctx) {
  return make_softmax_family<false>(ctx, TINYQ_HWY_BEST(softmax::SoftmaxRowsF32));
}

Result<std::unique_ptr<Kernel>> make_log_softmax(PrepareContext& ctx) {
  return make_softmax_family<true>(ctx, TINYQ_HWY_BEST(softmax::LogSoftmaxRowsF32));
}

}  // namespace tinyq::kernels
#endif  // HWY_ONCE
