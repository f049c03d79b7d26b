#include "kernels/testing.h"

#include <cstdlib>

#include "ir/builder.h"

namespace tinyq::kernels::testing {

Result<std::vector<Tensor>> run_op(const OpCall& call) {
  ir::Node node;
  node.op_type = call.op_type;
  node.name = "test_" + call.op_type;
  node.attributes = call.attributes;
  std::vector<TensorInfo> infos;
  for (size_t i = 0; i < call.inputs.size(); ++i) {
    const Tensor& t = call.inputs[i];
    node.inputs.push_back(t.empty() ? "" : "in" + std::to_string(i));
    TensorInfo info;
    info.dtype = t.dtype();
    info.shape = t.shape();
    bool constant = i < call.constant_inputs.size() ? call.constant_inputs[i] : true;
    info.value = (constant && !t.empty()) ? &t : nullptr;
    infos.push_back(info);
  }
  for (int i = 0; i < call.num_outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
  KernelFactory factory = find_kernel("", call.op_type);
  if (!factory) return Status::unsupported("no kernel for " + call.op_type);
  PrepareContext ctx(node, call.opset, call.impl, std::move(infos));
  TINYQ_ASSIGN_OR_RETURN(std::unique_ptr<Kernel> kernel, factory(ctx));
  std::vector<Tensor> outputs;
  std::vector<void*> out_ptrs;
  for (int i = 0; i < call.num_outputs; ++i) {
    const TensorInfo& o = ctx.outputs()[i];
    if (o.dtype == DType::kUndefined) return Status::internal(node.describe() + ": output " + std::to_string(i) + " was not set");
    outputs.emplace_back(o.dtype, o.shape);
    out_ptrs.push_back(outputs.back().raw());
  }
  std::vector<const void*> in_ptrs;
  for (const Tensor& t : call.inputs) in_ptrs.push_back(t.empty() ? nullptr : t.raw());
  size_t scratch = kernel->scratch_bytes();
  void* scratch_ptr = scratch ? std::aligned_alloc(64, (scratch + 63) / 64 * 64) : nullptr;
  KernelArgs args{in_ptrs.data(), out_ptrs.data(), scratch_ptr, nullptr};
  kernel->run(args);
  std::free(scratch_ptr);
  return outputs;
}

ir::Attribute attr_int(int64_t v) { return ir::int_attr(v); }
ir::Attribute attr_float(float v) { return ir::float_attr(v); }
ir::Attribute attr_string(std::string v) { return ir::string_attr(std::move(v)); }
ir::Attribute attr_ints(std::vector<int64_t> v) { return ir::ints_attr(std::move(v)); }
ir::Attribute attr_floats(std::vector<float> v) { return ir::floats_attr(std::move(v)); }

}  // namespace tinyq::kernels::testing
