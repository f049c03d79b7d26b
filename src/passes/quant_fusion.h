// Fuses quantised subgraphs into tinyq's int8 ops (src/kernels/int8/fused_ops.h):
//  - QDQ: DequantizeLinear(x) and DequantizeLinear(constant int8 weights, per tensor or per output
//    channel, zero point optional) -> Conv / MatMul / Gemm (transB, alpha > 0, beta) (+ bias: a
//    float constant or an int32 DequantizeLinear, as Conv input 2 / Gemm C or a following Add)
//    (+ Relu / Clip). The activations: QuantizeLinear(T) -> DequantizeLinear with the same
//    parameters folds in (the op quantises T itself), DynamicQuantizeLinear(T) -> DequantizeLinear
//    likewise (per run), anything else is read as the quantised tensor.
//    - followed by a per-tensor QuantizeLinear (static activations only): QLinearConvFused /
//      QLinearMatMulFused, requantised output (a DequantizeLinear after it folds in too);
//    - otherwise the output stays float: ConvIntegerFused / MatMulIntegerFused, y = float(int32
//      sum) * x_scale * w_scale[c] + bias[c], then the clamp. This equals the unfused float graph
//      up to float rounding (the graph rounds every product and partial sum).
//  - dynamic (QOperator, ORT's quantize_dynamic): [DynamicQuantizeLinear ->] ConvInteger /
//    MatMulInteger -> Cast -> Mul(x_scale * w_scale) (-> Add bias) (-> Relu / Clip) becomes
//    ConvIntegerFused / MatMulIntegerFused, the DynamicQuantizeLinear folded in when only this
//    chain reads it. Bit-identical to the unfused graph.
// Weights are packed once here, and the original weight initializers dropped when nothing else
// reads them, so a session keeps one int8 copy. Anything that does not match exactly (shapes
// the pass cannot prove, per-axis activations, transA...) is left to the reference ops.
#pragma once

#include "ir/graph.h"

namespace tinyq::passes {

struct QuantFusionCounts {
  int static_nodes = 0;   // chains with constant activation parameters (QDQ static) fused
  int dynamic_nodes = 0;  // chains quantising activations per run (QOperator, dynamic QDQ) fused
};

// Rewrites g in place (topologically sorted on return) and removes nodes and initializers that
// no longer feed anything.
QuantFusionCounts fuse_quantized(ir::Graph& g, int64_t opset);

}  // namespace tinyq::passes
