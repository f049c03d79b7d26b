// Helpers shared by the elementwise kernels (unary, binary, Cast, Softmax): dtype dispatch, exact
// value conversions, and resolving a Highway dispatch table once at plan time.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/kernel.h"

namespace tinyq::kernels {

template <typename T> struct TypeTag { using type = T; };

// Groups of element types an op accepts. uint32/uint64, float16, bfloat16 and string are outside
// tinyq's kernel set and never dispatched.
enum TypeSet : unsigned {
  kFloatTypes = 1u,     // float32, float64
  kSignedTypes = 2u,    // int8, int16, int32, int64
  kUnsignedTypes = 4u,  // uint8, uint16
  kBoolType = 8u,
  kNumericTypes = kFloatTypes | kSignedTypes | kUnsignedTypes,
};

// Calls f(TypeTag<T>{}) for the C++ type T of `t` when t belongs to kAllowed, else returns
// `otherwise`. Types outside kAllowed are never instantiated, so f may assume them away.
template <unsigned kAllowed, typename R, typename F>
R visit_dtype(DType t, R otherwise, F&& f) {
  switch (t) {
    case DType::kFloat32: if constexpr ((kAllowed & kFloatTypes) != 0) return f(TypeTag<float>{}); break;
    case DType::kFloat64: if constexpr ((kAllowed & kFloatTypes) != 0) return f(TypeTag<double>{}); break;
    case DType::kInt8: if constexpr ((kAllowed & kSignedTypes) != 0) return f(TypeTag<int8_t>{}); break;
    case DType::kInt16: if constexpr ((kAllowed & kSignedTypes) != 0) return f(TypeTag<int16_t>{}); break;
    case DType::kInt32: if constexpr ((kAllowed & kSignedTypes) != 0) return f(TypeTag<int32_t>{}); break;
    case DType::kInt64: if constexpr ((kAllowed & kSignedTypes) != 0) return f(TypeTag<int64_t>{}); break;
    case DType::kUInt8: if constexpr ((kAllowed & kUnsignedTypes) != 0) return f(TypeTag<uint8_t>{}); break;
    case DType::kUInt16: if constexpr ((kAllowed & kUnsignedTypes) != 0) return f(TypeTag<uint16_t>{}); break;
    case DType::kBool: if constexpr ((kAllowed & kBoolType) != 0) return f(TypeTag<bool>{}); break;
    default: break;
  }
  return otherwise;
}

// "dtype int8 is not supported by Relu", as a ctx.unsupported status.
inline Status unsupported_dtype(const PrepareContext& ctx, DType t, const char* role = "input") {
  return ctx.unsupported(std::string(role) + " dtype " + dtype_name(t) + " is not supported");
}

// Value conversion with defined results everywhere, so no input can trigger undefined behaviour:
// float -> integer truncates toward zero (C++ and ONNX Cast), saturates out-of-range values and
// maps NaN to 0; integer -> integer wraps modulo 2^bits; anything -> bool is `v != 0`.
template <typename To, typename From>
inline To convert_value(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (v != v) return To(0);
    // Both bounds are exact powers of two (or 0) in every float format, so the comparisons are exact.
    constexpr From kLo = static_cast<From>(std::numeric_limits<To>::min());
    constexpr From kHiExclusive = static_cast<From>(std::numeric_limits<To>::max() / 2 + 1) * From(2);
    if (v < kLo) return std::numeric_limits<To>::min();
    if (v >= kHiExclusive) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

// Test hooks: the Highway targets this CPU supports (best first), and restricting run-time
// dispatch to `target` and worse (0 restores the default). Kernels pick their target at plan
// time, so prepare after limiting.
std::vector<int64_t> simd_targets_for_testing();
void limit_simd_target_for_testing(int64_t target);
const char* simd_target_name(int64_t target);

}  // namespace tinyq::kernels

// The entry of a HWY_EXPORT table for the best target this CPU supports, picked once at plan time
// so kernels call it directly instead of through HWY_DYNAMIC_DISPATCH on every run. Use it in the
// .cpp that holds the table, after <hwy/highway.h>.
#define TINYQ_HWY_BEST(FUNC)                                                              \
  ((hwy::GetChosenTarget().IsInitialized()                                                \
        ? void()                                                                          \
        : hwy::GetChosenTarget().Update(hwy::SupportedTargets())),                        \
   HWY_DISPATCH_TABLE(FUNC)[hwy::GetChosenTarget().GetIndex()])
