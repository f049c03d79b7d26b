// Elementwise unary ops and activations: Relu, Sigmoid, Tanh, Erf, Sqrt, Exp, Log, Abs, Neg,
// LeakyRelu, HardSigmoid and Clip. The reference applies a scalar functor (std:: math) per element;
// the fast float32 kernels are Highway SIMD, compiled for each x86 target and picked at plan time.
// Other dtypes run the scalar loop in both modes (they only appear in shape arithmetic).

// Highway re-includes this file once per SIMD target (foreach_target). SSSE3 and AVX3_DL add
// nothing over SSE4 and AVX3 for float math, so they are left out to save compile time.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_AVX3_DL)
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/unary.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "kernels/vec_math-inl.h"

// Shared by every target: compiled once (the guard survives the re-inclusions).
#ifndef TINYQ_KERNELS_UNARY_SHARED_
#define TINYQ_KERNELS_UNARY_SHARED_

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "kernels/elementwise.h"

namespace tinyq::kernels::unary {

// Op parameters, read by the scalar and the SIMD functors alike.
struct Params {
  float alpha = 0.0f, beta = 0.0f;  // LeakyRelu, HardSigmoid
  float lo = 0.0f, hi = 0.0f;       // Clip on float32
};
using FastF32 = void (*)(const float*, float*, size_t, const Params&);

// -x without signed-overflow UB: two's complement wrap, so Neg/Abs of INT_MIN give INT_MIN as
// numpy and ONNX Runtime do.
template <typename T>
T negate(T x) {
  if constexpr (std::is_integral_v<T>)
    return static_cast<T>(std::make_unsigned_t<T>(0) - static_cast<std::make_unsigned_t<T>>(x));
  else
    return -x;
}

// Scalar functors: the reference semantics. Comparisons are written so NaN passes through.
struct ReluS {
  Params p;
  template <typename T> T operator()(T x) const { return x < T(0) ? T(0) : x; }
};
struct AbsS {
  Params p;
  template <typename T> T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) return x;
    else if constexpr (std::is_integral_v<T>) return x < 0 ? negate(x) : x;
    else return std::fabs(x);
  }
};
struct NegS {
  Params p;
  template <typename T> T operator()(T x) const { return negate(x); }
};
struct SqrtS {
  Params p;
  template <typename T> T operator()(T x) const { return std::sqrt(x); }
};
struct ExpS {
  Params p;
  template <typename T> T operator()(T x) const { return std::exp(x); }
};
struct LogS {
  Params p;
  template <typename T> T operator()(T x) const { return std::log(x); }
};
struct TanhS {
  Params p;
  template <typename T> T operator()(T x) const { return std::tanh(x); }
};
struct ErfS {
  Params p;
  template <typename T> T operator()(T x) const { return std::erf(x); }
};
struct SigmoidS {
  Params p;
  // Same split as the SIMD kernel: exp(-|x|) never overflows and each branch keeps relative accuracy.
  template <typename T> T operator()(T x) const {
    if (std::isnan(x)) return x;
    const T e = std::exp(-std::fabs(x));
    return (x < T(0) ? e : T(1)) / (T(1) + e);
  }
};
struct LeakyReluS {
  Params p;
  template <typename T> T operator()(T x) const { return x < T(0) ? static_cast<T>(p.alpha) * x : x; }
};
struct HardSigmoidS {
  Params p;
  template <typename T> T operator()(T x) const {
    const T v = static_cast<T>(p.alpha) * x + static_cast<T>(p.beta);
    return v < T(0) ? T(0) : (v > T(1) ? T(1) : v);
  }
};
// min/max typed like the data (Clip accepts integers), so it is not built from Params.
template <typename T>
struct ClipS {
  T lo, hi;
  T operator()(T x) const {
    const T v = x < lo ? lo : x;
    return v > hi ? hi : v;  // lo > hi gives hi, as the spec says
  }
};

template <typename T, typename Op>
void map_scalar(const T* __restrict x, T* __restrict y, int64_t n, Op op) {
  for (int64_t i = 0; i < n; ++i) y[i] = op(x[i]);
}

}  // namespace tinyq::kernels::unary

#endif  // TINYQ_KERNELS_UNARY_SHARED_

