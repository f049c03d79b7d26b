// Elementwise binary arithmetic with numpy-style broadcasting: Add, Sub, Mul, Div and Pow.
// Reference kernels compute each element's input offsets by division (broadcast_reference); fast
// kernels run the plan-time BroadcastPlan as tight inner loops. The float32 loops are compiled once
// per SIMD target (Highway foreach_target) so they auto-vectorise for AVX2/AVX-512.
// Integer arithmetic wraps (two's complement) and integer division by zero gives 0, so no input
// can trap or reach undefined behaviour.

#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_AVX3_DL)
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/binary.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#ifndef TINYQ_KERNELS_BINARY_SHARED_
#define TINYQ_KERNELS_BINARY_SHARED_

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "kernels/broadcast.h"
#include "kernels/elementwise.h"

namespace tinyq::kernels::binary {

// The unsigned type integer arithmetic wraps in; at least 32 bits so that promotion of narrow
// operands never lands in signed int (where uint16 * uint16 could overflow).
template <typename T>
using WrapT = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;

struct AddOp {
  template <typename T> T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) return static_cast<T>(WrapT<T>(a) + WrapT<T>(b));
    else return a + b;
  }
};
struct SubOp {
  template <typename T> T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) return static_cast<T>(WrapT<T>(a) - WrapT<T>(b));
    else return a - b;
  }
};
struct MulOp {
  template <typename T> T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) return static_cast<T>(WrapT<T>(a) * WrapT<T>(b));
    else return a * b;
  }
};
struct DivOp {
  template <typename T> T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) return T(0);  // would trap; ONNX leaves it undefined
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return static_cast<T>(WrapT<T>(0) - WrapT<T>(a));  // MIN / -1 would trap
      }
      return static_cast<T>(a / b);  // truncates toward zero, as C++ and ONNX Runtime
    } else {
      return a / b;
    }
  }
};

// Integer base to an integer power by squaring, wrapping on overflow. Negative exponents give
// the truncated reciprocal: 1 and -1 keep magnitude 1, every other base gives 0.
template <typename T, typename E>
T int_pow(T base, E exp) {
  if constexpr (std::is_signed_v<E>) {
    if (exp < 0) {
      if (base == 1) return 1;
      if (base == -1) return (exp % 2 == 0) ? T(1) : T(-1);
      return 0;
    }
  }
  using W = WrapT<T>;
  W result = 1, b = static_cast<W>(base);
  auto e = static_cast<std::make_unsigned_t<E>>(exp);
  while (e) {
    if (e & 1u) result = static_cast<W>(result * b);
    b = static_cast<W>(b * b);
    e >>= 1;
  }
  return static_cast<T>(result);
}

// Pow over mixed types (opset 12+): the result has the base's type. Float bases take std::pow
// (float^float in float, as ONNX Runtime; other exponents through double); integer bases take
// exact integer powers or, for float exponents, the double result converted like Cast.
struct PowOp {
  template <typename T, typename E> T operator()(T a, E b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if constexpr (std::is_same_v<T, E>) return std::pow(a, b);
      else return static_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
    } else if constexpr (std::is_integral_v<E>) {
      return int_pow(a, b);
    } else {
      return convert_value<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
    }
  }
};

using FastF32 = void (*)(const BroadcastPlan&, const float*, const float*, float*);

}  // namespace tinyq::kernels::binary

#endif  // TINYQ_KERNELS_BINARY_SHARED_

HWY_BEFORE_NAMESPACE();
namespace tinyq::kernels::binary::HWY_NAMESPACE {

// Same loops as the generic path; compiled here they vectorise for this target.
#define TINYQ_BINARY_F32(Name)                                                         \
  void Name##F32(const BroadcastPlan& p, const float* a, const float* b, float* c) {   \
    broadcast_run(p, a, b, c, Name##Op{});                                             \
  }
TINYQ_BINARY_F32(Add)
TINYQ_BINARY_F32(Sub)
TINYQ_BINARY_F32(Mul)
TINYQ_BINARY_F32(Div)
#undef TINYQ_BINARY_F32

}  // namespace tinyq::kernels::binary::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tinyq::kernels {
namespace binary {
HWY_EXPORT(AddF32);
HWY_EXPORT(SubF32);
HWY_EXPORT(MulF32);
HWY_EXPORT(DivF32);
}  // namespace binary

namespace {

using KernelResult = Result<std::unique_ptr<Kernel>>;

struct Operands {
  DType a, b;
  Shape a_shape, b_shape, out;
};

// Checks both inputs are present and broadcastable; sets output 0 to `out_dtype` (or a's dtype).
Result<Operands> prepare_operands(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({}));
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("needs two inputs");
  Operands o{ctx.input(0).dtype, ctx.input(1).dtype, ctx.input(0).shape, ctx.input(1).shape, {}};
  TINYQ_ASSIGN_OR_RETURN(o.out, broadcast_shape(ctx, o.a_shape, o.b_shape));
  return o;
}

