#include "qat/qat_model.h"

#include <ATen/Parallel.h>
#include <torch/optim/adam.h>
#include <torch/types.h>

#include <cmath>
#include <set>

#include "qat/fake_quant.h"
#include "qat/torch_graph.h"

namespace tinyq::qat {

namespace {

// Biases of quantised nodes are trained with their weights (they stay fp32 in the file).
bool is_bias_input(const std::string& op_type, size_t input) {
  return input == 2 && (op_type == "Conv" || op_type == "ConvTranspose" || op_type == "Gemm");
}

// The weights and biases of the plan's nodes: what QAT trains.
Result<std::set<std::string>> trainable_initializers(const ir::Graph& g, const quant::QuantPlan& plan) {
  std::map<std::string, const ir::Node*> by_site;
  for (const auto& n : g.nodes) by_site[quant::site_name(n)] = &n;
  std::set<std::string> names;
  for (const auto& site : plan.nodes) {
    auto it = by_site.find(site.node);
    if (it == by_site.end()) return Status::invalid_argument("plan node '" + site.node + "' is not in the graph");
    for (const auto& w : site.weights) names.insert(w.initializer);
    const ir::Node& n = *it->second;
    for (size_t i = 0; i < n.inputs.size(); ++i)
      if (is_bias_input(n.op_type, i) && g.is_initializer(n.inputs[i]) &&
          g.initializers.at(n.inputs[i]).dtype() == DType::kFloat32)
        names.insert(n.inputs[i]);
  }
  return names;
}

}  // namespace

struct QatModel::Impl {
  TorchGraph graph;
  std::shared_ptr<FakeQuantSwitch> fake_quant = std::make_shared<FakeQuantSwitch>();
  std::map<std::string, std::shared_ptr<ActivationFakeQuant>> activations;  // by tensor
  std::map<std::string, std::shared_ptr<WeightFakeQuant>> weights;          // by initializer
  std::vector<torch::Tensor> trained;                                       // every optimised tensor
  std::unique_ptr<torch::optim::Adam> adam;

  std::vector<torch::Tensor> to_torch_all(std::span<const Tensor> ts, Status* st) const {
    std::vector<torch::Tensor> out;
    for (const Tensor& t : ts) {
      auto r = to_torch(t);
      if (!r.is_ok()) {
        *st = r.status();
        return {};
      }
      out.push_back(std::move(r).value());
    }
    return out;
  }

