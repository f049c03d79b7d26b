// ONNX ops in libtorch, for QAT's trainable graph: one small factory per op, found by op type.
// A factory checks the node's attributes once and returns the function that runs it; values
// such as axes or shapes that arrive as inputs are read when the node runs. To add an op, write
// its factory in onnx_ops.cpp and add it to the table there.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "qat/torch_graph.h"
#include "tinyq/status.h"

namespace tinyq::qat {

// Builds the function for `node` under the model's default-domain `opset`. kUnsupported (naming
// the node) for an op, attribute or attribute value outside what QAT's graph implements.
Result<TorchGraph::OpFn> make_op(const ir::Node& node, int64_t opset);

// The op types make_op knows, sorted; for error messages and tests.
std::vector<std::string> supported_ops();

}  // namespace tinyq::qat
