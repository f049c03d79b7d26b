// The min/max family: Min and Max (elementwise over 1..N inputs with numpy broadcasting) and
// ReduceMin and ReduceMax (over a set of axes; axes an attribute before opset 18, an input from
// 18, with keepdims and noop_with_empty_axes). NaN propagates, as numpy's minimum/maximum.
// Reductions over an empty set give the identity (+inf / -inf, or the integer type's limit).
// Plain scalar kernels: these ops matter for DynamicQuantizeLinear's expanded form, not for speed.
#include <cstring>
#include <limits>
#include <string>

#include "kernels/broadcast.h"
#include "kernels/elementwise.h"
#include "kernels/kernel.h"
#include "kernels/shape_helpers.h"

namespace tinyq::kernels {
namespace {

template <bool kMax>
struct Select {
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (a != a) return a;
      if (b != b) return b;
    }
    if constexpr (kMax) return b > a ? b : a;
    else return b < a ? b : a;
  }
  template <typename T>
  static constexpr T identity() {
    if constexpr (std::is_floating_point_v<T>)
      return kMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    else
      return kMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
};

constexpr unsigned kMinMaxTypes = kFloatTypes | kSignedTypes | kUnsignedTypes;

template <bool kMax>
Result<std::unique_ptr<Kernel>> make_elementwise(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({}));
  const int n = ctx.num_inputs();
  if (n < 1) return ctx.error("needs at least one input");
  for (int i = 0; i < n; ++i)
    if (!ctx.has_input(i)) return ctx.error("input " + std::to_string(i) + " is omitted");
  const DType dt = ctx.input(0).dtype;
  Shape out = ctx.input(0).shape;
  for (int i = 1; i < n; ++i) {
    if (ctx.input(i).dtype != dt)
      return ctx.error(std::string("inputs mix ") + dtype_name(dt) + " and " + dtype_name(ctx.input(i).dtype));
    TINYQ_ASSIGN_OR_RETURN(out, broadcast_shape(ctx, out, ctx.input(i).shape));
  }
  ctx.set_output(0, dt, out);
  // Input 0 is broadcast into the output, then each further input is folded in place.
  std::vector<BroadcastIndex> folds;
  folds.push_back(make_broadcast_index(ctx.input(0).shape, ctx.input(0).shape, out));
  for (int i = 1; i < n; ++i) folds.push_back(make_broadcast_index(out, ctx.input(i).shape, out));
  return visit_dtype<kMinMaxTypes>(dt, Result<std::unique_ptr<Kernel>>(unsupported_dtype(ctx, dt)), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return Result<std::unique_ptr<Kernel>>(make_kernel([folds](const KernelArgs& a) {
      T* y = static_cast<T*>(a.outputs[0]);
      const T* x0 = static_cast<const T*>(a.inputs[0]);
      broadcast_reference(folds[0], x0, x0, y, [](T v, T) { return v; });
      for (size_t i = 1; i < folds.size(); ++i)
        broadcast_reference(folds[i], y, static_cast<const T*>(a.inputs[i]), y, Select<kMax>{});
    }));
  });
}

struct ReducePlan {
  int64_t in_numel = 0, out_numel = 0;
  std::vector<int64_t> in_dims, out_step;  // per input dim: size, and output stride (0 when reduced)
};

template <bool kMax>
Result<std::unique_ptr<Kernel>> make_reduce(PrepareContext& ctx) {
  const bool axes_as_input = ctx.opset() >= 18;
  TINYQ_RETURN_IF_ERROR(axes_as_input ? ctx.check_attrs({"keepdims", "noop_with_empty_axes"})
                                      : ctx.check_attrs({"keepdims", "axes"}));
  if (!ctx.has_input(0)) return ctx.error("input 0 (data) is required");
  const TensorInfo& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> raw;
  if (axes_as_input) {
    if (ctx.has_input(1)) {
      TINYQ_ASSIGN_OR_RETURN(raw, shape::const_ints(ctx, 1, "axes"));
    }
  } else {
    if (ctx.has_input(1)) return ctx.error("takes axes as an attribute before opset 18, not as input 1");
    raw = ctx.attr_ints("axes");
  }
  TINYQ_ASSIGN_OR_RETURN(const std::vector<int64_t> axes, shape::normalize_axes(ctx, raw, rank, "axes"));
  const bool keepdims = ctx.attr_int("keepdims", 1) != 0;
  const bool noop = axes.empty() && axes_as_input && ctx.attr_int("noop_with_empty_axes", 0) != 0;
  std::vector<bool> reduce(rank, axes.empty() && !noop);
  for (int64_t a : axes) reduce[a] = true;
  ReducePlan p;
  p.in_dims = x.shape;
  p.in_numel = shape_numel(x.shape);
  Shape out, kept;
  for (int64_t k = 0; k < rank; ++k) {
    if (!reduce[k]) {
      out.push_back(x.shape[k]);
      kept.push_back(x.shape[k]);
    } else if (keepdims) {
      out.push_back(1);
    }
  }
  p.out_numel = shape_numel(kept);
  const std::vector<int64_t> kept_strides = shape::contiguous_strides(kept);
  p.out_step.assign(rank, 0);
  for (int64_t k = 0, j = 0; k < rank; ++k)
    if (!reduce[k]) p.out_step[k] = kept_strides[j++];
  ctx.set_output(0, x.dtype, out);
  return visit_dtype<kMinMaxTypes>(x.dtype, Result<std::unique_ptr<Kernel>>(unsupported_dtype(ctx, x.dtype)), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return Result<std::unique_ptr<Kernel>>(make_kernel([p](const KernelArgs& a) {
      const T* xv = static_cast<const T*>(a.inputs[0]);
      T* y = static_cast<T*>(a.outputs[0]);
      for (int64_t o = 0; o < p.out_numel; ++o) y[o] = Select<kMax>::template identity<T>();
      for (int64_t i = 0; i < p.in_numel; ++i) {
        int64_t rem = i, o = 0;
        for (size_t k = p.in_dims.size(); k-- > 0;) {
          o += (rem % p.in_dims[k]) * p.out_step[k];
          rem /= p.in_dims[k];
        }
        y[o] = Select<kMax>{}(y[o], xv[i]);
      }
    }));
  });
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_min(PrepareContext& ctx) { return make_elementwise<false>(ctx); }
Result<std::unique_ptr<Kernel>> make_max(PrepareContext& ctx) { return make_elementwise<true>(ctx); }
Result<std::unique_ptr<Kernel>> make_reduce_min(PrepareContext& ctx) { return make_reduce<false>(ctx); }
Result<std::unique_ptr<Kernel>> make_reduce_max(PrepareContext& ctx) { return make_reduce<true>(ctx); }

}  // namespace tinyq::kernels
