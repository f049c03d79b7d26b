#include "kernels/window.h"

#include <algorithm>
#include <string>

namespace tinyq::kernels::window {

std::array<int64_t, kMaxSpatial> Geometry::pad3(const std::vector<int64_t>& v, int64_t fill) {
  std::array<int64_t, kMaxSpatial> out;
  out.fill(fill);
  const size_t lead = kMaxSpatial - v.size();
  for (size_t i = 0; i < v.size(); ++i) out[lead + i] = v[i];
  return out;
}

Result<AutoPad> read_auto_pad(const PrepareContext& ctx) {
  const std::string s = ctx.attr_string("auto_pad", "NOTSET");
  if (s == "NOTSET" || s.empty()) return AutoPad::kNotSet;
  if (s == "SAME_UPPER") return AutoPad::kSameUpper;
  if (s == "SAME_LOWER") return AutoPad::kSameLower;
  if (s == "VALID") return AutoPad::kValid;
  return ctx.error("attribute 'auto_pad' has unknown value '" + s + "'");
}

Result<std::vector<int64_t>> read_spatial_ints(const PrepareContext& ctx, const char* name, int spatial,
                                               int64_t fill, int64_t min_value) {
  const bool pads = std::string(name) == "pads";
  const size_t want = static_cast<size_t>(pads ? 2 * spatial : spatial);
  if (!ctx.has_attr(name)) return std::vector<int64_t>(want, fill);
  std::vector<int64_t> v = ctx.attr_ints(name);
  if (v.size() != want)
    return ctx.error(std::string("attribute '") + name + "' has " + std::to_string(v.size()) +
                     " values, expected " + std::to_string(want));
  for (int64_t x : v)
    if (x < min_value)
      return ctx.error(std::string("attribute '") + name + "' has value " + std::to_string(x) +
                       ", expected >= " + std::to_string(min_value));
  return v;
}

Result<std::vector<int64_t>> read_kernel_shape(const PrepareContext& ctx, int spatial) {
  if (!ctx.has_attr("kernel_shape")) return ctx.error("attribute 'kernel_shape' is required");
  return read_spatial_ints(ctx, "kernel_shape", spatial, 1, 1);
}

Result<Geometry> forward_geometry(const PrepareContext& ctx, const std::vector<int64_t>& in_spatial,
                                  const std::vector<int64_t>& kernel, Rounding rounding,
                                  bool has_dilations) {
  Geometry g;
  g.spatial = static_cast<int>(in_spatial.size());
  if (g.spatial < 1 || g.spatial > kMaxSpatial)
    return ctx.unsupported(std::to_string(g.spatial) + " spatial dims (1 to 3 are supported)");
  g.in = in_spatial;
  g.kernel = kernel;
  TINYQ_ASSIGN_OR_RETURN(g.strides, read_spatial_ints(ctx, "strides", g.spatial, 1, 1));
  if (has_dilations) {
    TINYQ_ASSIGN_OR_RETURN(g.dilations, read_spatial_ints(ctx, "dilations", g.spatial, 1, 1));
  } else {
    g.dilations.assign(g.spatial, 1);
  }
  TINYQ_ASSIGN_OR_RETURN(AutoPad auto_pad, read_auto_pad(ctx));
  std::vector<int64_t> pads;
  TINYQ_ASSIGN_OR_RETURN(pads, read_spatial_ints(ctx, "pads", g.spatial, 0, 0));
  g.out.resize(g.spatial);
  g.pad_begin.resize(g.spatial);
  g.pad_end.resize(g.spatial);
  const bool same = auto_pad == AutoPad::kSameUpper || auto_pad == AutoPad::kSameLower;
  for (int i = 0; i < g.spatial; ++i) {
    const int64_t in = g.in[i], s = g.strides[i];
    // Every position a window touches, and every intermediate below, is at most
    // in + pads + dilated kernel + stride: with that in int64, nothing here or in the kernels'
    // index arithmetic (o * s + k * d - pad) can overflow.
    const Wide wide_dk = Wide{g.kernel[i] - 1} * g.dilations[i] + 1;
    const Wide reach = Wide{in} + (same || auto_pad == AutoPad::kValid ? 0 : Wide{pads[i]} + pads[i + g.spatial]) +
                       wide_dk + s;
    if (!fits_int64(reach))
      return ctx.error("kernel_shape, dilations, strides and pads along spatial dim " + std::to_string(i) +
                       " reach beyond int64");
    const int64_t dk = static_cast<int64_t>(wide_dk);  // dilated kernel extent
    if (same) {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + dk - in);
      // SAME_UPPER puts the odd padding element at the end, SAME_LOWER at the beginning.
      g.pad_begin[i] = auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
      g.pad_end[i] = total - g.pad_begin[i];
      g.out[i] = out;
    } else {
      if (auto_pad == AutoPad::kNotSet) {
        g.pad_begin[i] = pads[i];
        g.pad_end[i] = pads[i + g.spatial];
      } else {
        g.pad_begin[i] = g.pad_end[i] = 0;
      }
      const int64_t span = in + g.pad_begin[i] + g.pad_end[i] - dk;
      if (span < 0)
        return ctx.error("window of extent " + std::to_string(dk) + " does not fit spatial dim " +
                         std::to_string(i) + " of size " + std::to_string(in) + " plus padding");
      int64_t out = span / s + 1;
      if (rounding == Rounding::kCeil) {
        out = (span + s - 1) / s + 1;
        // A window may not start inside the end padding (the PyTorch/ONNX Runtime rule).
        if ((out - 1) * s >= in + g.pad_begin[i]) --out;
      }
      g.out[i] = out;
    }
    if (g.out[i] < 1) return ctx.error("empty output along spatial dim " + std::to_string(i));
  }
  return g;
}

}  // namespace tinyq::kernels::window
