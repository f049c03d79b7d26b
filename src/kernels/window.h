// Sliding-window geometry shared by Conv, ConvTranspose and the pools: reads kernel_shape,
// strides, dilations, pads and auto_pad, validates them against the input, and computes the
// output spatial size. Spatial dims are padded to kMaxSpatial (leading 1s) so kernels loop in 3-D.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "kernels/kernel.h"

namespace tinyq::kernels::window {

constexpr int kMaxSpatial = 3;

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

// Window arithmetic on attribute values a hostile model sets near the int64 limits: exact in 128
// bits (every product of two int64 and small sums of them fit), then checked against int64.
__extension__ using Wide = __int128;
inline bool fits_int64(Wide v) { return v >= INT64_MIN && v <= INT64_MAX; }

// One window per spatial dim, kept for the dims the node has (rank - 2 of them).
struct Geometry {
  int spatial = 0;  // number of spatial dims (1..kMaxSpatial)
  std::vector<int64_t> in, out, kernel, strides, dilations, pad_begin, pad_end;

  // The same fields padded with leading size-1 dims to exactly kMaxSpatial, for 3-D loops.
  std::array<int64_t, kMaxSpatial> in3() const { return pad3(in, 1); }
  std::array<int64_t, kMaxSpatial> out3() const { return pad3(out, 1); }
  std::array<int64_t, kMaxSpatial> kernel3() const { return pad3(kernel, 1); }
  std::array<int64_t, kMaxSpatial> strides3() const { return pad3(strides, 1); }
  std::array<int64_t, kMaxSpatial> dilations3() const { return pad3(dilations, 1); }
  std::array<int64_t, kMaxSpatial> pad_begin3() const { return pad3(pad_begin, 0); }
  std::array<int64_t, kMaxSpatial> pad_end3() const { return pad3(pad_end, 0); }

  static std::array<int64_t, kMaxSpatial> pad3(const std::vector<int64_t>& v, int64_t fill);
};

// How the forward-window output size is rounded (Conv is always kFloor; pools read ceil_mode).
enum class Rounding { kFloor, kCeil };

// Reads strides, dilations (when `has_dilations`), pads and auto_pad for a forward window
// (Conv, pools) over `in_spatial` with the given kernel, and computes the output size.
// Fails, naming the node and attribute, on wrong lengths, non-positive values or an empty output.
Result<Geometry> forward_geometry(const PrepareContext& ctx, const std::vector<int64_t>& in_spatial,
                                  const std::vector<int64_t>& kernel, Rounding rounding,
                                  bool has_dilations);

// Reads the kernel_shape attribute (required for pools) and checks its length and values.
Result<std::vector<int64_t>> read_kernel_shape(const PrepareContext& ctx, int spatial);

// The auto_pad attribute (default NOTSET).
Result<AutoPad> read_auto_pad(const PrepareContext& ctx);

// Reads an optional per-spatial-dim INTS attribute: `fill` repeated when absent; fails unless it
// has `spatial` entries (or `2 * spatial` when `pads`), each >= min_value.
Result<std::vector<int64_t>> read_spatial_ints(const PrepareContext& ctx, const char* name, int spatial,
                                               int64_t fill, int64_t min_value);

}  // namespace tinyq::kernels::window
