// Small hand-built models for the placement and QDQ writer tests, with weights chosen so their
// int8 values can be worked out by hand.
#pragma once

#include <string>
#include <vector>

#include "ir/builder.h"

namespace tinyq::quant::testing {

inline ir::ValueInfo f32(const std::string& name, std::vector<ir::Dim> dims) {
  return ir::make_value(name, DType::kFloat32, std::move(dims));
}

using ir::int_attr;

inline ir::Node make(const std::string& name, const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  return ir::make_node(name, op, std::move(in), std::move(out));
}

// x [N,4] -> Gemm "fc1" (w1 [3,4], transB=1, bias b1) -> h -> Relu -> r -> MatMul "mm" (w2 [3,2]) -> y.
// w1 rows have max |w| 1.27, 2.54 and 0.127, so per-channel scales are 0.01, 0.02, 0.001 and the
// int8 rows {127,-50,25,2}, {-127,50,2,0}, {127,-63,0,1}; w2 columns have max |w| 0.5 and 2.0:
// int8 columns {127,76,-32} and {-57,32,127}. No value sits on a rounding tie.
inline ir::Model mlp_model(int64_t opset = 17) {
  ir::Model m;
  m.opset_imports[""] = opset;
  ir::Graph& g = m.graph;
  g.name = "mlp";
  g.inputs.push_back(f32("x", {ir::Dim{-1, "N"}, ir::Dim{4, ""}}));
  g.outputs.push_back(f32("y", {ir::Dim{-1, "N"}, ir::Dim{2, ""}}));
  g.value_info.push_back(f32("h", {ir::Dim{-1, "N"}, ir::Dim{3, ""}}));
  g.initializers["w1"] = Tensor::from_vector<float>({3, 4}, {1.27f, -0.5f, 0.25f, 0.016f,   //
                                                             -2.54f, 1.0f, 0.034f, 0.0f,   //
                                                             0.127f, -0.0634f, 0.0f, 0.001f});
  g.initializers["b1"] = Tensor::from_vector<float>({3}, {0.5f, -0.25f, 1.0f});
  g.initializers["w2"] = Tensor::from_vector<float>({3, 2}, {0.5f, -0.9f, 0.3f, 0.5f, -0.125f, 2.0f});
  ir::Node fc1 = make("fc1", "Gemm", {"x", "w1", "b1"}, {"h"});
  fc1.attributes["transB"] = int_attr(1);
  g.nodes.push_back(fc1);
  g.nodes.push_back(make("relu", "Relu", {"h"}, {"r"}));
  g.nodes.push_back(make("mm", "MatMul", {"r", "w2"}, {"y"}));
  ir::number_nodes(g);
  return m;
}

// x [1,1,3,3] -> Conv "conv" (w [2,1,1,1] = {2, -0.5}, bias b) -> c; x is also read by Add "add" (x + c).
inline ir::Model conv_model(int64_t opset = 17) {
  ir::Model m;
  m.opset_imports[""] = opset;
  ir::Graph& g = m.graph;
  g.name = "conv";
  g.inputs.push_back(f32("x", {ir::Dim{1, ""}, ir::Dim{1, ""}, ir::Dim{3, ""}, ir::Dim{3, ""}}));
  g.outputs.push_back(f32("y", {ir::Dim{1, ""}, ir::Dim{2, ""}, ir::Dim{3, ""}, ir::Dim{3, ""}}));
  g.initializers["w"] = Tensor::from_vector<float>({2, 1, 1, 1}, {2.0f, -0.5f});
  g.initializers["b"] = Tensor::from_vector<float>({2}, {0.25f, -0.75f});
  g.nodes.push_back(make("conv", "Conv", {"x", "w", "b"}, {"c"}));
  g.nodes.push_back(make("add", "Add", {"x", "c"}, {"y"}));
  ir::number_nodes(g);
  return m;
}

}  // namespace tinyq::quant::testing