  Status attach(const ir::Model& model, const quant::QuantPlan& plan, const ModelConfig& config) {
    std::map<std::string, const ir::Node*> by_site;
    for (const auto& n : model.graph.nodes) by_site[quant::site_name(n)] = &n;
    for (const auto& site : plan.nodes) {
      const ir::Node& node = *by_site.at(site.node);
      for (const auto& a : site.activations) {
        auto it = config.activations.find(a);
        if (it == config.activations.end()) return Status::invalid_argument("no initial quantisation parameters for activation '" + a + "'");
        auto& fq = activations[a];
        if (!fq) fq = std::make_shared<ActivationFakeQuant>(it->second, config.learn_scales, fake_quant);
        for (size_t i = 0; i < node.inputs.size(); ++i)
          if (node.inputs[i] == a)
            TINYQ_RETURN_IF_ERROR(graph.set_transform(site.node, static_cast<int>(i), [fq](const torch::Tensor& x) { return (*fq)(x); }));
      }
      for (const auto& w : site.weights) {
        auto scales = config.weight_scales.find(w.initializer);
        if (scales == config.weight_scales.end()) return Status::invalid_argument("no initial scales for weight '" + w.initializer + "'");
        const torch::Tensor& value = graph.parameters().at(w.initializer);
        const int64_t channels = w.axis < 0 ? 1 : value.size(w.axis);
        if (static_cast<int64_t>(scales->second.size()) != channels)
          return Status::invalid_argument("weight '" + w.initializer + "': " + std::to_string(scales->second.size()) + " scales for " +
                                          std::to_string(channels) + " channels");
        auto& fq = weights[w.initializer];
        if (!fq) {
          fq = std::make_shared<WeightFakeQuant>(scales->second, w.axis, config.learn_scales, fake_quant);
        } else if (fq->axis() != w.axis) {
          // The file stores one int8 copy per axis, but QAT trains one scale set per weight.
          return Status::unsupported("weight '" + w.initializer + "' is quantised along two axes; QAT needs one");
        }
        TINYQ_RETURN_IF_ERROR(graph.set_transform(site.node, w.input, [fq](const torch::Tensor& x) { return (*fq)(x); }));
      }
    }
    for (const auto& [name, p] : graph.parameters()) trained.push_back(p);
    for (const auto& [name, fq] : activations)
      for (const auto& p : fq->parameters()) trained.push_back(p);
    for (const auto& [name, fq] : weights)
      for (const auto& p : fq->parameters()) trained.push_back(p);
    adam = std::make_unique<torch::optim::Adam>(trained, torch::optim::AdamOptions(config.learning_rate));
    return Status::ok();
  }
};

void make_torch_deterministic() {
  at::set_num_threads(1);
  at::globalContext().setDeterministicAlgorithms(true, false);
}

QatModel::QatModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QatModel::QatModel(QatModel&&) noexcept = default;
QatModel& QatModel::operator=(QatModel&&) noexcept = default;
QatModel::~QatModel() = default;

Result<QatModel> QatModel::create(const ir::Model& model, const quant::QuantPlan& plan, const ModelConfig& config) {
  make_torch_deterministic();
  torch::manual_seed(config.seed);
  if (!(config.learning_rate > 0.0) || !std::isfinite(config.learning_rate))
    return Status::invalid_argument("learning rate " + std::to_string(config.learning_rate) + " is not finite and > 0");
  TINYQ_ASSIGN_OR_RETURN(std::set<std::string> trainable, trainable_initializers(model.graph, plan));
  auto impl = std::make_unique<Impl>();
  TINYQ_ASSIGN_OR_RETURN(impl->graph, TorchGraph::build(model, trainable));
  TINYQ_RETURN_IF_ERROR(impl->attach(model, plan, config));
  return QatModel(std::move(impl));
}

Result<QatModel> QatModel::create_fp32(const ir::Model& model) {
  make_torch_deterministic();
  auto impl = std::make_unique<Impl>();
  TINYQ_ASSIGN_OR_RETURN(impl->graph, TorchGraph::build(model, {}));
  return QatModel(std::move(impl));
}

const std::vector<std::string>& QatModel::input_names() const { return impl_->graph.input_names(); }
const std::vector<std::string>& QatModel::output_names() const { return impl_->graph.output_names(); }

int64_t QatModel::parameter_count() const {
  int64_t n = 0;
  for (const auto& t : impl_->trained) n += t.numel();
  return n;
}

Result<std::vector<Tensor>> QatModel::predict(std::span<const Tensor> inputs, bool quantized) const {
  Status st;
  std::vector<torch::Tensor> in = impl_->to_torch_all(inputs, &st);
  TINYQ_RETURN_IF_ERROR(st);
  torch::NoGradGuard no_grad;
  impl_->fake_quant->enabled = quantized;
  auto out = impl_->graph.forward(in);
  impl_->fake_quant->enabled = true;
  if (!out.is_ok()) return out.status();
  std::vector<Tensor> result;
  for (const auto& t : *out) {
    TINYQ_ASSIGN_OR_RETURN(Tensor v, from_torch(t));
    result.push_back(std::move(v));
  }
  return result;
}

Result<double> QatModel::train_step(std::span<const Tensor> inputs, std::span<const Tensor> targets) {
  if (!impl_->adam) return Status::internal("train_step on a model with nothing to train");
  Status st;
  std::vector<torch::Tensor> in = impl_->to_torch_all(inputs, &st);
  std::vector<torch::Tensor> want = impl_->to_torch_all(targets, &st);
  TINYQ_RETURN_IF_ERROR(st);
  TINYQ_ASSIGN_OR_RETURN(std::vector<torch::Tensor> out, impl_->graph.forward(in));
  if (want.size() != out.size())
    return Status::invalid_argument(std::to_string(want.size()) + " targets for " + std::to_string(out.size()) + " outputs");
  torch::Tensor loss = torch::zeros({});
  for (size_t o = 0; o < out.size(); ++o) {
    if (want[o].numel() != out[o].numel())
      return Status::invalid_argument("target for output '" + output_names()[o] + "' has " + std::to_string(want[o].numel()) +
                                      " values, the output " + std::to_string(out[o].numel()));
    loss = loss + torch::mse_loss(out[o].to(torch::kFloat), want[o].to(torch::kFloat).reshape(out[o].sizes()));
  }
  loss = loss / static_cast<double>(out.size());
  const double value = loss.item<double>();
  if (!std::isfinite(value)) return Status::invalid_argument("the training loss is " + std::to_string(value));
  impl_->adam->zero_grad();
  loss.backward();
  impl_->adam->step();
  return value;
}

void QatModel::set_learning_rate(double lr) {
  if (!impl_->adam) return;
  for (auto& group : impl_->adam->param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

TrainedState QatModel::state() const {
  TrainedState s;
  for (const auto& [name, p] : impl_->graph.parameters()) s.initializers[name] = from_torch(p).value();
  for (const auto& [name, fq] : impl_->weights) s.weight_scales[name] = fq->scales();
  for (const auto& [name, fq] : impl_->activations) s.activations[name] = fq->params();
  return s;
}

}  // namespace tinyq::qat