HWY_BEFORE_NAMESPACE();
namespace tinyq::kernels::unary::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using kernels::HWY_NAMESPACE::ErfF;
using kernels::HWY_NAMESPACE::ExpF;
using kernels::HWY_NAMESPACE::LogF;
using kernels::HWY_NAMESPACE::SigmoidF;
using kernels::HWY_NAMESPACE::TanhF;
using kernels::HWY_NAMESPACE::TransformF32;

// SIMD functors, one per op; each mirrors its scalar functor above.
struct ReluV {
  explicit ReluV(const Params&) {}
  template <class D, class V> V operator()(D d, V x) const { return hn::IfThenZeroElse(hn::Lt(x, hn::Zero(d)), x); }
};
struct AbsV {
  explicit AbsV(const Params&) {}
  template <class D, class V> V operator()(D, V x) const { return hn::Abs(x); }
};
struct NegV {
  explicit NegV(const Params&) {}
  template <class D, class V> V operator()(D, V x) const { return hn::Neg(x); }
};
struct SqrtV {
  explicit SqrtV(const Params&) {}
  template <class D, class V> V operator()(D, V x) const { return hn::Sqrt(x); }
};
struct ExpV {
  explicit ExpV(const Params&) {}
  template <class D, class V> V operator()(D d, V x) const { return ExpF(d, x); }
};
struct LogV {
  explicit LogV(const Params&) {}
  template <class D, class V> V operator()(D d, V x) const { return LogF(d, x); }
};
struct TanhV {
  explicit TanhV(const Params&) {}
  template <class D, class V> V operator()(D d, V x) const { return TanhF(d, x); }
};
struct ErfV {
  explicit ErfV(const Params&) {}
  template <class D, class V> V operator()(D d, V x) const { return ErfF(d, x); }
};
struct SigmoidV {
  explicit SigmoidV(const Params&) {}
  template <class D, class V> V operator()(D d, V x) const { return SigmoidF(d, x); }
};
struct LeakyReluV {
  float alpha;
  explicit LeakyReluV(const Params& p) : alpha(p.alpha) {}
  template <class D, class V> V operator()(D d, V x) const {
    return hn::IfThenElse(hn::Lt(x, hn::Zero(d)), hn::Mul(x, hn::Set(d, alpha)), x);
  }
};
struct HardSigmoidV {
  float alpha, beta;
  explicit HardSigmoidV(const Params& p) : alpha(p.alpha), beta(p.beta) {}
  template <class D, class V> V operator()(D d, V x) const {
    // Unfused multiply-add, to round exactly as the scalar reference does.
    const V v = hn::Add(hn::Mul(hn::Set(d, alpha), x), hn::Set(d, beta));
    const V one = hn::Set(d, 1.0f);
    return hn::IfThenElse(hn::Gt(v, one), one, hn::IfThenZeroElse(hn::Lt(v, hn::Zero(d)), v));
  }
};
struct ClipV {
  float lo, hi;
  explicit ClipV(const Params& p) : lo(p.lo), hi(p.hi) {}
  template <class D, class V> V operator()(D d, V x) const {
    const V l = hn::Set(d, lo), h = hn::Set(d, hi);
    const V v = hn::IfThenElse(hn::Lt(x, l), l, x);
    return hn::IfThenElse(hn::Gt(v, h), h, v);
  }
};

#define TINYQ_UNARY_F32(Name)                                                          \
  void Name##F32(const float* x, float* y, size_t n, const Params& p) {                \
    TransformF32(x, y, n, Name##V(p));                                                 \
  }
TINYQ_UNARY_F32(Relu)
TINYQ_UNARY_F32(Abs)
TINYQ_UNARY_F32(Neg)
TINYQ_UNARY_F32(Sqrt)
TINYQ_UNARY_F32(Exp)
TINYQ_UNARY_F32(Log)
TINYQ_UNARY_F32(Tanh)
TINYQ_UNARY_F32(Erf)
TINYQ_UNARY_F32(Sigmoid)
TINYQ_UNARY_F32(LeakyRelu)
TINYQ_UNARY_F32(HardSigmoid)
TINYQ_UNARY_F32(Clip)
#undef TINYQ_UNARY_F32

}  // namespace tinyq::kernels::unary::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tinyq::kernels {
namespace unary {

HWY_EXPORT(ReluF32);
HWY_EXPORT(AbsF32);
HWY_EXPORT(NegF32);
HWY_EXPORT(SqrtF32);
HWY_EXPORT(ExpF32);
HWY_EXPORT(LogF32);
HWY_EXPORT(TanhF32);
HWY_EXPORT(ErfF32);
HWY_EXPORT(SigmoidF32);
HWY_EXPORT(LeakyReluF32);
HWY_EXPORT(HardSigmoidF32);
HWY_EXPORT(ClipF32);
}  // namespace unary

