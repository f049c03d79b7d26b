// Highway per-target float math for the fast elementwise kernels: Erf, and Exp/Log/Tanh/Sigmoid
// wrapped so that NaN, infinities and out-of-range inputs give what std:: gives. Include after
// <hwy/highway.h> (inside a foreach_target file, once per target, as Highway's -inl.h convention).

// Per-target include guard: toggled by foreach_target so each target gets its own copy.
#if defined(TINYQ_KERNELS_VEC_MATH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef TINYQ_KERNELS_VEC_MATH_INL_H_
#undef TINYQ_KERNELS_VEC_MATH_INL_H_
#else
#define TINYQ_KERNELS_VEC_MATH_INL_H_
#endif

#include <cstddef>
#include <cstring>

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace tinyq::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// exp(x): hwy's Exp is valid up to +104 and maps NaN to 0, so clamp where the float result is
// already +inf (exp(89) > FLT_MAX) and pass NaN through.
template <class D, class V>
HWY_INLINE V ExpF(D d, V x) {
  const V clamped = hn::IfThenElse(hn::Gt(x, hn::Set(d, 89.0f)), hn::Set(d, 89.0f), x);
  return hn::IfThenElse(hn::IsNaN(x), x, hn::Exp(d, clamped));
}

// log(x): hwy's Log is valid on (0, +inf); give -inf at 0, NaN below 0 and for NaN, +inf at +inf.
template <class D, class V>
HWY_INLINE V LogF(D d, V x) {
  const V zero = hn::Zero(d);
  const V inf = hn::Set(d, HUGE_VALF);
  V r = hn::Log(d, hn::IfThenElse(hn::Gt(x, zero), x, hn::Set(d, 1.0f)));
  r = hn::IfThenElse(hn::Eq(x, inf), inf, r);
  r = hn::IfThenElse(hn::Eq(x, zero), hn::Neg(inf), r);
  return hn::IfThenElse(hn::Or(hn::Lt(x, zero), hn::IsNaN(x)), hn::Set(d, NAN), r);
}

// tanh(x): hwy's Tanh covers every float (saturating to +-1 beyond 18.7) and propagates NaN.
template <class D, class V>
HWY_INLINE V TanhF(D d, V x) {
  return hn::Tanh(d, x);
}

// 1/(1+exp(-x)) from e = exp(-|x|) <= 1, which never overflows: 1/(1+e) for x >= 0 and
// e/(1+e) for x < 0, so the result keeps full relative accuracy on both tails.
template <class D, class V>
HWY_INLINE V SigmoidF(D d, V x) {
  const V one = hn::Set(d, 1.0f);
  const V e = hn::Exp(d, hn::Neg(hn::Abs(x)));  // -|x| >= -inf: Exp gives 0 below -104
  const V num = hn::IfThenElse(hn::Lt(x, hn::Zero(d)), e, one);
  return hn::IfThenElse(hn::IsNaN(x), x, hn::Div(num, hn::Add(one, e)));
}

// erf(x) to about 1 ulp (max abs error ~7e-8 against a correctly rounded erf), odd in x:
//  |x| < 0.921875: erf = |x| + |x| * S(x^2), S a degree-5 minimax fit of erf(x)/x - 1 (relative
//                  error 1.6e-8). Adding the small correction last keeps rounding at ~0.5 ulp.
//  otherwise:      erf = 1 - exp(L(min(|x|, 3.92))), L a degree-6 fit of log(erfc(x)) weighted by
//                  erfc(x) (abs error 1.5e-9). erf(x) rounds to 1.0f from 3.92 on.
// Coefficients were fitted for tinyq (weighted least squares with Lawson iterations, 40 digits).
template <class D, class V>
HWY_INLINE V ErfF(D d, V x) {
  const V a = hn::Abs(x);
  const V s = hn::Mul(a, a);
  V p = hn::Set(d, -5.9909935189663818e-4f);
  p = hn::MulAdd(p, s, hn::Set(d, 4.9932131093271530e-3f));
  p = hn::MulAdd(p, s, hn::Set(d, -2.6766644370808388e-2f));
  p = hn::MulAdd(p, s, hn::Set(d, 1.1281817222947786e-1f));
  p = hn::MulAdd(p, s, hn::Set(d, -3.7612493848994341e-1f));
  p = hn::MulAdd(p, s, hn::Set(d, 1.2837914962633150e-1f));
  const V small = hn::MulAdd(a, p, a);

  const V c = hn::Min(a, hn::Set(d, 3.92f));
  V g = hn::Set(d, 1.9473428897705093e-4f);
  g = hn::MulAdd(g, c, hn::Set(d, -3.0315985359120468e-3f));
  g = hn::MulAdd(g, c, hn::Set(d, 2.2181389399182942e-2f));
  g = hn::MulAdd(g, c, hn::Set(d, -1.0383888675254520e-1f));
  g = hn::MulAdd(g, c, hn::Set(d, -6.3728578118639724e-1f));
  g = hn::MulAdd(g, c, hn::Set(d, -1.1276154441113579f));
  g = hn::MulAdd(g, c, hn::Set(d, -2.0991745949675855e-4f));
  const V large = hn::Sub(hn::Set(d, 1.0f), hn::Exp(d, g));

  const V r = hn::IfThenElse(hn::Lt(a, hn::Set(d, 0.921875f)), small, large);
  return hn::IfThenElse(hn::IsNaN(x), x, hn::CopySignToAbs(r, x));
}

// The first n (< Lanes) floats at p, zero elsewhere, and the matching store: never touching
// memory past p + n. AVX2/AVX-512 masked moves suppress faults on masked-off lanes; other targets
// stage through a stack buffer (slower: the narrow stores defeat store-to-load forwarding).
template <class D>
HWY_INLINE hn::Vec<D> LoadTailF32(D d, const float* HWY_RESTRICT p, size_t n) {
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  return hn::MaskedLoad(hn::FirstN(d, n), d, p);
#else
  HWY_ALIGN float buf[HWY_MAX_BYTES / sizeof(float)] = {};
  std::memcpy(buf, p, n * sizeof(float));
  return hn::Load(d, buf);
#endif
}

template <class D, class V>
HWY_INLINE void StoreTailF32(D d, V v, float* HWY_RESTRICT p, size_t n) {
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  hn::BlendedStore(v, hn::FirstN(d, n), d, p);
#else
  HWY_ALIGN float buf[HWY_MAX_BYTES / sizeof(float)];
  hn::Store(v, d, buf);
  std::memcpy(p, buf, n * sizeof(float));
#endif
}

// Applies op(d, v) to n floats (x and y must not overlap). A partial last vector is handled by
// recomputing the last whole vector's worth of elements (same values rewritten), or with a tail
// load/store when n is shorter than one vector.
template <class Op>
HWY_INLINE void TransformF32(const float* HWY_RESTRICT x, float* HWY_RESTRICT y, size_t n, const Op& op) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  if (n < lanes) {
    if (n) StoreTailF32(d, op(d, LoadTailF32(d, x, n)), y, n);
    return;
  }
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(op(d, hn::LoadU(d, x + i)), d, y + i);
  if (i < n) hn::StoreU(op(d, hn::LoadU(d, x + n - lanes)), d, y + n - lanes);
}

}  // namespace tinyq::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // TINYQ_KERNELS_VEC_MATH_INL_H_