// The kernel for element types TA, TB -> TC: the division walk (reference) or the plan (fast).
template <typename TA, typename TB, typename TC, typename Op>
KernelResult make_typed(PrepareContext& ctx, const Operands& o) {
  if (ctx.impl() == KernelImpl::kReference) {
    return make_kernel([ix = make_broadcast_index(o.a_shape, o.b_shape, o.out)](const KernelArgs& a) {
      broadcast_reference(ix, static_cast<const TA*>(a.inputs[0]), static_cast<const TB*>(a.inputs[1]),
                          static_cast<TC*>(a.outputs[0]), Op{});
    });
  }
  TINYQ_ASSIGN_OR_RETURN(const BroadcastPlan plan, make_broadcast_plan(ctx, o.a_shape, o.b_shape, o.out));
  return make_kernel([plan](const KernelArgs& a) {
    broadcast_run(plan, static_cast<const TA*>(a.inputs[0]), static_cast<const TB*>(a.inputs[1]),
                  static_cast<TC*>(a.outputs[0]), Op{});
  });
}

// Add/Sub/Mul/Div: both inputs and the output share one dtype.
template <typename Op>
KernelResult make_arith(PrepareContext& ctx, binary::FastF32 fast_f32) {
  TINYQ_ASSIGN_OR_RETURN(const Operands o, prepare_operands(ctx));
  if (o.a != o.b)
    return ctx.error(std::string("inputs have different dtypes: ") + dtype_name(o.a) + " and " + dtype_name(o.b));
  ctx.set_output(0, o.a, o.out);
  if (o.a == DType::kFloat32 && ctx.impl() == KernelImpl::kFast) {
    TINYQ_ASSIGN_OR_RETURN(const BroadcastPlan plan, make_broadcast_plan(ctx, o.a_shape, o.b_shape, o.out));
    return make_kernel([plan, fast_f32](const KernelArgs& a) {
      fast_f32(plan, static_cast<const float*>(a.inputs[0]), static_cast<const float*>(a.inputs[1]),
               static_cast<float*>(a.outputs[0]));
    });
  }
  return visit_dtype<kNumericTypes>(o.a, KernelResult(unsupported_dtype(ctx, o.a)), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return make_typed<T, T, T, Op>(ctx, o);
  });
}

// True when input i is a plan-time constant holding the single value v.
bool is_constant_scalar(const PrepareContext& ctx, int i, double v) {
  const Tensor* t = ctx.input(i).value;
  if (!t || t->numel() != 1) return false;
  const std::vector<double> d = t->to_double();
  return !d.empty() && d[0] == v;
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_add(PrepareContext& ctx) {
  return make_arith<binary::AddOp>(ctx, TINYQ_HWY_BEST(binary::AddF32));
}
Result<std::unique_ptr<Kernel>> make_sub(PrepareContext& ctx) {
  return make_arith<binary::SubOp>(ctx, TINYQ_HWY_BEST(binary::SubF32));
}
Result<std::unique_ptr<Kernel>> make_mul(PrepareContext& ctx) {
  return make_arith<binary::MulOp>(ctx, TINYQ_HWY_BEST(binary::MulF32));
}
Result<std::unique_ptr<Kernel>> make_div(PrepareContext& ctx) {
  return make_arith<binary::DivOp>(ctx, TINYQ_HWY_BEST(binary::DivF32));
}

// Pow: base float32/float64/int32/int64; exponent any supported numeric type (opset 12 allows
// mixing); the output takes the base's type.
Result<std::unique_ptr<Kernel>> make_pow(PrepareContext& ctx) {
  TINYQ_ASSIGN_OR_RETURN(const Operands o, prepare_operands(ctx));
  if (o.a != DType::kFloat32 && o.a != DType::kFloat64 && o.a != DType::kInt32 && o.a != DType::kInt64)
    return unsupported_dtype(ctx, o.a, "base");
  const Status bad_exponent = unsupported_dtype(ctx, o.b, "exponent");
  if (!visit_dtype<kNumericTypes>(o.b, false, [](auto) { return true; })) return bad_exponent;
  ctx.set_output(0, o.a, o.out);
  // x^2 is the common case (variance in decomposed normalisations): a vectorised x*x, which is
  // also the correctly rounded square.
  if (o.a == DType::kFloat32 && ctx.impl() == KernelImpl::kFast && o.out == o.a_shape &&
      is_constant_scalar(ctx, 1, 2.0)) {
    TINYQ_ASSIGN_OR_RETURN(const BroadcastPlan plan, make_broadcast_plan(ctx, o.a_shape, o.a_shape, o.out));
    const binary::FastF32 mul = TINYQ_HWY_BEST(binary::MulF32);
    return make_kernel([plan, mul](const KernelArgs& a) {
      const float* x = static_cast<const float*>(a.inputs[0]);
      mul(plan, x, x, static_cast<float*>(a.outputs[0]));
    });
  }
  return visit_dtype<kFloatTypes | kSignedTypes>(o.a, KernelResult(bad_exponent), [&](auto base_tag) -> KernelResult {
    using T = typename decltype(base_tag)::type;
    if constexpr (sizeof(T) < 4) {
      return bad_exponent;  // int8/int16 bases were rejected above; never instantiated as kernels
    } else {
      return visit_dtype<kNumericTypes>(o.b, KernelResult(bad_exponent), [&](auto exp_tag) {
        using E = typename decltype(exp_tag)::type;
        return make_typed<T, E, T, binary::PowOp>(ctx, o);
      });
    }
  });
}

}  // namespace tinyq::kernels
#endif  // HWY_ONCE
