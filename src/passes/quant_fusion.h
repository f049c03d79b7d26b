// Fuses quantised subgraphs into tinyq's int8 ops (src/kernels/int8/fused_ops.h):
//  - static (QDQ): DequantizeLinear -> Conv / MatMul / Gemm (+ bias: an int32 DequantizeLinear
//    with scale x_scale * w_scale, as Conv/Gemm input or a following Add) (+ Relu / Clip)
//    -> QuantizeLinear becomes QLinearConvFused / QLinearMatMulFused. A QuantizeLinear feeding
//    the input DequantizeLinear, and a DequantizeLinear after the output, fold in too.
//  - dynamic (QOperator, ORT's quantize_dynamic): [DynamicQuantizeLinear ->] ConvInteger /
//    MatMulInteger -> Cast -> Mul(x_scale * w_scale) (-> Add bias) (-> Relu / Clip) becomes
//    ConvIntegerFused / MatMulIntegerFused, the DynamicQuantizeLinear folded in when only this
//    chain reads it.
// Weights are packed once here, and the original weight initializers dropped when nothing else
// reads them, so a session keeps one int8 copy. Anything that does not match exactly (shapes
// the pass cannot prove, float biases, per-axis activations...) is left to the reference ops.
#pragma once

#include "ir/graph.h"

namespace tinyq::passes {

struct QuantFusionCounts {
  int static_nodes = 0;   // QLinear*Fused made
  int dynamic_nodes = 0;  // *IntegerFused made
};

// Rewrites g in place (topologically sorted on return) and removes nodes and initializers that
// no longer feed anything.
QuantFusionCounts fuse_quantized(ir::Graph& g, int64_t opset);

}  // namespace tinyq::passes
