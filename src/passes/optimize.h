// The graph passes a Session applies to its model before planning. None run when
// SessionOptions::reference_kernels is set (the reference path runs the graph as written) or
// graph_passes is off.
#pragma once

#include "ir/graph.h"
#include "tinyq/session.h"

namespace tinyq::passes {

struct OptimizeCounts {
  int quant_static = 0;   // QDQ subgraphs fused into QLinear*Fused
  int quant_dynamic = 0;  // QOperator subgraphs fused into *IntegerFused
  int activations = 0;    // Relu/Clip folded into a float Conv/ConvTranspose/Gemm/MatMul
};

OptimizeCounts optimize(ir::Model& model, const SessionOptions& options);

}  // namespace tinyq::passes
