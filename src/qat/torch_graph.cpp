#include "qat/torch_graph.h"

#include <cstring>
#include <exception>

#include "qat/onnx_ops.h"

namespace tinyq::qat {

namespace {

Result<torch::ScalarType> scalar_type(DType t) {
  switch (t) {
    case DType::kFloat32: return torch::kFloat;
    case DType::kFloat64: return torch::kDouble;
    case DType::kInt64: return torch::kLong;
    case DType::kInt32: return torch::kInt;
    case DType::kInt16: return torch::kShort;
    case DType::kInt8: return torch::kChar;
    case DType::kUInt8: return torch::kByte;
    case DType::kBool: return torch::kBool;
    default: return Status::unsupported(std::string("dtype ") + dtype_name(t) + " has no libtorch equivalent in QAT");
  }
}

Result<DType> tinyq_type(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat: return DType::kFloat32;
    case torch::kDouble: return DType::kFloat64;
    case torch::kLong: return DType::kInt64;
    case torch::kInt: return DType::kInt32;
    case torch::kShort: return DType::kInt16;
    case torch::kChar: return DType::kInt8;
    case torch::kByte: return DType::kUInt8;
    case torch::kBool: return DType::kBool;
    default: return Status::unsupported(std::string("libtorch dtype ") + c10::toString(t) + " has no tinyq equivalent");
  }
}

// What libtorch says went wrong, without its C++ backtrace.
std::string error_text(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

}  // namespace

Result<torch::Tensor> to_torch(const Tensor& t) {
  TINYQ_ASSIGN_OR_RETURN(torch::ScalarType type, scalar_type(t.dtype()));
  torch::Tensor out = torch::empty(std::vector<int64_t>(t.shape().begin(), t.shape().end()), torch::dtype(type));
  if (t.nbytes() > 0) std::memcpy(out.data_ptr(), t.raw(), t.nbytes());
  return out;
}

Result<Tensor> from_torch(const torch::Tensor& t) {
  TINYQ_ASSIGN_OR_RETURN(DType type, tinyq_type(t.scalar_type()));
  torch::Tensor c = t.detach().contiguous();
  Tensor out(type, Shape(c.sizes().begin(), c.sizes().end()));
  if (out.nbytes() > 0) std::memcpy(out.raw(), c.data_ptr(), out.nbytes());
  return out;
}

Result<TorchGraph> TorchGraph::build(const ir::Model& model, const std::set<std::string>& trainable) {
  const ir::Graph& g = model.graph;
  TorchGraph tg;
  std::map<std::string, int> slot_of;
  auto slot = [&](const std::string& name) {
    auto [it, added] = slot_of.emplace(name, static_cast<int>(tg.initial_slots_.size()));
    if (added) tg.initial_slots_.emplace_back();
    return it->second;
  };
  for (const auto& [name, value] : g.initializers) {
    TINYQ_ASSIGN_OR_RETURN(torch::Tensor t, to_torch(value));
    if (trainable.count(name)) {
      if (value.dtype() != DType::kFloat32)
        return Status::invalid_argument("initializer '" + name + "' is " + dtype_name(value.dtype()) + "; only float32 can be trained");
      t.set_requires_grad(true);
      tg.parameters_[name] = t;
    }
    tg.initial_slots_[static_cast<size_t>(slot(name))] = t;
  }
  for (const std::string& name : trainable)
    if (!g.is_initializer(name)) return Status::not_found("no initializer '" + name + "' to train");
  for (const auto& in : g.inputs) {
    if (g.is_initializer(in.name)) continue;  // a default value: the initializer stands
    tg.input_names_.push_back(in.name);
    tg.input_slots_.push_back(slot(in.name));
  }
  const int64_t opset = model.opset();
  for (const auto& node : g.nodes) {
    TINYQ_ASSIGN_OR_RETURN(OpFn fn, make_op(node, opset));
    Step step{node.describe(), std::move(fn), {}, {}, {}};
    for (const auto& in : node.inputs) {
      if (!in.empty() && !slot_of.count(in))
        return Status::corrupt(node.describe() + ": input '" + in + "' is produced by no earlier node, input or initializer");
      step.inputs.push_back(in.empty() ? -1 : slot(in));
    }
    step.transforms.resize(step.inputs.size());
    for (const auto& out : node.outputs) step.outputs.push_back(out.empty() ? -1 : slot(out));
    tg.step_of_node_[node.name.empty() ? node.describe() : node.name] = static_cast<int>(tg.steps_.size());
    tg.steps_.push_back(std::move(step));
  }
  for (const auto& out : g.outputs) {
    if (!slot_of.count(out.name)) return Status::corrupt("graph output '" + out.name + "' is produced by nothing");
    tg.output_names_.push_back(out.name);
    tg.output_slots_.push_back(slot_of.at(out.name));
  }
  return tg;
}

Result<std::vector<torch::Tensor>> TorchGraph::forward(const std::vector<torch::Tensor>& inputs) const {
  if (inputs.size() != input_slots_.size())
    return Status::invalid_argument("the model takes " + std::to_string(input_slots_.size()) + " inputs, got " +
                                    std::to_string(inputs.size()));
  std::vector<torch::Tensor> slots = initial_slots_;
  for (size_t i = 0; i < inputs.size(); ++i) slots[static_cast<size_t>(input_slots_[i])] = inputs[i];
  std::vector<torch::Tensor> args;
  for (const Step& step : steps_) {
    std::vector<torch::Tensor> outs;
    try {  // libtorch reports shape errors (and transforms their own) by throwing
      args.clear();
      for (size_t i = 0; i < step.inputs.size(); ++i) {
        if (step.inputs[i] < 0) {
          args.emplace_back();
          continue;
        }
        const torch::Tensor& v = slots[static_cast<size_t>(step.inputs[i])];
        args.push_back(step.transforms[i] ? step.transforms[i](v) : v);
      }
      outs = step.fn(args);
    } catch (const std::exception& e) {
      return Status::invalid_argument(step.what + ": " + error_text(e));
    }
    for (size_t o = 0; o < step.outputs.size() && o < outs.size(); ++o)
      if (step.outputs[o] >= 0) slots[static_cast<size_t>(step.outputs[o])] = std::move(outs[o]);
  }
  std::vector<torch::Tensor> out;
  for (int s : output_slots_) out.push_back(slots[static_cast<size_t>(s)]);
  return out;
}

Status TorchGraph::set_transform(const std::string& node, int input, InputTransform transform) {
  auto it = step_of_node_.find(node);
  if (it == step_of_node_.end()) return Status::not_found("no node named '" + node + "' in the QAT graph");
  Step& step = steps_[static_cast<size_t>(it->second)];
  if (input < 0 || static_cast<size_t>(input) >= step.inputs.size() || step.inputs[static_cast<size_t>(input)] < 0)
    return Status::not_found(step.what + " has no input " + std::to_string(input));
  step.transforms[static_cast<size_t>(input)] = std::move(transform);
  return Status::ok();
}

}  // namespace tinyq::qat
