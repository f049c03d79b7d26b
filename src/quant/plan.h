// Quantisation placement and parameters shared by the static and dynamic quantisers and QAT:
// which tensors get Q/DQ, and the int8 parameters chosen for them. plan_quantization() decides
// *where*; the quantisers (or QAT's training) decide the numbers; write_qdq() emits the file.
//
// The file format (src/passes/quant_fusion fuses exactly this):
//  - activation T, static:  QuantizeLinear(T, T_s, T_z) -> T_q -> DequantizeLinear -> T_dq, one
//    pair per tensor shared by every quantised reader; T_s a float scalar, T_z uint8 (u8
//    asymmetric) or int8 0 (s8 symmetric);
//  - activation T, dynamic: DynamicQuantizeLinear(T) -> (T_q, T_s, T_z) -> DequantizeLinear -> T_dq;
//  - weight W: int8 initializer W_q (symmetric, -127..127) -> DequantizeLinear(W_q, W_s[, axis])
//    with no zero point; W_s has one entry per output channel, or is a scalar;
//  - biases and every node not quantised stay fp32 as written; graph outputs and the outputs of
//    quantised nodes keep their names.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "tinyq/status.h"
#include "tinyq/tensor.h"

namespace tinyq::quant {

enum class ActivationType { kU8Asymmetric, kS8Symmetric };

// The op types tinyq quantises, in the order the CLI lists them.
inline const std::vector<std::string>& quantizable_op_types() {
  static const std::vector<std::string> kTypes = {"Conv", "ConvTranspose", "Gemm", "MatMul"};
  return kTypes;
}

// Default-domain opset a written file needs: per-axis DequantizeLinear is opset 13.
inline constexpr int64_t kQdqOpset = 13;
// IR version that opset 13 needs.
inline constexpr int64_t kQdqIrVersion = 7;

struct PlacementOptions {
  bool per_channel = true;  // weights: one scale per output channel, else one per tensor
  std::vector<std::string> op_types = {"Conv", "Gemm", "MatMul"};  // ops whose inputs are quantised
  std::vector<std::string> include_nodes;     // when non-empty, only these node names
  std::vector<std::string> exclude_nodes;     // never these node names
  std::vector<std::string> exclude_op_types;  // never these op types
};

// How a plan names a node: its name, or Node::describe() when it has none.
inline std::string site_name(const ir::Node& n) { return n.name.empty() ? n.describe() : n.name; }

// A weight input (an initializer) of a quantised node, quantised symmetric int8 offline.
struct WeightSite {
  std::string node;         // node name
  int input = 1;            // input index in the node
  std::string initializer;  // fp32 initializer name
  int64_t axis = -1;        // per-channel axis of the initializer; -1 = per-tensor
  // The dims [begin, end) that one rounding group spans: the weights one output meets across a
  // window of one input channel (a Conv's spatial dims; a Gemm/MatMul's K dim). Sum-preserving
  // rounding keeps each group's integer sum equal to its rounded real sum.
  int64_t group_begin = -1, group_end = -1;
};

// One quantised node: its float activation inputs (quantised at run time or by calibration) and
// its weights. Biases (Conv input 2, Gemm input C) stay fp32 in the file: they are added after
// dequantisation, cost no accuracy, and save a DequantizeLinear per node.
struct NodeSite {
  std::string node;
  std::string op_type;
  std::vector<std::string> activations;  // float input tensors that get Q/DQ
  std::vector<WeightSite> weights;
};

// A node of a selected op type that stays fp32, and why (for the report).
struct SkippedNode {
  std::string node;
  std::string op_type;
  std::string reason;
};

struct QuantPlan {
  std::vector<NodeSite> nodes;            // in graph order
  std::vector<std::string> activations;   // every activation tensor that gets Q/DQ, unique, graph order
  std::vector<SkippedNode> skipped;       // selected by op type and name, but not quantisable
};

// Decides placement for g; errors name the include/exclude entry that matches no node, an op
// type tinyq cannot quantise, or say that no node can be quantised (listing why each candidate
// was skipped).
Result<QuantPlan> plan_quantization(const ir::Graph& g, const PlacementOptions& options);

// Quantisation parameters of one activation tensor (per tensor).
struct ActivationParams {
  float scale = 1.0f;
  int32_t zero_point = 0;  // 0 for s8 symmetric
  ActivationType type = ActivationType::kU8Asymmetric;
};

// What write_qdq needs besides the fp32 model and the plan.
struct QdqParams {
  // Static: one entry per plan activation. Dynamic: empty (DynamicQuantizeLinear is emitted).
  std::map<std::string, ActivationParams> activations;
  bool dynamic = false;
  // Optional replacement fp32 values for weight initializers (QAT's trained weights); the
  // weights are then quantised as usual. Absent: the model's own.
  std::map<std::string, Tensor> weight_overrides;
  // Optional per-weight scales (QAT's learned scales), per channel or one element; absent:
  // max|w| / 127 per channel (or per tensor).
  std::map<std::string, std::vector<float>> weight_scales;
  // How weights without explicit values are rounded to the int8 grid.
  enum class Rounding {
    kNearest,         // round half to even, element by element
    kSumPreserving,   // nearest, then the cheapest +-1 moves so each WeightSite group keeps its sum
  };
  Rounding rounding = Rounding::kNearest;
  // Optional int8 values for weight initializers, shaped like the weight (a quantiser that
  // rounds with data, e.g. error feedback); they need an entry in weight_scales too. Absent:
  // round to nearest with the scales.
  std::map<std::string, Tensor> weight_values;
};

// Builds the QDQ model: weights stored as int8 initializers behind DequantizeLinear, activations
// behind QuantizeLinear -> DequantizeLinear (static) or DynamicQuantizeLinear -> DequantizeLinear
// (dynamic). Everything not in the plan stays fp32 and as written. Raises the default-domain
// opset to kQdqOpset when it is lower, and fails naming the node when an op in the graph changed
// meaning between the model's opset and kQdqOpset.
Result<ir::Model> write_qdq(const ir::Model& fp32, const QuantPlan& plan, const QdqParams& params);

}  // namespace tinyq::quant
