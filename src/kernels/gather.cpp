// Gather: picks slices of `data` along `axis` by `indices` (any shape, int32 or int64, negative
// values count from the end). The indices are read at run time, so they need not be constant.
#include <string>

#include "kernels/kernel.h"
#include "kernels/shape_helpers.h"

namespace tinyq::kernels {

namespace {

struct GatherPlan {
  int64_t outer = 1;       // product of data dims before axis
  int64_t axis_dim = 0;    // data dim at axis
  int64_t n_indices = 0;
  size_t slice_bytes = 0;  // bytes of one slice: product of data dims after axis, times elem size
};

// Copies one slice per index. An out-of-range index (only possible when indices arrive at run
// time; constant ones are checked at plan time) yields zeros instead of reading out of bounds.
template <typename I>
void gather(const GatherPlan& p, const uint8_t* data, const I* indices, uint8_t* out) {
  for (int64_t o = 0; o < p.outer; ++o) {
    const uint8_t* block = data + static_cast<size_t>(o * p.axis_dim) * p.slice_bytes;
    for (int64_t j = 0; j < p.n_indices; ++j) {
      int64_t idx = static_cast<int64_t>(indices[j]);
      if (idx < 0) idx += p.axis_dim;
      if (idx < 0 || idx >= p.axis_dim) {
        std::memset(out, 0, p.slice_bytes);
      } else {
        std::memcpy(out, block + static_cast<size_t>(idx) * p.slice_bytes, p.slice_bytes);
      }
      out += p.slice_bytes;
    }
  }
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_gather(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"axis"}));
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("inputs 0 (data) and 1 (indices) are required");
  const TensorInfo& data = ctx.input(0);
  const TensorInfo& indices = ctx.input(1);
  TINYQ_RETURN_IF_ERROR(shape::check_movable_dtype(ctx, data.dtype, "input 0 (data)"));
  if (indices.dtype != DType::kInt32 && indices.dtype != DType::kInt64)
    return ctx.error(std::string("indices must be int32 or int64, not ") + dtype_name(indices.dtype));
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  if (rank == 0) return ctx.error("data must have rank >= 1");
  TINYQ_ASSIGN_OR_RETURN(int64_t axis, shape::normalize_axis(ctx, ctx.attr_int("axis", 0), rank, "axis"));

  GatherPlan p;
  p.axis_dim = data.shape[axis];
  p.n_indices = shape_numel(indices.shape);
  int64_t inner = 1;
  Shape out;
  for (int64_t k = 0; k < axis; ++k) {
    p.outer *= data.shape[k];
    out.push_back(data.shape[k]);
  }
  out.insert(out.end(), indices.shape.begin(), indices.shape.end());
  for (int64_t k = axis + 1; k < rank; ++k) {
    inner *= data.shape[k];
    out.push_back(data.shape[k]);
  }
  p.slice_bytes = static_cast<size_t>(inner) * dtype_size(data.dtype);
  if (indices.value) {
    for (int64_t v : indices.value->to_int64())
      if (v < -p.axis_dim || v >= p.axis_dim)
        return ctx.error("index " + std::to_string(v) + " is out of range for axis " + std::to_string(axis) +
                         " of size " + std::to_string(p.axis_dim));
  }
  ctx.set_output(0, data.dtype, out);
  auto run = [p](const KernelArgs& a, auto index_type) {
    using I = decltype(index_type);
    gather(p, static_cast<const uint8_t*>(a.inputs[0]), static_cast<const I*>(a.inputs[1]),
           static_cast<uint8_t*>(a.outputs[0]));
  };
  if (indices.dtype == DType::kInt32) return make_kernel([run](const KernelArgs& a) { run(a, int32_t{}); });
  return make_kernel([run](const KernelArgs& a) { run(a, int64_t{}); });
}

}  // namespace tinyq::kernels
