// MaxPool (float32, int8, uint8; optional Indices output), AveragePool (float32) and the global
// pools GlobalAveragePool and GlobalMaxPool (float32), over 1 to 3 spatial dims.
// These are memory-bound and absent from the hot paths tinyq targets, so the plain loops below
// serve both kernel kinds.
#include <algorithm>
#include <array>
#include <limits>
#include <memory>
#include <string>

#include "kernels/kernel.h"
#include "kernels/window.h"

namespace tinyq::kernels {
namespace {

using Dims3 = std::array<int64_t, window::kMaxSpatial>;

struct PoolDims {
  int64_t planes = 0;  // N * C
  Dims3 in{}, out{}, k{}, s{}, d{}, pb{}, pe{};
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
};

// Visits the in-bounds taps of output position (od, oh, ow): fn(flat input index within the
// plane, position (id, ih, iw)).
template <typename Fn>
void for_each_tap(const PoolDims& p, int64_t od, int64_t oh, int64_t ow, Fn&& fn) {
  for (int64_t kd = 0; kd < p.k[0]; ++kd) {
    const int64_t id = od * p.s[0] - p.pb[0] + kd * p.d[0];
    if (id < 0 || id >= p.in[0]) continue;
    for (int64_t kh = 0; kh < p.k[1]; ++kh) {
      const int64_t ih = oh * p.s[1] - p.pb[1] + kh * p.d[1];
      if (ih < 0 || ih >= p.in[1]) continue;
      for (int64_t kw = 0; kw < p.k[2]; ++kw) {
        const int64_t iw = ow * p.s[2] - p.pb[2] + kw * p.d[2];
        if (iw < 0 || iw >= p.in[2]) continue;
        fn((id * p.in[1] + ih) * p.in[2] + iw, Dims3{id, ih, iw});
      }
    }
  }
}

// Calls fn(plane, od, oh, ow, flat output index) for every output element.
template <typename Fn>
void for_each_output(const PoolDims& p, Fn&& fn) {
  int64_t o = 0;
  for (int64_t c = 0; c < p.planes; ++c)
    for (int64_t od = 0; od < p.out[0]; ++od)
      for (int64_t oh = 0; oh < p.out[1]; ++oh)
        for (int64_t ow = 0; ow < p.out[2]; ++ow, ++o) fn(c, od, oh, ow, o);
}

// Indices are flat over the whole input: row-major (storage_order 0), or with the spatial dims
// column-major (storage_order 1); the plane offset c * in_size comes first either way.
template <typename T>
void max_pool(const PoolDims& p, bool col_major, const T* x, T* y, int64_t* indices) {
  const int64_t in_size = p.in_size();
  for_each_output(p, [&](int64_t c, int64_t od, int64_t oh, int64_t ow, int64_t o) {
    const T* xc = x + c * in_size;
    T best = std::numeric_limits<T>::lowest();
    int64_t best_index = -1;
    Dims3 best_pos{0, 0, 0};
    for_each_tap(p, od, oh, ow, [&](int64_t i, const Dims3& pos) {
      if (best_index < 0 || xc[i] > best) {
        best = xc[i];
        best_index = i;
        best_pos = pos;
      }
    });
    y[o] = best;
    if (indices) {
      const int64_t flat = col_major ? best_pos[0] + p.in[0] * (best_pos[1] + p.in[1] * best_pos[2]) : best_index;
      indices[o] = c * in_size + std::max<int64_t>(flat, 0);
    }
  });
}

// count_include_pad: the divisor counts taps inside the padded extent; otherwise only real ones.
void average_pool(const PoolDims& p, bool count_include_pad, const float* x, float* y) {
  const int64_t in_size = p.in_size();
  for_each_output(p, [&](int64_t c, int64_t od, int64_t oh, int64_t ow, int64_t o) {
    const float* xc = x + c * in_size;
    float sum = 0.0f;
    int64_t count = 0;
    for_each_tap(p, od, oh, ow, [&](int64_t i, const Dims3&) {
      sum += xc[i];
      ++count;
    });
    if (count_include_pad) {
      const int64_t pos[3] = {od, oh, ow};
      count = 1;
      for (int dim = 0; dim < window::kMaxSpatial; ++dim) {
        int64_t taps = 0;
        for (int64_t kk = 0; kk < p.k[dim]; ++kk) {
          const int64_t at = pos[dim] * p.s[dim] - p.pb[dim] + kk * p.d[dim];
          if (at >= -p.pb[dim] && at < p.in[dim] + p.pe[dim]) ++taps;
        }
        count *= taps;
      }
    }
    y[o] = count > 0 ? sum / static_cast<float>(count) : 0.0f;
  });
}

Result<PoolDims> pool_dims(PrepareContext& ctx, bool has_dilations, bool has_ceil_mode) {
  const TensorInfo& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  if (rank < 3) return ctx.error("X must have rank >= 3, got " + shape_str(x.shape));
  if (rank - 2 > window::kMaxSpatial) return ctx.unsupported("more than 3 spatial dims");
  const int spatial = static_cast<int>(rank - 2);
  TINYQ_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, window::read_kernel_shape(ctx, spatial));
  const int64_t ceil_mode = has_ceil_mode ? ctx.attr_int("ceil_mode", 0) : 0;
  std::vector<int64_t> in_spatial(x.shape.begin() + 2, x.shape.end());
  TINYQ_ASSIGN_OR_RETURN(window::Geometry geo,
                         window::forward_geometry(ctx, in_spatial, kernel,
                                                  ceil_mode ? window::Rounding::kCeil : window::Rounding::kFloor,
                                                  has_dilations));
  PoolDims p;
  p.planes = x.shape[0] * x.shape[1];
  p.in = geo.in3();
  p.out = geo.out3();
  p.k = geo.kernel3();
  p.s = geo.strides3();
  p.d = geo.dilations3();
  p.pb = geo.pad_begin3();
  p.pe = geo.pad_end3();
  Shape out{x.shape[0], x.shape[1]};
  out.insert(out.end(), geo.out.begin(), geo.out.end());
  ctx.set_output(0, x.dtype, out);
  if (ctx.has_output(1)) ctx.set_output(1, DType::kInt64, out);
  return p;
}

template <typename T>
std::unique_ptr<Kernel> max_pool_kernel(const PoolDims& p, bool col_major, bool with_indices) {
  return make_kernel([p, col_major, with_indices](const KernelArgs& a) {
    max_pool<T>(p, col_major, static_cast<const T*>(a.inputs[0]), static_cast<T*>(a.outputs[0]),
                with_indices ? static_cast<int64_t*>(a.outputs[1]) : nullptr);
  });
}

Status check_dtype(const PrepareContext& ctx, std::initializer_list<DType> allowed) {
  if (!ctx.has_input(0)) return ctx.error("needs input X");
  const DType t = ctx.input(0).dtype;
  for (DType a : allowed)
    if (t == a) return Status::ok();
  return ctx.unsupported(std::string("dtype ") + dtype_name(t));
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_max_pool(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs(
      {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"}));
  TINYQ_RETURN_IF_ERROR(check_dtype(ctx, {DType::kFloat32, DType::kInt8, DType::kUInt8}));
  const int64_t storage_order = ctx.attr_int("storage_order", 0);
  if (storage_order != 0 && storage_order != 1) return ctx.error("attribute 'storage_order' must be 0 or 1");
  TINYQ_ASSIGN_OR_RETURN(PoolDims p, pool_dims(ctx, true, true));
  const bool indices = ctx.has_output(1);
  switch (ctx.input(0).dtype) {
    case DType::kFloat32: return max_pool_kernel<float>(p, storage_order == 1, indices);
    case DType::kInt8: return max_pool_kernel<int8_t>(p, storage_order == 1, indices);
    default: return max_pool_kernel<uint8_t>(p, storage_order == 1, indices);
  }
}

Result<std::unique_ptr<Kernel>> make_average_pool(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs(
      {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"}));
  TINYQ_RETURN_IF_ERROR(check_dtype(ctx, {DType::kFloat32}));
  TINYQ_ASSIGN_OR_RETURN(PoolDims p, pool_dims(ctx, true, true));
  const bool include_pad = ctx.attr_int("count_include_pad", 0) != 0;
  return make_kernel([p, include_pad](const KernelArgs& a) {
    average_pool(p, include_pad, static_cast<const float*>(a.inputs[0]), static_cast<float*>(a.outputs[0]));
  });
}

namespace {

// Global pools: one reduction per (n, c) plane into an [N, C, 1, ...] output.
template <typename Reduce>
Result<std::unique_ptr<Kernel>> make_global_pool(PrepareContext& ctx, Reduce reduce) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({}));
  TINYQ_RETURN_IF_ERROR(check_dtype(ctx, {DType::kFloat32}));
  const Shape& xs = ctx.input(0).shape;
  if (xs.size() < 2) return ctx.error("X must have rank >= 2, got " + shape_str(xs));
  Shape out(xs.size(), 1);
  out[0] = xs[0];
  out[1] = xs[1];
  ctx.set_output(0, DType::kFloat32, out);
  const int64_t planes = xs[0] * xs[1];
  const int64_t size = shape_numel(xs) / std::max<int64_t>(planes, 1);
  if (planes > 0 && size == 0) return ctx.error("X " + shape_str(xs) + " has empty spatial dims");
  return make_kernel([planes, size, reduce](const KernelArgs& a) {
    const float* x = static_cast<const float*>(a.inputs[0]);
    float* y = static_cast<float*>(a.outputs[0]);
    for (int64_t c = 0; c < planes; ++c) y[c] = reduce(x + c * size, size);
  });
}

// Eight interleaved partial sums: independent lanes the compiler can vectorise, and a smaller
// rounding error than one running sum over a large plane.
float mean_of(const float* x, int64_t n) {
  constexpr int kLanes = 8;
  float part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) part[l] += x[i + l];
  float sum = 0.0f;
  for (; i < n; ++i) sum += x[i];
  for (float v : part) sum += v;
  return sum / static_cast<float>(n);
}

float max_of(const float* x, int64_t n) {
  float best = x[0];
  for (int64_t i = 1; i < n; ++i) best = std::max(best, x[i]);
  return best;
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_global_average_pool(PrepareContext& ctx) {
  return make_global_pool(ctx, &mean_of);
}

Result<std::unique_ptr<Kernel>> make_global_max_pool(PrepareContext& ctx) { return make_global_pool(ctx, &max_of); }

}  // namespace tinyq::kernels
