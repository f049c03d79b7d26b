// The trainable model of QAT: the fp32 ONNX graph in libtorch with fake quantisation exactly at
// the plan's Q/DQ sites (activations as each quantised node reads them, weights per channel),
// the quantised nodes' weights and biases as parameters, and Adam as the optimiser. This header
// keeps libtorch out of its users: tensors cross it as tinyq Tensors.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/plan.h"
#include "tinyq/status.h"
#include "tinyq/tensor.h"

namespace tinyq::qat {

struct ModelConfig {
  // Initial activation parameters, one per plan activation (static calibration's).
  std::map<std::string, quant::ActivationParams> activations;
  // Weight scales, one list per plan weight (per channel along its axis, or one element).
  std::map<std::string, std::vector<float>> weight_scales;
  bool learn_scales = false;     // LSQ: weight and activation scales are parameters too
  double learning_rate = 1e-3;   // Adam's, for weights, biases and (log) scales
  uint64_t seed = 0;             // torch's generator (nothing QAT does draws from it today)
};

// What training produced, in the terms write_qdq takes.
struct TrainedState {
  std::map<std::string, Tensor> initializers;               // trained weights and biases
  std::map<std::string, std::vector<float>> weight_scales;  // every plan weight's (fixed or learned)
  std::map<std::string, quant::ActivationParams> activations;
};

class QatModel {
 public:
  // Builds the graph with fake quantisation at every site of `plan`. Errors name the node that
  // libtorch cannot express, or the plan site that is not in the graph.
  static Result<QatModel> create(const ir::Model& model, const quant::QuantPlan& plan, const ModelConfig& config);
  // The plain fp32 graph (nothing trainable, nothing quantised): for checking the translation.
  static Result<QatModel> create_fp32(const ir::Model& model);
  QatModel(QatModel&&) noexcept;
  QatModel& operator=(QatModel&&) noexcept;
  ~QatModel();

  const std::vector<std::string>& input_names() const;
  const std::vector<std::string>& output_names() const;
  int64_t parameter_count() const;  // trainable scalars

  // A forward pass without gradients, with fake quantisation on (the int8 model as trained) or
  // off (the fp32 model with the current weights). Inputs in graph-input order.
  Result<std::vector<Tensor>> predict(std::span<const Tensor> inputs, bool quantized) const;

  // One Adam step on the mean over outputs of the mean squared error against `targets` (one per
  // output, shaped like it). Returns the batch loss; a loss that is NaN or infinite is an error
  // and no step is taken.
  Result<double> train_step(std::span<const Tensor> inputs, std::span<const Tensor> targets);

  // Adam's learning rate from the next step on (the trainer's schedule).
  void set_learning_rate(double lr);

  TrainedState state() const;

  struct Impl;

 private:
  explicit QatModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// libtorch runs on the calling thread only, with deterministic algorithms, so a seed decides
// everything. Called by create(); idempotent.
void make_torch_deterministic();

}  // namespace tinyq::qat
