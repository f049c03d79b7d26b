// An ONNX graph (tinyq's IR) as an eager libtorch program, so it can be trained: the chosen
// initializers become parameters, and a transform (QAT's fake quantisation) can be attached to
// any node input. Internal to the tinyq_qat target; only its .cpp files include libtorch.
#pragma once

#include <torch/types.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "tinyq/status.h"
#include "tinyq/tensor.h"

namespace tinyq::qat {

// A transform applied to a value as one node reads it.
using InputTransform = std::function<torch::Tensor(const torch::Tensor&)>;

class TorchGraph {
 public:
  // Converts every node (errors name the first node libtorch cannot express). Float32
  // initializers named in `trainable` become parameters (requires_grad); all others constants.
  static Result<TorchGraph> build(const ir::Model& model, const std::set<std::string>& trainable);

  // Runs the graph: inputs in graph-input order, outputs in graph-output order. A failure inside
  // libtorch (a shape that does not fit) comes back as a Status naming the node.
  Result<std::vector<torch::Tensor>> forward(const std::vector<torch::Tensor>& inputs) const;

  // Attaches `transform` to input `input` of node `node` (its name, or Node::describe() when it
  // has none, as quant::site_name names it); kNotFound if there is none.
  Status set_transform(const std::string& node, int input, InputTransform transform);

  // The parameters, by initializer name.
  const std::map<std::string, torch::Tensor>& parameters() const { return parameters_; }
  const std::vector<std::string>& input_names() const { return input_names_; }
  const std::vector<std::string>& output_names() const { return output_names_; }

  using OpFn = std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>&)>;

 private:
  struct Step {
    std::string what;  // node description for errors
    OpFn fn;
    std::vector<int> inputs;  // value slots; -1 = omitted optional input
    std::vector<int> outputs;
    std::vector<InputTransform> transforms;  // per input; empty function = none
  };
  std::vector<Step> steps_;
  std::map<std::string, int> step_of_node_;
  std::vector<torch::Tensor> initial_slots_;  // parameters and constants pre-filled
  std::vector<int> input_slots_, output_slots_;
  std::vector<std::string> input_names_, output_names_;
  std::map<std::string, torch::Tensor> parameters_;
};

// tinyq tensor <-> torch tensor (deep copies). kUnsupported for dtypes libtorch lacks.
Result<torch::Tensor> to_torch(const Tensor& t);
Result<Tensor> from_torch(const torch::Tensor& t);

}  // namespace tinyq::qat
