#include "passes/optimize.h"

#include "passes/fuse_activation.h"
#include "passes/quant_fusion.h"

namespace tinyq::passes {

OptimizeCounts optimize(ir::Model& model, const SessionOptions& options) {
  OptimizeCounts counts;
  if (options.reference_kernels || !options.graph_passes) return counts;
  // Quantised chains first: their Relu/Clip belong to the fused int8 node.
  const QuantFusionCounts q = fuse_quantized(model.graph, model.opset());
  counts.quant_static = q.static_nodes;
  counts.quant_dynamic = q.dynamic_nodes;
  // Then the remaining float Conv/ConvTranspose/Gemm/MatMul take a following Relu/Clip as their
  // output clamp (their kernels accept it; see output_clamp.h).
  counts.activations = fuse_activations(model.graph, model.opset());
  return counts;
}

}  // namespace tinyq::passes
