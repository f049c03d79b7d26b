// Small builders for graphs made by hand: the tests' models, the benchmarks' stand-ins, the
// generators in tools/, and the attributes the passes and the QDQ writer add. Each returns a plain IR value, so a caller still sets any field a builder
// leaves alone (Node::domain, a fused clamp, ...). Header-only; nothing here checks the graph
// (topo_sort does that).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace tinyq::ir {

// Fixed dimensions, one Dim a size and none named: fixed_dims({1, 3}) is [1, 3].
inline std::vector<Dim> fixed_dims(const std::vector<int64_t>& sizes) {
  std::vector<Dim> dims;
  dims.reserve(sizes.size());
  for (int64_t d : sizes) dims.push_back(Dim{d, ""});
  return dims;
}

// A value of `dtype` with a declared shape (an empty `dims` is a scalar, not an unknown rank).
inline ValueInfo make_value(const std::string& name, DType dtype, std::vector<Dim> dims) {
  ValueInfo v;
  v.name = name;
  v.dtype = dtype;
  v.has_shape = true;
  v.dims = std::move(dims);
  return v;
}

// A value of `dtype` with no declared shape (rank unknown).
inline ValueInfo make_unshaped_value(const std::string& name, DType dtype) {
  ValueInfo v;
  v.name = name;
  v.dtype = dtype;
  return v;
}

inline Attribute int_attr(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::kInt;
  a.i = v;
  return a;
}

inline Attribute float_attr(float v) {
  Attribute a;
  a.kind = Attribute::Kind::kFloat;
  a.f = v;
  return a;
}

inline Attribute ints_attr(std::vector<int64_t> v) {
  Attribute a;
  a.kind = Attribute::Kind::kInts;
  a.ints = std::move(v);
  return a;
}

inline Attribute floats_attr(std::vector<float> v) {
  Attribute a;
  a.kind = Attribute::Kind::kFloats;
  a.floats = std::move(v);
  return a;
}

inline Attribute string_attr(std::string v) {
  Attribute a;
  a.kind = Attribute::Kind::kString;
  a.s = std::move(v);
  return a;
}

// A default-domain node; Node::index stays -1 until topo_sort or number_nodes sets it.
inline Node make_node(const std::string& name, const std::string& op_type, std::vector<std::string> inputs,
                      std::vector<std::string> outputs, std::map<std::string, Attribute> attributes = {}) {
  Node n;
  n.name = name;
  n.op_type = op_type;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attributes = std::move(attributes);
  return n;
}

// A model of `graph` importing the default-domain `opset`; every other field keeps Model's default.
inline Model make_model(Graph graph, int64_t opset = 17) {
  Model m;
  m.graph = std::move(graph);
  m.opset_imports[""] = opset;
  return m;
}

// Sets Node::index to each node's position, for a graph built in topological order.
inline void number_nodes(Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) g.nodes[i].index = static_cast<int>(i);
}

}  // namespace tinyq::ir
