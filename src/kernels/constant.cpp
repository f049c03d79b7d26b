// Constant: a tensor held in the node's attributes. The loader usually folds these into
// initializers; this kernel covers the ones that reach the planner.
#include <string>

#include "kernels/kernel.h"
#include "kernels/shape_helpers.h"

namespace tinyq::kernels {

namespace {

// The attribute's value as a tensor, or an error naming why it cannot be one.
Result<Tensor> constant_value(const PrepareContext& ctx) {
  const ir::Node& node = ctx.node();
  if (node.attributes.size() != 1)
    return ctx.error("needs exactly one value attribute, has " + std::to_string(node.attributes.size()));
  const auto& [key, a] = *node.attributes.begin();
  using Kind = ir::Attribute::Kind;
  if (key == "value") {
    if (a.kind != Kind::kTensor) return ctx.error("attribute 'value' is not a tensor");
    TINYQ_RETURN_IF_ERROR(shape::check_movable_dtype(ctx, a.t.dtype(), "attribute 'value'"));
    return a.t;
  }
  if (key == "value_float") return Tensor::from_vector<float>({}, {a.f});
  if (key == "value_floats")
    return Tensor::from_vector<float>({static_cast<int64_t>(a.floats.size())}, a.floats);
  if (key == "value_int") return Tensor::from_vector<int64_t>({}, {a.i});
  if (key == "value_ints") return Tensor::from_vector<int64_t>({static_cast<int64_t>(a.ints.size())}, a.ints);
  if (key == "sparse_value" || key == "value_string" || key == "value_strings")
    return ctx.unsupported("attribute '" + key + "': sparse and string constants are not supported");
  return ctx.unsupported("attribute '" + key + "' is not supported");
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_constant(PrepareContext& ctx) {
  TINYQ_ASSIGN_OR_RETURN(Tensor value, constant_value(ctx));
  ctx.set_output(0, value.dtype(), value.shape());
  // Captured by value, so the kernel keeps the storage alive by itself.
  return make_kernel([value](const KernelArgs& a) {
    if (value.nbytes()) std::memcpy(a.outputs[0], value.raw(), value.nbytes());
  });
}

}  // namespace tinyq::kernels
