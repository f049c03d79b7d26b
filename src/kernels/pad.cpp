// Pad: grows (or, with negative pads, crops) each axis. Modes constant, reflect, edge and wrap
// (opset 19). Pads are an attribute before opset 11 and an input from 11; opset 18 adds axes.
// Plan time maps every output coordinate of every axis to its source coordinate (or "fill"), so
// the kernel is a table-driven copy.
#include <string>

#include "kernels/kernel.h"
#include "kernels/shape_helpers.h"

namespace tinyq::kernels {

namespace {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

constexpr int64_t kFill = -1;  // source coordinate meaning "write the constant"

struct PadPlan {
  size_t elem = 0;
  std::vector<int64_t> out_dims;
  std::vector<int64_t> in_strides;
  std::vector<std::vector<int64_t>> src;  // per axis, per output coordinate: source coordinate or kFill
  uint64_t fill_bits = 0;                 // the constant's bytes when it comes from the attribute
  bool fill_from_input = false;           // constant_value input given: read it at run time
};

// The source coordinate of output coordinate o along an axis of size n padded by `begin` in front.
int64_t source_coord(PadMode mode, int64_t o, int64_t begin, int64_t n) {
  const int64_t i = o - begin;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::kConstant: return kFill;
    case PadMode::kEdge: return i < 0 ? 0 : n - 1;
    case PadMode::kWrap: return ((i % n) + n) % n;
    case PadMode::kReflect: {
      if (n == 1) return 0;
      // Reflection without repeating the edge is periodic with period 2(n-1).
      const int64_t period = 2 * (n - 1);
      int64_t m = ((i % period) + period) % period;
      return m < n ? m : period - m;
    }
  }
  return kFill;
}

template <typename W>
void pad_run(const PadPlan& p, const W* in, W* out, W fill) {
  const int r = static_cast<int>(p.out_dims.size());
  if (r == 0) {
    out[0] = in[0];
    return;
  }
  const int64_t n_last = p.out_dims[r - 1];
  const int64_t* src_last = p.src[r - 1].data();
  const int64_t stride_last = p.in_strides[r - 1];
  std::array<int64_t, shape::kMaxRank> cnt{};
  const int64_t rows = n_last == 0 ? 0 : shape_numel(p.out_dims) / n_last;
  for (int64_t row = 0; row < rows; ++row) {
    int64_t base = 0;
    bool filled = false;
    for (int k = 0; k < r - 1; ++k) {
      const int64_t s = p.src[k][cnt[k]];
      if (s == kFill) filled = true;
      base += s * p.in_strides[k];
    }
    if (filled) {
      for (int64_t l = 0; l < n_last; ++l) out[l] = fill;
    } else {
      for (int64_t l = 0; l < n_last; ++l) {
        const int64_t s = src_last[l];
        out[l] = s == kFill ? fill : in[base + s * stride_last];
      }
    }
    out += n_last;
    for (int k = r - 1; k-- > 0;) {
      if (++cnt[k] < p.out_dims[k]) break;
      cnt[k] = 0;
    }
  }
}

Result<PadMode> parse_mode(const PrepareContext& ctx) {
  const std::string mode = ctx.attr_string("mode", "constant");
  if (mode == "constant") return PadMode::kConstant;
  if (mode == "reflect") return PadMode::kReflect;
  if (mode == "edge") return PadMode::kEdge;
  if (mode == "wrap" && ctx.opset() >= 19) return PadMode::kWrap;
  return ctx.unsupported("mode '" + mode + "' is not supported");
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_pad(PrepareContext& ctx) {
  const bool pads_as_input = ctx.opset() >= 11;
  TINYQ_RETURN_IF_ERROR(pads_as_input ? ctx.check_attrs({"mode"})
                                      : ctx.check_attrs({"mode", "pads", "paddings", "value"}));
  if (!ctx.has_input(0)) return ctx.error("input 0 (data) is required");
  const TensorInfo& x = ctx.input(0);
  TINYQ_RETURN_IF_ERROR(shape::check_movable_dtype(ctx, x.dtype, "input 0"));
  TINYQ_ASSIGN_OR_RETURN(PadMode mode, parse_mode(ctx));
  const int64_t rank = static_cast<int64_t>(x.shape.size());

  PadPlan p;
  p.elem = dtype_size(x.dtype);
  std::vector<int64_t> pads;
  std::vector<int64_t> axes;
  if (pads_as_input) {
    TINYQ_ASSIGN_OR_RETURN(pads, shape::const_ints(ctx, 1, "pads"));
    if (ctx.has_input(2)) {
      const TensorInfo& cv = ctx.input(2);
      if (cv.dtype != x.dtype)
        return ctx.error(std::string("constant_value has dtype ") + dtype_name(cv.dtype) + ", data has " +
                         dtype_name(x.dtype));
      p.fill_from_input = shape_numel(cv.shape) > 0;
    }
    if (ctx.opset() >= 18 && ctx.has_input(3)) {
      TINYQ_ASSIGN_OR_RETURN(std::vector<int64_t> raw, shape::const_ints(ctx, 3, "axes"));
      TINYQ_ASSIGN_OR_RETURN(axes, shape::normalize_axes(ctx, raw, rank, "axes"));
    }
  } else {
    pads = ctx.attr_ints(ctx.has_attr("pads") ? "pads" : "paddings");
    p.fill_bits = shape::scalar_bits(ctx.attr_float("value", 0.0f), x.dtype);
  }
  if (axes.empty()) {
    for (int64_t k = 0; k < rank; ++k) axes.push_back(k);
  }
  const int64_t n_axes = static_cast<int64_t>(axes.size());
  if (static_cast<int64_t>(pads.size()) != 2 * n_axes)
    return ctx.error("pads has " + std::to_string(pads.size()) + " values; expected " + std::to_string(2 * n_axes));
  if (rank > shape::kMaxRank) return ctx.unsupported("rank " + std::to_string(rank) + " is too large");

  std::vector<int64_t> begin(rank, 0), end(rank, 0);
  for (int64_t j = 0; j < n_axes; ++j) {
    begin[axes[j]] = pads[j];
    end[axes[j]] = pads[j + n_axes];
  }
  p.in_strides = shape::contiguous_strides(x.shape);
  p.out_dims.resize(rank);
  p.src.resize(rank);
  for (int64_t k = 0; k < rank; ++k) {
    const int64_t n = x.shape[k];
    int64_t out_n = 0;
    if (__builtin_add_overflow(n, begin[k], &out_n) || __builtin_add_overflow(out_n, end[k], &out_n))
      return ctx.error("pads " + shape_str(pads) + " overflow axis " + std::to_string(k));
    if (out_n < 0)
      return ctx.error("pads " + shape_str(pads) + " remove more than axis " + std::to_string(k) + " holds");
    if (mode != PadMode::kConstant && n == 0 && out_n > 0)
      return ctx.error("axis " + std::to_string(k) + " is empty, so mode '" + ctx.attr_string("mode", "") +
                       "' has nothing to copy from");
    p.out_dims[k] = out_n;
  }
  // The source tables take memory per output coordinate: check the output before building them.
  TINYQ_RETURN_IF_ERROR(ctx.check_elements(p.out_dims, "output"));
  for (int64_t k = 0; k < rank; ++k)
    for (int64_t o = 0; o < p.out_dims[k]; ++o) p.src[k].push_back(source_coord(mode, o, begin[k], x.shape[k]));
  ctx.set_output(0, x.dtype, p.out_dims);
  if (shape_numel(p.out_dims) == 0) return make_kernel([](const KernelArgs&) {});
  return make_kernel([p](const KernelArgs& a) {
    shape::dispatch_elem_size(p.elem, [&](auto w) {
      using W = decltype(w);
      W fill;
      if (p.fill_from_input && a.inputs[2]) {
        std::memcpy(&fill, a.inputs[2], sizeof(W));
      } else {
        std::memcpy(&fill, &p.fill_bits, sizeof(W));
      }
      pad_run(p, static_cast<const W*>(a.inputs[0]), static_cast<W*>(a.outputs[0]), fill);
    });
  });
}

}  // namespace tinyq::kernels