namespace {

using unary::FastF32;
using unary::Params;
using KernelResult = Result<std::unique_ptr<Kernel>>;

// Shared factory for ops without run-time operands: validates, sets the output and returns the
// SIMD kernel (float32, kFast) or the scalar loop of functor S.
template <typename S, unsigned kTypes>
KernelResult make_unary(PrepareContext& ctx, std::initializer_list<const char*> attrs, const Params& p,
                        FastF32 fast) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs(attrs));
  if (!ctx.has_input(0)) return ctx.error("input 0 is required");
  const TensorInfo& x = ctx.input(0);
  const int64_t n = shape_numel(x.shape);
  if (x.dtype == DType::kFloat32 && ctx.impl() == KernelImpl::kFast) {
    ctx.set_output(0, x.dtype, x.shape);
    const size_t count = static_cast<size_t>(n);
    return make_kernel([fast, p, count](const KernelArgs& a) {
      fast(static_cast<const float*>(a.inputs[0]), static_cast<float*>(a.outputs[0]), count, p);
    });
  }
  return visit_dtype<kTypes>(x.dtype, KernelResult(unsupported_dtype(ctx, x.dtype)),
                             [&](auto tag) -> KernelResult {
    using T = typename decltype(tag)::type;
    ctx.set_output(0, x.dtype, x.shape);
    const S op{p};
    return make_kernel([op, n](const KernelArgs& a) {
      unary::map_scalar(static_cast<const T*>(a.inputs[0]), static_cast<T*>(a.outputs[0]), n, op);
    });
  });
}

// Clip's bound: from an opset<11 attribute, a constant input, or (read at run time) a graph value.
template <typename T>
struct ClipBound {
  T value;
  int input = -1;  // >= 0: read args.inputs[input] on each run
  T get(const KernelArgs& a) const { return input < 0 ? value : *static_cast<const T*>(a.inputs[input]); }
};

