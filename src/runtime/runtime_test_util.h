// Graph builders shared by the runtime tests (session_test.cpp, limits_test.cpp).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace tinyq::runtime_test {

inline ir::ValueInfo value(const std::string& name, DType dtype, std::vector<ir::Dim> dims) {
  ir::ValueInfo v;
  v.name = name;
  v.dtype = dtype;
  v.has_shape = true;
  v.dims = std::move(dims);
  return v;
}

// A node named "<op>_<first output>".
inline ir::Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  ir::Node n;
  n.op_type = op;
  n.name = op + "_" + out[0];
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

}  // namespace tinyq::runtime_test
