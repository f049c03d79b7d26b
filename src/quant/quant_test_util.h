// Small hand-built models for the quant unit tests (tap, calibration).
#pragma once

#include <string>
#include <vector>

#include "ir/builder.h"

namespace tinyq::quant::testing {

inline ir::ValueInfo float_value(const std::string& name, std::vector<ir::Dim> dims) {
  return ir::make_value(name, DType::kFloat32, std::move(dims));
}

// A node named "<op>_<first output>".
inline ir::Node node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs) {
  const std::string name = op + "_" + outputs[0];  // before `outputs` is moved from
  return ir::make_node(name, op, std::move(inputs), std::move(outputs));
}

// x [batch, features] -> Relu -> r -> Mul by the initializer two (= 2) -> y. Intermediate values:
// r; exact: min(r) = max(0, min x), y = 2 r.
inline ir::Model relu_mul_model(int64_t features) {
  ir::Model m;
  m.opset_imports[""] = 17;
  ir::Graph& g = m.graph;
  g.name = "relu_mul";
  g.inputs.push_back(float_value("x", {ir::Dim{-1, "batch"}, ir::Dim{features, ""}}));
  g.outputs.push_back(float_value("y", {ir::Dim{-1, "batch"}, ir::Dim{features, ""}}));
  g.initializers["two"] = Tensor::from_vector<float>({}, {2.0f});
  g.nodes.push_back(node("Relu", {"x"}, {"r"}));
  g.nodes.push_back(node("Mul", {"r", "two"}, {"y"}));
  ir::number_nodes(g);
  return m;
}

}  // namespace tinyq::quant::testing