template <typename T>
Result<ClipBound<T>> clip_bound(PrepareContext& ctx, int i, T def) {
  ClipBound<T> b{def};
  const char* name = i == 1 ? "min" : "max";
  if (ctx.opset() < 11) {
    if (ctx.has_attr(name)) b.value = static_cast<T>(ctx.attr_float(name, 0.0f));
    return b;
  }
  if (!ctx.has_input(i)) return b;
  const TensorInfo& t = ctx.input(i);
  if (t.dtype != DTypeOf<T>::value)
    return ctx.error(std::string(name) + " has dtype " + dtype_name(t.dtype) + " but the input has " +
                     dtype_name(DTypeOf<T>::value));
  if (shape_numel(t.shape) != 1)
    return ctx.error(std::string(name) + " must be a scalar, got shape " + shape_str(t.shape));
  if (t.value) b.value = t.value->data<T>()[0];
  else b.input = i;
  return b;
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_relu(PrepareContext& ctx) {
  return make_unary<unary::ReluS, kFloatTypes | kSignedTypes>(ctx, {}, {}, TINYQ_HWY_BEST(unary::ReluF32));
}
Result<std::unique_ptr<Kernel>> make_abs(PrepareContext& ctx) {
  return make_unary<unary::AbsS, kNumericTypes>(ctx, {}, {}, TINYQ_HWY_BEST(unary::AbsF32));
}
Result<std::unique_ptr<Kernel>> make_neg(PrepareContext& ctx) {
  return make_unary<unary::NegS, kFloatTypes | kSignedTypes>(ctx, {}, {}, TINYQ_HWY_BEST(unary::NegF32));
}
Result<std::unique_ptr<Kernel>> make_sqrt(PrepareContext& ctx) {
  return make_unary<unary::SqrtS, kFloatTypes>(ctx, {}, {}, TINYQ_HWY_BEST(unary::SqrtF32));
}
Result<std::unique_ptr<Kernel>> make_exp(PrepareContext& ctx) {
  return make_unary<unary::ExpS, kFloatTypes>(ctx, {}, {}, TINYQ_HWY_BEST(unary::ExpF32));
}
Result<std::unique_ptr<Kernel>> make_log(PrepareContext& ctx) {
  return make_unary<unary::LogS, kFloatTypes>(ctx, {}, {}, TINYQ_HWY_BEST(unary::LogF32));
}
Result<std::unique_ptr<Kernel>> make_tanh(PrepareContext& ctx) {
  return make_unary<unary::TanhS, kFloatTypes>(ctx, {}, {}, TINYQ_HWY_BEST(unary::TanhF32));
}
Result<std::unique_ptr<Kernel>> make_erf(PrepareContext& ctx) {
  return make_unary<unary::ErfS, kFloatTypes>(ctx, {}, {}, TINYQ_HWY_BEST(unary::ErfF32));
}
Result<std::unique_ptr<Kernel>> make_sigmoid(PrepareContext& ctx) {
  return make_unary<unary::SigmoidS, kFloatTypes>(ctx, {}, {}, TINYQ_HWY_BEST(unary::SigmoidF32));
}
Result<std::unique_ptr<Kernel>> make_leaky_relu(PrepareContext& ctx) {
  Params p;
  p.alpha = ctx.attr_float("alpha", 0.01f);
  return make_unary<unary::LeakyReluS, kFloatTypes>(ctx, {"alpha"}, p, TINYQ_HWY_BEST(unary::LeakyReluF32));
}
Result<std::unique_ptr<Kernel>> make_hard_sigmoid(PrepareContext& ctx) {
  Params p;
  p.alpha = ctx.attr_float("alpha", 0.2f);
  p.beta = ctx.attr_float("beta", 0.5f);
  return make_unary<unary::HardSigmoidS, kFloatTypes>(ctx, {"alpha", "beta"}, p,
                                                      TINYQ_HWY_BEST(unary::HardSigmoidF32));
}

// Clip: opset 6 takes min/max attributes (floats only); from opset 11 they are optional scalar
// inputs, constant or computed, and from opset 12 integer types are allowed.
Result<std::unique_ptr<Kernel>> make_clip(PrepareContext& ctx) {
  if (ctx.opset() < 11) TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"min", "max"}));
  else TINYQ_RETURN_IF_ERROR(ctx.check_attrs({}));
  if (!ctx.has_input(0)) return ctx.error("input 0 is required");
  const TensorInfo& x = ctx.input(0);
  if (ctx.opset() < 11 && x.dtype != DType::kFloat32 && x.dtype != DType::kFloat64)
    return unsupported_dtype(ctx, x.dtype);
  const int64_t n = shape_numel(x.shape);
  const bool fast = ctx.impl() == KernelImpl::kFast;
  const FastF32 fast_clip = TINYQ_HWY_BEST(unary::ClipF32);
  return visit_dtype<kNumericTypes>(x.dtype, KernelResult(unsupported_dtype(ctx, x.dtype)),
                                    [&](auto tag) -> KernelResult {
    using T = typename decltype(tag)::type;
    TINYQ_ASSIGN_OR_RETURN(const ClipBound<T> lo, clip_bound<T>(ctx, 1, std::numeric_limits<T>::lowest()));
    TINYQ_ASSIGN_OR_RETURN(const ClipBound<T> hi, clip_bound<T>(ctx, 2, std::numeric_limits<T>::max()));
    ctx.set_output(0, x.dtype, x.shape);
    if constexpr (std::is_same_v<T, float>) {
      if (fast) {
        const size_t count = static_cast<size_t>(n);
        return make_kernel([fast_clip, lo, hi, count](const KernelArgs& a) {
          Params p;
          p.lo = lo.get(a);
          p.hi = hi.get(a);
          fast_clip(static_cast<const float*>(a.inputs[0]), static_cast<float*>(a.outputs[0]), count, p);
        });
      }
    }
    return make_kernel([lo, hi, n](const KernelArgs& a) {
      unary::map_scalar(static_cast<const T*>(a.inputs[0]), static_cast<T*>(a.outputs[0]), n,
                        unary::ClipS<T>{lo.get(a), hi.get(a)});
    });
  });
}

}  // namespace tinyq::kernels
#endif  // HWY_ONCE
