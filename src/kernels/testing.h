// Test helper: runs one op on host tensors through its factory, outside any graph.
// Used by kernel unit tests (src/kernels/*_test.cpp) to compare fast kernels with the reference.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/kernel.h"

namespace tinyq::kernels::testing {

struct OpCall {
  std::string op_type;
  std::map<std::string, ir::Attribute> attributes;
  std::vector<Tensor> inputs;          // an empty Tensor marks an omitted optional input
  std::vector<bool> constant_inputs;   // true: the value is visible at plan time (default: all true)
  int num_outputs = 1;
  int64_t opset = 18;
  KernelImpl impl = KernelImpl::kFast;
};

// Prepares and runs the op; returns its outputs.
Result<std::vector<Tensor>> run_op(const OpCall& call);

ir::Attribute attr_int(int64_t v);
ir::Attribute attr_float(float v);
ir::Attribute attr_string(std::string v);
ir::Attribute attr_ints(std::vector<int64_t> v);
ir::Attribute attr_floats(std::vector<float> v);

}  // namespace tinyq::kernels::testing
