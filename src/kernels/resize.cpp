// Resize (opsets 10-19) and Upsample (7, 9): nearest and (n-)linear interpolation with every
// coordinate_transformation_mode, nearest_mode, scales or sizes, roi, axes and
// keep_aspect_ratio_policy. Cubic and antialiased downscaling are not implemented.
//
// Plan time maps each output coordinate of each axis to its source taps (index pairs and weights),
// so the kernel only gathers and blends.
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/kernel.h"
#include "kernels/shape_helpers.h"

namespace tinyq::kernels {

namespace {

enum class Coord {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,
  kTfCropAndResize,
};
// kSimple is opset 10 / Upsample nearest: truncate when upsampling, ceil when downsampling.
enum class Nearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kSimple };

// Interpolating more than this many axes at once is not supported (2^k corners per element).
constexpr int kMaxLerpAxes = 6;

struct AxisParams {
  int64_t in = 0, out = 0;
  double scale = 1.0;  // output length / input length, as the coordinate formulas use it
  // scale * in before flooring to `out`. The ONNX reference divides by this, not by `out`, in
  // align_corners, pytorch_half_pixel and tf_crop_and_resize, and its node tests check that.
  double length = 0.0;
  double roi_start = 0.0, roi_end = 1.0;
};

// The source coordinate of output coordinate x (ONNX Resize coordinate_transformation_mode).
double source_coord(Coord mode, int64_t x_int, const AxisParams& a) {
  const double x = static_cast<double>(x_int);
  const double in = static_cast<double>(a.in);
  switch (mode) {
    case Coord::kHalfPixel: return (x + 0.5) / a.scale - 0.5;
    case Coord::kHalfPixelSymmetric: {
      const double adjustment = static_cast<double>(a.out) / (a.scale * in);
      const double offset = in / 2 * (1 - adjustment);
      return offset + (x + 0.5) / a.scale - 0.5;
    }
    case Coord::kPytorchHalfPixel: return a.length != 1.0 ? (x + 0.5) / a.scale - 0.5 : 0.0;
    case Coord::kAlignCorners: return a.length == 1.0 ? 0.0 : x * (in - 1) / (a.length - 1);
    case Coord::kAsymmetric: return x / a.scale;
    case Coord::kTfHalfPixelForNn: return (x + 0.5) / a.scale;
    case Coord::kTfCropAndResize:
      return a.length != 1.0 ? a.roi_start * (in - 1) + x * (a.roi_end - a.roi_start) * (in - 1) / (a.length - 1)
                             : 0.5 * (a.roi_start + a.roi_end) * (in - 1);
  }
  return 0.0;
}

int64_t nearest_index(Nearest mode, double x, bool downsample, int64_t n) {
  // Bound first: casting a huge double to int64 is undefined.
  x = std::clamp(x, -1.0, static_cast<double>(n));
  const double fl = std::floor(x);
  double r = 0.0;
  switch (mode) {
    case Nearest::kRoundPreferFloor: r = x == fl + 0.5 ? fl : std::round(x); break;
    case Nearest::kRoundPreferCeil: r = x == fl + 0.5 ? fl + 1 : std::round(x); break;
    case Nearest::kFloor: r = fl; break;
    case Nearest::kCeil: r = std::ceil(x); break;
    case Nearest::kSimple: r = downsample ? std::ceil(x) : std::trunc(x); break;
  }
  return std::clamp(static_cast<int64_t>(r), int64_t{0}, n - 1);
}

// Per axis, per output coordinate: the two source taps i0/i1 (equal for nearest), the weight of
// i1, and whether the coordinate falls outside the crop (tf_crop_and_resize extrapolation).
struct AxisTaps {
  std::vector<int64_t> i0, i1;
  std::vector<double> w1;
  std::vector<uint8_t> outside;
  bool lerp = false;  // some coordinate blends two distinct taps
};

struct ResizePlan {
  bool linear = false;
  size_t elem = 0;
  std::vector<int64_t> out_dims;
  std::vector<int64_t> in_strides;
  std::vector<AxisTaps> taps;
  uint64_t extrapolation_bits = 0;  // extrapolation_value in the data's dtype
  double extrapolation = 0.0;
};

// One (source offset, weight) term of blending the outer axes for an output row.
struct Corner {
  int64_t offset;
  double weight;
};
using Corners = std::array<Corner, (1 << kMaxLerpAxes)>;

// Walks the output row by row (all dims but the last) and calls row(corners, n, outside) with the
// row's n blend terms over the outer axes, and whether any outer coordinate is outside the crop.
template <typename RowFn>
void for_each_row(const ResizePlan& p, RowFn&& row) {
  const int r = static_cast<int>(p.out_dims.size());
  const int64_t n_last = p.out_dims[r - 1];
  const int64_t rows = n_last == 0 ? 0 : shape_numel(p.out_dims) / n_last;
  std::array<int64_t, shape::kMaxRank> cnt{};
  Corners corners;
  for (int64_t rr = 0; rr < rows; ++rr) {
    int n = 1;
    corners[0] = {0, 1.0};
    bool outside = false;
    for (int k = 0; k < r - 1; ++k) {
      const AxisTaps& t = p.taps[k];
      const int64_t c = cnt[k];
      outside = outside || t.outside[c];
      const int64_t o0 = t.i0[c] * p.in_strides[k];
      if (t.i0[c] == t.i1[c] || t.w1[c] == 0.0) {
        for (int j = 0; j < n; ++j) corners[j].offset += o0;
      } else {
        const int64_t o1 = t.i1[c] * p.in_strides[k];
        const double w1 = t.w1[c];
        for (int j = 0; j < n; ++j) {
          corners[n + j] = {corners[j].offset + o1, corners[j].weight * w1};
          corners[j] = {corners[j].offset + o0, corners[j].weight * (1.0 - w1)};
        }
        n *= 2;
      }
    }
    row(corners, n, outside);
    for (int k = r - 1; k-- > 0;) {
      if (++cnt[k] < p.out_dims[k]) break;
      cnt[k] = 0;
    }
  }
}

template <typename W>
void resize_nearest(const ResizePlan& p, const W* in, W* out) {
  W extrap;
  std::memcpy(&extrap, &p.extrapolation_bits, sizeof(W));
  const AxisTaps& last = p.taps.back();
  const int64_t n_last = p.out_dims.back();
  const int64_t s_last = p.in_strides.back();
  for_each_row(p, [&](const Corners& c, int, bool outside) {
    const W* src = in + c[0].offset;
    for (int64_t l = 0; l < n_last; ++l) out[l] = outside || last.outside[l] ? extrap : src[last.i0[l] * s_last];
    out += n_last;
  });
}

template <typename T>
void resize_linear(const ResizePlan& p, const T* in, T* out) {
  const AxisTaps& last = p.taps.back();
  const int64_t n_last = p.out_dims.back();
  const int64_t s_last = p.in_strides.back();
  const T extrap = static_cast<T>(p.extrapolation);
  for_each_row(p, [&](const Corners& c, int n, bool outside) {
    for (int64_t l = 0; l < n_last; ++l) {
      if (outside || last.outside[l]) {
        out[l] = extrap;
        continue;
      }
      const int64_t a = last.i0[l] * s_last, b = last.i1[l] * s_last;
      const double w1 = last.w1[l], w0 = 1.0 - w1;
      double acc = 0.0;
      for (int j = 0; j < n; ++j) {
        const T* src = in + c[j].offset;
        acc += c[j].weight * (w0 * static_cast<double>(src[a]) + w1 * static_cast<double>(src[b]));
      }
      out[l] = static_cast<T>(acc);
    }
    out += n_last;
  });
}

// What the factory reads from the node, by op and opset.
struct ResizeSpec {
  bool linear = false;
  Coord coord = Coord::kHalfPixel;
  Nearest nearest = Nearest::kRoundPreferFloor;
  bool antialias = false;
  double extrapolation = 0.0;
};

Result<ResizeSpec> parse_spec(const PrepareContext& ctx, bool legacy) {
  ResizeSpec s;
  const std::string mode = ctx.attr_string("mode", "nearest");
  if (mode == "linear" || (legacy && mode == "bilinear")) {
    s.linear = true;
  } else if (mode == "cubic" && !legacy) {
    return ctx.unsupported("mode 'cubic' is not supported (only 'nearest' and 'linear')");
  } else if (mode != "nearest") {
    return ctx.error("unknown mode '" + mode + "'");
  }
  if (legacy) {
    // Resize-10 and Upsample define no coordinate modes; their reference is asymmetric.
    s.coord = Coord::kAsymmetric;
    s.nearest = Nearest::kSimple;
    return s;
  }
  const std::string coord = ctx.attr_string("coordinate_transformation_mode", "half_pixel");
  if (coord == "half_pixel") s.coord = Coord::kHalfPixel;
  else if (coord == "half_pixel_symmetric" && ctx.opset() >= 19) s.coord = Coord::kHalfPixelSymmetric;
  else if (coord == "pytorch_half_pixel") s.coord = Coord::kPytorchHalfPixel;
  else if (coord == "align_corners") s.coord = Coord::kAlignCorners;
  else if (coord == "asymmetric") s.coord = Coord::kAsymmetric;
  else if (coord == "tf_half_pixel_for_nn") s.coord = Coord::kTfHalfPixelForNn;
  else if (coord == "tf_crop_and_resize") s.coord = Coord::kTfCropAndResize;
  else return ctx.error("unknown coordinate_transformation_mode '" + coord + "'");
  const std::string nearest = ctx.attr_string("nearest_mode", "round_prefer_floor");
  if (nearest == "round_prefer_floor") s.nearest = Nearest::kRoundPreferFloor;
  else if (nearest == "round_prefer_ceil") s.nearest = Nearest::kRoundPreferCeil;
  else if (nearest == "floor") s.nearest = Nearest::kFloor;
  else if (nearest == "ceil") s.nearest = Nearest::kCeil;
  else return ctx.error("unknown nearest_mode '" + nearest + "'");
  s.antialias = ctx.attr_int("antialias", 0) != 0;
  s.extrapolation = ctx.attr_float("extrapolation_value", 0.0f);
  return s;
}

// floor(length) as an output extent. A NaN, infinite or astronomically large length (a hostile
// scale) is refused here, since converting it to int64 would be undefined.
Result<int64_t> out_extent(const PrepareContext& ctx, double length) {
  constexpr double kMaxExtent = 0x1p62;
  if (!(length >= 0.0 && length < kMaxExtent))
    return Status::limit(ctx.node().describe() + ": output length " + std::to_string(length) +
                         " is more than any tensor can hold (max_tensor_elements)");
  return static_cast<int64_t>(std::floor(length));
}

// Fills each axis's in/out/scale/roi from scales or sizes (and roi, axes, keep_aspect_ratio_policy).
Result<std::vector<AxisParams>> axis_params(PrepareContext& ctx, bool legacy, const ResizeSpec& spec) {
  const Shape& in = ctx.input(0).shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<AxisParams> ax(rank);
  for (int64_t k = 0; k < rank; ++k) {
    ax[k].in = ax[k].out = in[k];
    ax[k].length = static_cast<double>(in[k]);
  }

  std::vector<int64_t> axes;
  if (ctx.has_attr("axes")) {
    TINYQ_ASSIGN_OR_RETURN(axes, shape::normalize_axes(ctx, ctx.attr_ints("axes"), rank, "axes"));
  } else {
    for (int64_t k = 0; k < rank; ++k) axes.push_back(k);
  }
  const size_t n = axes.size();

  // Empty scales/sizes tensors stand for "not given" (opset 11 has no other way to omit scales).
  auto given = [&ctx](int i) { return ctx.has_input(i) && shape_numel(ctx.input(i).shape) > 0; };
  const bool upsample_attr = ctx.node().op_type == "Upsample" && ctx.opset() < 9;
  const int scales_at = legacy ? 1 : 2;
  const bool has_scales = upsample_attr || given(scales_at);
  const bool has_sizes = !legacy && given(3);
  if (has_scales == has_sizes) return ctx.error("exactly one of 'scales' and 'sizes' must be given");

  if (has_scales) {
    std::vector<double> scales;
    if (upsample_attr) {
      for (float f : ctx.attr_floats("scales")) scales.push_back(f);
    } else {
      TINYQ_ASSIGN_OR_RETURN(scales, shape::const_floats(ctx, scales_at, "scales"));
    }
    if (scales.size() != n)
      return ctx.error("scales has " + std::to_string(scales.size()) + " values; expected " + std::to_string(n));
    for (size_t j = 0; j < n; ++j) {
      if (!(scales[j] > 0.0)) return ctx.error("scales must be positive, got " + std::to_string(scales[j]));
      AxisParams& a = ax[axes[j]];
      a.scale = scales[j];
      a.length = static_cast<double>(a.in) * scales[j];
      TINYQ_ASSIGN_OR_RETURN(a.out, out_extent(ctx, a.length));
    }
  } else {
    TINYQ_ASSIGN_OR_RETURN(std::vector<int64_t> sizes, shape::const_ints(ctx, 3, "sizes"));
    if (sizes.size() != n)
      return ctx.error("sizes has " + std::to_string(sizes.size()) + " values; expected " + std::to_string(n));
    for (size_t j = 0; j < n; ++j) {
      if (sizes[j] < 0) return ctx.error("sizes must not be negative, got " + shape_str(sizes));
      if (sizes[j] > 0 && ax[axes[j]].in == 0)
        return ctx.error("axis " + std::to_string(axes[j]) + " is empty and cannot be resized to " +
                         std::to_string(sizes[j]));
    }
    const std::string policy = ctx.attr_string("keep_aspect_ratio_policy", "stretch");
    if (policy == "stretch") {
      for (size_t j = 0; j < n; ++j) {
        AxisParams& a = ax[axes[j]];
        a.out = sizes[j];
        a.length = static_cast<double>(a.out);
        a.scale = a.in == 0 ? 1.0 : a.length / static_cast<double>(a.in);
      }
    } else if (policy == "not_larger" || policy == "not_smaller") {
      // One scale for all the axes keeps the aspect ratio; it also drives the coordinates.
      const bool larger = policy == "not_smaller";
      double scale = larger ? 0.0 : INFINITY;
      for (size_t j = 0; j < n; ++j) {
        const double s = static_cast<double>(sizes[j]) / static_cast<double>(ax[axes[j]].in);
        scale = larger ? std::max(scale, s) : std::min(scale, s);
      }
      for (size_t j = 0; j < n; ++j) {
        AxisParams& a = ax[axes[j]];
        a.scale = scale;
        a.length = scale * static_cast<double>(a.in);
        TINYQ_ASSIGN_OR_RETURN(a.out, out_extent(ctx, a.length + 0.5));
      }
    } else {
      return ctx.error("unknown keep_aspect_ratio_policy '" + policy + "'");
    }
  }

  if (spec.coord == Coord::kTfCropAndResize) {
    if (!ctx.has_input(1)) return ctx.error("coordinate_transformation_mode 'tf_crop_and_resize' needs input 1 (roi)");
    TINYQ_ASSIGN_OR_RETURN(std::vector<double> roi, shape::const_floats(ctx, 1, "roi"));
    if (roi.size() != 2 * n)
      return ctx.error("roi has " + std::to_string(roi.size()) + " values; expected " + std::to_string(2 * n));
    for (size_t j = 0; j < n; ++j) {
      ax[axes[j]].roi_start = roi[j];
      ax[axes[j]].roi_end = roi[j + n];
    }
  }
  return ax;
}

AxisTaps make_taps(const ResizeSpec& spec, const AxisParams& a) {
  AxisTaps t;
  const bool crop = spec.coord == Coord::kTfCropAndResize;
  const double last = static_cast<double>(a.in - 1);
  for (int64_t o = 0; o < a.out; ++o) {
    const double x = source_coord(spec.coord, o, a);
    t.outside.push_back(crop && (x < 0.0 || x > last));
    if (!spec.linear) {
      const int64_t i = nearest_index(spec.nearest, x, a.scale < 1.0, a.in);
      t.i0.push_back(i);
      t.i1.push_back(i);
      t.w1.push_back(0.0);
      continue;
    }
    const double xc = std::clamp(x, 0.0, last);
    const int64_t i0 = static_cast<int64_t>(std::floor(xc));
    const int64_t i1 = std::min(i0 + 1, a.in - 1);
    const double w1 = xc - static_cast<double>(i0);
    t.i0.push_back(i0);
    t.i1.push_back(i1);
    t.w1.push_back(w1);
    if (i0 != i1 && w1 != 0.0) t.lerp = true;
  }
  return t;
}

Result<std::unique_ptr<Kernel>> make_resize_impl(PrepareContext& ctx, bool legacy) {
  if (!ctx.has_input(0)) return ctx.error("input 0 (X) is required");
  const TensorInfo& x = ctx.input(0);
  TINYQ_RETURN_IF_ERROR(shape::check_movable_dtype(ctx, x.dtype, "input 0"));
  TINYQ_ASSIGN_OR_RETURN(ResizeSpec spec, parse_spec(ctx, legacy));
  if (spec.linear && x.dtype != DType::kFloat32 && x.dtype != DType::kFloat64)
    return ctx.unsupported(std::string("linear mode on ") + dtype_name(x.dtype) + " data is not supported");
  TINYQ_ASSIGN_OR_RETURN(std::vector<AxisParams> ax, axis_params(ctx, legacy, spec));
  const int64_t rank = static_cast<int64_t>(ax.size());
  if (rank == 0) return ctx.error("input 0 must have rank >= 1");
  if (rank > shape::kMaxRank) return ctx.unsupported("rank " + std::to_string(rank) + " is too large");

  ResizePlan p;
  p.linear = spec.linear;
  p.elem = dtype_size(x.dtype);
  p.in_strides = shape::contiguous_strides(x.shape);
  p.extrapolation = spec.extrapolation;
  p.extrapolation_bits = shape::scalar_bits(spec.extrapolation, x.dtype);
  for (const AxisParams& a : ax) p.out_dims.push_back(a.out);
  // The taps below take memory per output coordinate: check the output before building them.
  TINYQ_RETURN_IF_ERROR(ctx.check_elements(p.out_dims, "output"));
  int lerp_axes = 0;
  for (const AxisParams& a : ax) {
    if (a.out > 0 && a.in == 0) return ctx.error("cannot resize an empty axis to a non-empty one");
    if (spec.linear && spec.antialias && a.scale < 1.0)
      return ctx.unsupported("antialias=1 when downscaling is not supported");
    p.taps.push_back(make_taps(spec, a));
    if (p.taps.back().lerp && &a != &ax.back()) ++lerp_axes;
  }
  if (lerp_axes > kMaxLerpAxes)
    return ctx.unsupported("linear interpolation over " + std::to_string(lerp_axes + 1) + " axes is not supported");
  ctx.set_output(0, x.dtype, p.out_dims);
  if (shape_numel(p.out_dims) == 0) return make_kernel([](const KernelArgs&) {});
  if (spec.linear) {
    if (x.dtype == DType::kFloat64) {
      return make_kernel([p](const KernelArgs& a) {
        resize_linear(p, static_cast<const double*>(a.inputs[0]), static_cast<double*>(a.outputs[0]));
      });
    }
    return make_kernel([p](const KernelArgs& a) {
      resize_linear(p, static_cast<const float*>(a.inputs[0]), static_cast<float*>(a.outputs[0]));
    });
  }
  return make_kernel([p](const KernelArgs& a) {
    shape::dispatch_elem_size(p.elem, [&](auto w) {
      using W = decltype(w);
      resize_nearest(p, static_cast<const W*>(a.inputs[0]), static_cast<W*>(a.outputs[0]));
    });
  });
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_resize(PrepareContext& ctx) {
  if (ctx.opset() < 11) {
    TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"mode"}));
  } else if (ctx.opset() < 18) {
    TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside",
                                           "extrapolation_value", "mode", "nearest_mode"}));
  } else {
    TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"antialias", "axes", "coordinate_transformation_mode", "cubic_coeff_a",
                                           "exclude_outside", "extrapolation_value", "keep_aspect_ratio_policy",
                                           "mode", "nearest_mode"}));
  }
  return make_resize_impl(ctx, /*legacy=*/ctx.opset() < 11);
}

Result<std::unique_ptr<Kernel>> make_upsample(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.opset() < 9 ? ctx.check_attrs({"mode", "scales"}) : ctx.check_attrs({"mode"}));
  return make_resize_impl(ctx, /*legacy=*/true);
}

}  // namespace tinyq::kernels
