// Fuses a Relu or Clip that follows Conv, ConvTranspose, Gemm or MatMul into that node's output
// clamp (ir::Node::clamp_min/max), saving one pass over the tensor and one plan step.
#pragma once

#include "ir/graph.h"

namespace tinyq::passes {

// Returns how many activations were fused. The graph stays topologically sorted.
int fuse_activations(ir::Graph& g, int64_t opset);

}  // namespace tinyq::passes
