// Graph builders and a small model shared by the runtime tests (session_test.cpp, limits_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "ir/builder.h"

namespace tinyq::runtime_test {

inline ir::ValueInfo value(const std::string& name, DType dtype, std::vector<ir::Dim> dims) {
  return ir::make_value(name, dtype, std::move(dims));
}

// A node named "<op>_<first output>".
inline ir::Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  const std::string name = op + "_" + out[0];  // before `out` is moved from
  return ir::make_node(name, op, std::move(in), std::move(out));
}

// The model of `g`, topologically sorted (a failure to sort fails the test).
inline ir::Model model_of(ir::Graph g, int64_t opset = 17) {
  ir::Model m = ir::make_model(std::move(g), opset);
  EXPECT_TRUE(ir::topo_sort(m.graph).is_ok());
  return m;
}

// y = relu(x + bias), x: [N,3]
inline ir::Model add_relu_model() {
  ir::Graph g;
  g.inputs.push_back(value("x", DType::kFloat32, {{-1, "N"}, {3, ""}}));
  g.outputs.push_back(value("y", DType::kFloat32, {{-1, "N"}, {3, ""}}));
  g.initializers["bias"] = Tensor::from_vector<float>({3}, {1.0f, -2.0f, 0.5f});
  g.nodes.push_back(node("Add", {"x", "bias"}, {"s"}));
  g.nodes.push_back(node("Relu", {"s"}, {"y"}));
  return model_of(std::move(g));
}

}  // namespace tinyq::runtime_test
