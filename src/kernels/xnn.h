// XNNPACK glue shared by the fast kernels.
#pragma once

#include <xnnpack.h>

#include <memory>

namespace tinyq::kernels {

// Initialises XNNPACK once per process; false when the CPU is unsupported (use the reference).
bool xnn_ready();

// Owns an xnn_operator_t.
struct XnnOperatorDeleter {
  void operator()(xnn_operator_t op) const { if (op) xnn_delete_operator(op); }
};
using XnnOperator = std::unique_ptr<xnn_operator, XnnOperatorDeleter>;

}  // namespace tinyq::kernels
