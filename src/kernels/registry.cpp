#include <algorithm>

#include "kernels/kernel.h"

namespace tinyq::kernels {

#define TINYQ_OP(op, factory) Result<std::unique_ptr<Kernel>> factory(PrepareContext& ctx);
#define TINYQ_INTERNAL_OP TINYQ_OP
#include "kernels/ops.def"
#undef TINYQ_INTERNAL_OP
#undef TINYQ_OP

namespace {
struct Entry {
  const char* op_type;
  KernelFactory factory;
};
const Entry kOps[] = {
#define TINYQ_OP(op, factory) {#op, &factory},
#define TINYQ_INTERNAL_OP(op, factory)
#include "kernels/ops.def"
#undef TINYQ_INTERNAL_OP
#undef TINYQ_OP
};
// Ops of domain "tinyq" (kInternalDomain).
const Entry kInternalOps[] = {
#define TINYQ_OP(op, factory)
#define TINYQ_INTERNAL_OP(op, factory) {#op, &factory},
#include "kernels/ops.def"
#undef TINYQ_INTERNAL_OP
#undef TINYQ_OP
};
}  // namespace

KernelFactory find_kernel(const std::string& domain, const std::string& op_type) {
  if (domain == kInternalDomain) {
    for (const auto& e : kInternalOps)
      if (op_type == e.op_type) return e.factory;
    return nullptr;
  }
  if (!domain.empty() && domain != "ai.onnx") return nullptr;
  for (const auto& e : kOps)
    if (op_type == e.op_type) return e.factory;
  return nullptr;
}

std::vector<std::string> registered_ops() {
  std::vector<std::string> out;
  for (const auto& e : kOps) out.emplace_back(e.op_type);
  return out;
}

}  // namespace tinyq::kernels
