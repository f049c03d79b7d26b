#include <algorithm>

#include "kernels/kernel.h"
#include "util/checked_numel.h"

namespace tinyq::kernels {

PrepareContext::PrepareContext(const ir::Node& node, int64_t opset, KernelImpl impl,
                               std::vector<TensorInfo> inputs, int64_t max_tensor_elements)
    : node_(node), opset_(opset), impl_(impl), max_tensor_elements_(max_tensor_elements), inputs_(std::move(inputs)) {
  outputs_.resize(node_.outputs.size());
}

bool PrepareContext::has_input(int i) const {
  return i >= 0 && i < num_inputs() && !node_.inputs[i].empty();
}

const TensorInfo& PrepareContext::input(int i) const {
  static const TensorInfo kAbsent;
  return has_input(i) ? inputs_[i] : kAbsent;
}

Result<const Tensor*> PrepareContext::const_input(int i) {
  if (!has_input(i)) return error("input " + std::to_string(i) + " is required");
  if (inputs_[i].value) return inputs_[i].value;
  if (std::find(missing_const_.begin(), missing_const_.end(), i) == missing_const_.end())
    missing_const_.push_back(i);
  return Status::unsupported(node_.describe() + ": input " + std::to_string(i) + " ('" +
                             node_.inputs[i] + "') must be known before the run (a constant or a graph input " +
                             "whose value fixes the plan)");
}

void PrepareContext::set_output(int i, DType dtype, Shape shape) {
  if (i < 0 || i >= num_outputs()) return;
  outputs_[i].dtype = dtype;
  outputs_[i].shape = std::move(shape);
}

int64_t PrepareContext::attr_int(const char* name, int64_t def) const {
  const ir::Attribute* a = node_.attr(name);
  return a ? a->i : def;
}

float PrepareContext::attr_float(const char* name, float def) const {
  const ir::Attribute* a = node_.attr(name);
  return a ? a->f : def;
}

std::string PrepareContext::attr_string(const char* name, const std::string& def) const {
  const ir::Attribute* a = node_.attr(name);
  return a ? a->s : def;
}

std::vector<int64_t> PrepareContext::attr_ints(const char* name) const {
  const ir::Attribute* a = node_.attr(name);
  return a ? a->ints : std::vector<int64_t>{};
}

std::vector<float> PrepareContext::attr_floats(const char* name) const {
  const ir::Attribute* a = node_.attr(name);
  return a ? a->floats : std::vector<float>{};
}

const Tensor* PrepareContext::attr_tensor(const char* name) const {
  const ir::Attribute* a = node_.attr(name);
  return a && a->kind == ir::Attribute::Kind::kTensor ? &a->t : nullptr;
}

Status PrepareContext::check_elements(const Shape& shape, const char* what) const {
  return util::check_tensor_elements(shape, max_tensor_elements_, node_.describe() + ": " + what);
}

Status PrepareContext::check_attrs(std::initializer_list<const char*> known) const {
  for (const auto& [key, value] : node_.attributes) {
    bool ok = false;
    for (const char* k : known)
      if (key == k) ok = true;
    if (!ok) return unsupported("attribute '" + key + "' is not supported");
  }
  return Status::ok();
}

Status PrepareContext::error(const std::string& msg) const {
  return Status::invalid_argument(node_.describe() + ": " + msg);
}

Status PrepareContext::unsupported(const std::string& msg) const {
  return Status::unsupported(node_.describe() + ": " + msg);
}

}  // namespace tinyq::kernels
