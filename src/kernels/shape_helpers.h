// Plan-time helpers shared by the data-movement, shape and reduction kernels: dtype checks, axis
// normalisation, reading value-dependent inputs, and a strided copy used by Transpose and Slice.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/kernel.h"

namespace tinyq::kernels::shape {

// Deepest nesting the run-time index loops handle (they keep their counters on the stack).
constexpr int kMaxRank = 16;

// Ok for the fixed-size dtypes the data-movement kernels copy; ctx.unsupported otherwise
// (float16, string, uint32, uint64, undefined).
Status check_movable_dtype(const PrepareContext& ctx, DType t, const char* what);

// Maps axis from [-rank, rank) (or [-rank, rank] when `inclusive`) to [0, rank); errors name `what`.
Result<int64_t> normalize_axis(const PrepareContext& ctx, int64_t axis, int64_t rank, const char* what,
                               bool inclusive = false);
// Normalises a list of axes and rejects duplicates.
Result<std::vector<int64_t>> normalize_axes(const PrepareContext& ctx, const std::vector<int64_t>& axes,
                                            int64_t rank, const char* what);

// The plan-time value of an int32/int64 input as int64 (propagates const_input's failure).
Result<std::vector<int64_t>> const_ints(PrepareContext& ctx, int i, const char* what);
// The plan-time value of a float32/float64 input as double.
Result<std::vector<double>> const_floats(PrepareContext& ctx, int i, const char* what);

// `v` converted to dtype t, as the element's bytes at the start of a uint64 (little-endian), for
// fill values such as Pad's constant and Resize's extrapolation_value.
uint64_t scalar_bits(double v, DType t);

// Row-major strides in elements.
std::vector<int64_t> contiguous_strides(const Shape& s);

// Calls fn(W{}) with W the unsigned integer of the element's size (1, 2, 4 or 8 bytes), so that
// element copies are typed loads and stores rather than per-element memcpy calls.
template <typename Fn>
decltype(auto) dispatch_elem_size(size_t elem, Fn&& fn) {
  switch (elem) {
    case 1: return fn(uint8_t{});
    case 2: return fn(uint16_t{});
    case 4: return fn(uint32_t{});
    default: return fn(uint64_t{});
  }
}

// dst[i] = src[base + sum_k idx_k(i) * strides[k]] over a row-major walk of `dims`.
// Strides are in elements and may be negative (Slice with negative steps).
struct StridedCopy {
  size_t elem = 0;
  int64_t base = 0;
  int64_t numel = 0;
  std::vector<int64_t> ref_dims, ref_strides;  // as given, for the reference walk
  std::vector<int64_t> dims, strides;          // size-1 dims dropped and contiguous runs merged
};

// Builds the plan; fails (naming the node) when the merged rank exceeds kMaxRank.
Result<StridedCopy> make_strided_copy(const PrepareContext& ctx, const Shape& out_dims,
                                      const std::vector<int64_t>& src_strides, int64_t base, size_t elem);
// Plain per-element copy: one div/mod chain per element.
void strided_copy_reference(const StridedCopy& p, const void* src, void* dst);
// Odometer walk with memcpy of contiguous runs and cache-blocked tiles for transposes.
void strided_copy_fast(const StridedCopy& p, const void* src, void* dst);

}  // namespace tinyq::kernels::shape
