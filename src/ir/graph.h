// tinyq's graph IR: a Model holds one Graph of Nodes that refer to values by name.
// The ONNX edge (src/onnx/) converts to and from this; nothing else sees protobuf.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tinyq/status.h"
#include "tinyq/tensor.h"

namespace tinyq::ir {

// One dimension of a declared shape: a fixed size, or a symbol such as "batch" (value < 0).
struct Dim {
  int64_t value = -1;
  std::string symbol;  // empty when the dimension is fixed or unnamed
  bool is_fixed() const { return value >= 0; }
  bool operator==(const Dim&) const = default;
};

// A declared graph input, output or value_info entry.
struct ValueInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  bool has_shape = false;  // false: rank unknown
  std::vector<Dim> dims;
};

struct Attribute {
  enum class Kind { kFloat, kInt, kString, kTensor, kFloats, kInts, kStrings, kGraph, kOther };
  Kind kind = Kind::kOther;
  float f = 0.0f;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" or "ai.onnx" is the default domain
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;  // "" marks an omitted optional output
  std::map<std::string, Attribute> attributes;

  const Attribute* attr(const std::string& key) const {
    auto it = attributes.find(key);
    return it == attributes.end() ? nullptr : &it->second;
  }
  // "Conv 'conv_3'" (or "Conv #3" when unnamed), for error messages.
  std::string describe() const;
  int index = -1;  // position in Graph::nodes, kept current by the loader

  // An output clamp fused in by passes/fuse_activation (Relu, Clip): the node's output is
  // min(max(y, clamp_min), clamp_max). Only kernels that accept it see a non-trivial clamp.
  float clamp_min = -std::numeric_limits<float>::infinity();
  float clamp_max = std::numeric_limits<float>::infinity();
  bool has_clamp() const {
    return clamp_min != -std::numeric_limits<float>::infinity() || clamp_max != std::numeric_limits<float>::infinity();
  }
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;  // topologically sorted
  std::vector<ValueInfo> inputs;   // excludes initializers
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_info;
  std::map<std::string, Tensor> initializers;  // Constant nodes stay nodes; the planner folds them
  std::string doc_string;

  const ValueInfo* find_input(const std::string& name) const;
  const ValueInfo* find_output(const std::string& name) const;
  bool is_initializer(const std::string& name) const { return initializers.count(name) != 0; }
};

struct Model {
  Graph graph;
  int64_t ir_version = 8;
  std::map<std::string, int64_t> opset_imports;  // domain ("" = default) -> version
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  std::vector<std::pair<std::string, std::string>> metadata;

  // The default-domain opset the model declares (onnx's "" or "ai.onnx").
  int64_t opset() const;
};

// Sorts nodes topologically (stable where possible) and renumbers Node::index.
// Fails, naming a node, on a cycle or an input that nothing produces.
Status topo_sort(Graph& g);

}  // namespace tinyq::ir
