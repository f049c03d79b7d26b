// ReduceMean and ReduceSum over a set of axes (keepdims, noop_with_empty_axes; axes as an attribute
// or, from ReduceSum-13 / ReduceMean-18, as an input). Floats accumulate in double and integers in
// int64, so results do not depend on the summation order beyond the final rounding.
#include <string>

#include "kernels/kernel.h"
#include "kernels/shape_helpers.h"

namespace tinyq::kernels {

namespace {

struct ReducePlan {
  bool mean = false;
  int64_t count = 1;  // input elements per output element
  int64_t in_numel = 0;
  int64_t out_numel = 0;
  // Reference walk: for each input dim, its size and the output stride it moves (0 when reduced).
  std::vector<int64_t> in_dims;
  std::vector<int64_t> out_step;
  // Fast path, when the merged dims read [outer kept, reduced, inner kept] (each possibly 1).
  bool blocked = false;
  int64_t outer = 1, reduced = 1, inner = 1;
};

template <typename T> using AccOf = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <typename T>
T finish(const ReducePlan& p, AccOf<T> acc) {
  if (!p.mean) return static_cast<T>(acc);
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(acc / static_cast<double>(p.count));  // 0/0 gives NaN for an empty set
  } else {
    return p.count == 0 ? T{0} : static_cast<T>(acc / p.count);
  }
}

// Plain scalar: every input element adds into its output's accumulator (held in scratch).
template <typename T>
void reduce_reference(const ReducePlan& p, const T* x, T* y, void* scratch) {
  using Acc = AccOf<T>;
  Acc* acc = static_cast<Acc*>(scratch);
  for (int64_t o = 0; o < p.out_numel; ++o) acc[o] = 0;
  const size_t r = p.in_dims.size();
  for (int64_t i = 0; i < p.in_numel; ++i) {
    int64_t rem = i;
    int64_t o = 0;
    for (size_t k = r; k-- > 0;) {
      o += (rem % p.in_dims[k]) * p.out_step[k];
      rem /= p.in_dims[k];
    }
    acc[o] += static_cast<Acc>(x[i]);
  }
  for (int64_t o = 0; o < p.out_numel; ++o) y[o] = finish<T>(p, acc[o]);
}

// [outer, reduced, inner] blocks: a contiguous row sum when inner == 1, otherwise a vectorisable
// accumulation of whole rows into `inner` accumulators.
template <typename T>
void reduce_blocked(const ReducePlan& p, const T* x, T* y, void* scratch) {
  using Acc = AccOf<T>;
  if (p.inner == 1) {
    for (int64_t o = 0; o < p.outer; ++o) {
      const T* row = x + o * p.reduced;
      // Four partial sums break the add dependency chain.
      Acc s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t r = 0;
      for (; r + 4 <= p.reduced; r += 4) {
        s0 += static_cast<Acc>(row[r]);
        s1 += static_cast<Acc>(row[r + 1]);
        s2 += static_cast<Acc>(row[r + 2]);
        s3 += static_cast<Acc>(row[r + 3]);
      }
      for (; r < p.reduced; ++r) s0 += static_cast<Acc>(row[r]);
      y[o] = finish<T>(p, (s0 + s1) + (s2 + s3));
    }
    return;
  }
  Acc* acc = static_cast<Acc*>(scratch);
  for (int64_t o = 0; o < p.outer; ++o) {
    const T* block = x + o * p.reduced * p.inner;
    for (int64_t i = 0; i < p.inner; ++i) acc[i] = 0;
    for (int64_t r = 0; r < p.reduced; ++r) {
      const T* row = block + r * p.inner;
      for (int64_t i = 0; i < p.inner; ++i) acc[i] += static_cast<Acc>(row[i]);
    }
    T* out = y + o * p.inner;
    for (int64_t i = 0; i < p.inner; ++i) out[i] = finish<T>(p, acc[i]);
  }
}

template <typename T>
std::unique_ptr<Kernel> reduce_kernel(const ReducePlan& p, KernelImpl impl) {
  constexpr size_t kAcc = sizeof(AccOf<T>);
  if (impl == KernelImpl::kFast && p.blocked) {
    return make_kernel(
        [p](const KernelArgs& a) {
          reduce_blocked<T>(p, static_cast<const T*>(a.inputs[0]), static_cast<T*>(a.outputs[0]), a.scratch);
        },
        p.inner > 1 ? static_cast<size_t>(p.inner) * kAcc : 0);
  }
  return make_kernel(
      [p](const KernelArgs& a) {
        reduce_reference<T>(p, static_cast<const T*>(a.inputs[0]), static_cast<T*>(a.outputs[0]), a.scratch);
      },
      static_cast<size_t>(p.out_numel) * kAcc);
}

// Fills the fast-path fields when the reduced dims form one block once size-1 dims are ignored.
void plan_blocks(ReducePlan& p, const Shape& in, const std::vector<bool>& reduce) {
  // Phase 0: leading kept dims, 1: reduced dims, 2: trailing kept dims.
  int phase = 0;
  for (size_t k = 0; k < in.size(); ++k) {
    if (in[k] == 1) continue;
    if (reduce[k]) {
      if (phase == 2) return;
      phase = 1;
      p.reduced *= in[k];
    } else if (phase == 0) {
      p.outer *= in[k];
    } else {
      phase = 2;
      p.inner *= in[k];
    }
  }
  p.blocked = true;
}

Result<std::unique_ptr<Kernel>> make_reduce(PrepareContext& ctx, bool mean, int64_t axes_input_opset) {
  const bool axes_as_input = ctx.opset() >= axes_input_opset;
  TINYQ_RETURN_IF_ERROR(axes_as_input ? ctx.check_attrs({"keepdims", "noop_with_empty_axes"})
                                      : ctx.check_attrs({"keepdims", "axes"}));
  if (!ctx.has_input(0)) return ctx.error("input 0 (data) is required");
  const TensorInfo& x = ctx.input(0);
  if (x.dtype != DType::kFloat32 && x.dtype != DType::kFloat64 && x.dtype != DType::kInt32 &&
      x.dtype != DType::kInt64)
    return ctx.unsupported(std::string("dtype ") + dtype_name(x.dtype) + " is not supported");
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> raw;
  if (axes_as_input) {
    if (ctx.has_input(1)) {
      TINYQ_ASSIGN_OR_RETURN(raw, shape::const_ints(ctx, 1, "axes"));
    }
  } else {
    if (ctx.has_input(1))
      return ctx.error("takes axes as an attribute before opset " + std::to_string(axes_input_opset) +
                       ", not as input 1");
    raw = ctx.attr_ints("axes");
  }
  TINYQ_ASSIGN_OR_RETURN(std::vector<int64_t> axes, shape::normalize_axes(ctx, raw, rank, "axes"));
  const bool keepdims = ctx.attr_int("keepdims", 1) != 0;

  if (axes.empty() && axes_as_input && ctx.attr_int("noop_with_empty_axes", 0) != 0) {
    ctx.set_output(0, x.dtype, x.shape);
    const size_t bytes = static_cast<size_t>(shape_numel(x.shape)) * dtype_size(x.dtype);
    return make_kernel([bytes](const KernelArgs& a) { std::memcpy(a.outputs[0], a.inputs[0], bytes); });
  }
  std::vector<bool> reduce(rank, axes.empty());
  for (int64_t a : axes) reduce[a] = true;

  ReducePlan p;
  p.mean = mean;
  p.in_dims = x.shape;
  p.in_numel = shape_numel(x.shape);
  Shape out;
  Shape kept;  // output dims without the size-1 placeholders of keepdims
  for (int64_t k = 0; k < rank; ++k) {
    if (reduce[k]) {
      p.count *= x.shape[k];
      if (keepdims) out.push_back(1);
    } else {
      out.push_back(x.shape[k]);
      kept.push_back(x.shape[k]);
    }
  }
  p.out_numel = shape_numel(kept);
  const std::vector<int64_t> kept_strides = shape::contiguous_strides(kept);
  p.out_step.assign(rank, 0);
  for (int64_t k = 0, j = 0; k < rank; ++k)
    if (!reduce[k]) p.out_step[k] = kept_strides[j++];
  plan_blocks(p, x.shape, reduce);
  ctx.set_output(0, x.dtype, out);

  switch (x.dtype) {
    case DType::kFloat32: return reduce_kernel<float>(p, ctx.impl());
    case DType::kFloat64: return reduce_kernel<double>(p, ctx.impl());
    case DType::kInt32: return reduce_kernel<int32_t>(p, ctx.impl());
    default: return reduce_kernel<int64_t>(p, ctx.impl());
  }
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_reduce_mean(PrepareContext& ctx) { return make_reduce(ctx, true, 18); }
Result<std::unique_ptr<Kernel>> make_reduce_sum(PrepareContext& ctx) { return make_reduce(ctx, false, 13); }

}  // namespace tinyq::kernels
