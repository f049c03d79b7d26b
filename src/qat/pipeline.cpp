#include "qat/pipeline.h"

#include <cmath>
#include <memory>

#include "qat/export.h"
#include "qat/qat_model.h"
#include "qat/trainer.h"
#include "quant/quantize.h"
#include "quant/weights.h"
#include "tinyq/gate.h"
#include "tinyq/session.h"

namespace tinyq::qat {

namespace {

// The public enums mirror the internal ones value for value (as quantize_files.cpp relies on).
static_assert(static_cast<int>(CalibrationMethod::kMse) == static_cast<int>(quant::CalibrationMethod::kMse));

Status check_options(const QatOptions& o) {
  if (o.train.empty()) return Status::invalid_argument("QAT needs a training set (.npz)");
  if (o.epochs < 0) return Status::invalid_argument("epochs must be >= 0, not " + std::to_string(o.epochs));
  if (o.batch < 1) return Status::invalid_argument("batch must be >= 1, not " + std::to_string(o.batch));
  if (!(o.learning_rate > 0.0) || !std::isfinite(o.learning_rate))
    return Status::invalid_argument("learning rate " + std::to_string(o.learning_rate) + " is not finite and > 0");
  if (!(o.percentile > 0.0 && o.percentile <= 100.0))
    return Status::invalid_argument("percentile " + std::to_string(o.percentile) + " is not in (0, 100]");
  return Status::ok();
}

quant::PlacementOptions to_placement(const QuantizePlacement& p) {
  quant::PlacementOptions o;
  o.per_channel = p.per_channel;
  o.op_types = p.op_types;
  o.include_nodes = p.include_nodes;
  o.exclude_nodes = p.exclude_nodes;
  o.exclude_op_types = p.exclude_op_types;
  return o;
}

// The activation parameters static PTQ would write (quant::quantize_calibrated's rule, with
// its defaults for input ranges and margins).
Result<std::map<std::string, quant::ActivationParams>> static_activation_params(const ir::Model& fp32,
                                                                                const quant::Calibrated& cal,
                                                                                const QatOptions& o) {
  quant::StaticOptions so;
  so.activations =
      o.activations == ActivationFormat::kS8 ? quant::ActivationType::kS8Symmetric : quant::ActivationType::kU8Asymmetric;
  so.range.method = static_cast<quant::CalibrationMethod>(o.method);
  so.range.percentile = o.percentile;
  so.range.symmetric = so.activations == quant::ActivationType::kS8Symmetric;
  quant::RangeOptions exact = so.range;
  exact.method = quant::CalibrationMethod::kMinMax;
  std::map<std::string, quant::ActivationParams> params;
  for (const auto& t : cal.plan.activations) {
    const bool keep_exact = so.exact_input_ranges && fp32.graph.find_input(t) != nullptr;
    TINYQ_ASSIGN_OR_RETURN(quant::Range r, cal.observations.range(t, keep_exact ? exact : so.range));
    r = quant::widen_range(fp32.graph, t, r, so.range_margin, so.exact_input_ranges);
    params[t] = quant::activation_params(r, so.activations);
  }
  return params;
}

// Where training starts: static PTQ's weights, each plan weight rounded as tinyq quantize static
// rounds it (its default rounding, with its scales max|w| / 127) and dequantised back to float,
// together with those scales. Fake quantisation of these weights returns them unchanged, so
// epoch 0 is static PTQ exactly.
struct StaticStart {
  ir::Model model;
  std::map<std::string, std::vector<float>> weight_scales;
};

Result<StaticStart> static_start(const ir::Model& fp32, const quant::QuantPlan& plan) {
  const quant::QdqParams::Rounding rounding = quant::StaticOptions{}.rounding;
  StaticStart start{fp32, {}};
  for (const auto& site : plan.nodes)
    for (const auto& w : site.weights) {
      if (start.weight_scales.count(w.initializer)) continue;
      const Tensor& value = fp32.graph.initializers.at(w.initializer);
      std::vector<float> scales = quant::max_abs_scales(value, w.axis);
      auto q = rounding == quant::QdqParams::Rounding::kSumPreserving && w.group_begin >= 0
                   ? quant::round_weights_sum_preserving(value, w.axis, scales, w.group_begin, w.group_end)
                   : quant::round_weights(value, w.axis, scales);
      if (!q.is_ok()) return q.status().with_context("weight '" + w.initializer + "'");
      const quant::ChannelLayout l = quant::channel_layout(value.shape(), w.axis);
      Tensor dequantized(DType::kFloat32, value.shape());
      for (int64_t o = 0; o < l.outer; ++o)
        for (int64_t c = 0; c < l.channels; ++c)
          for (int64_t i = 0; i < l.inner; ++i) {
            const int64_t k = l.index(o, c, i);
            dequantized.data<float>()[k] = static_cast<float>(q->data<int8_t>()[k]) * scales[scales.size() == 1 ? 0 : c];
          }
      start.model.graph.initializers[w.initializer] = dequantized;
      start.weight_scales[w.initializer] = std::move(scales);
    }
  return start;
}

// The exported file run node by node as ONNX defines Q/DQ (graph passes off): the drop QAT
// reports does not depend on which fused int8 kernels the machine picks.
SessionOptions onnx_semantics() {
  SessionOptions so;
  so.graph_passes = false;
  return so;
}

Result<FixtureSet> read_set(const std::string& path, const Session& fp32, const char* what) {
  auto set = load_fixtures(path, fp32);
  if (!set.is_ok()) return set.status().with_context(what);
  return set;
}

}  // namespace

Result<QatRun> run_qat(const ir::Model& fp32, const std::string& name, const QatOptions& options) {
  TINYQ_RETURN_IF_ERROR(check_options(options));
  TINYQ_ASSIGN_OR_RETURN(std::unique_ptr<Session> reference, Session::from_ir(fp32, name));
  // The training set is checked first, so a set without the model's inputs says so plainly.
  TINYQ_ASSIGN_OR_RETURN(FixtureSet train, read_set(options.train, *reference, "training set"));
  FixtureSet validation;
  if (!options.validation.empty()) {
    TINYQ_ASSIGN_OR_RETURN(validation, read_set(options.validation, *reference, "validation set"));
  }
  const FixtureSet& measured = options.validation.empty() ? train : validation;

  TINYQ_ASSIGN_OR_RETURN(quant::Calibrated cal, quant::calibrate(fp32, to_placement(options.placement), options.train, {}));
  TINYQ_ASSIGN_OR_RETURN(StaticStart start, static_start(fp32, cal.plan));
  ModelConfig config;
  TINYQ_ASSIGN_OR_RETURN(config.activations, static_activation_params(fp32, cal, options));
  config.weight_scales = start.weight_scales;
  config.learn_scales = options.learn_scales;
  config.learning_rate = options.learning_rate;
  config.seed = options.seed;
  TINYQ_ASSIGN_OR_RETURN(QatModel model, QatModel::create(start.model, cal.plan, config));
  // Distillation targets come from the original fp32 weights, not the static starting point.
  TINYQ_ASSIGN_OR_RETURN(QatModel teacher, QatModel::create_fp32(fp32));
  TINYQ_ASSIGN_OR_RETURN(TrainingData data,
                         load_training_data(train, teacher, options.labels, options.distill, options.batch));

  QatRun run;
  run.plan = cal.plan;
  run.target = data.target;
  run.train_rows = data.rows;
  run.parameters = model.parameter_count();
  TrainLoopOptions loop;
  loop.epochs = options.epochs;
  loop.learning_rate = options.learning_rate;
  loop.batch = options.batch;
  loop.seed = options.seed;
  loop.on_epoch = options.on_epoch;
  loop.measured_on_validation = !options.validation.empty();
  double best_drop = 0.0;
  loop.measure = [&](int epoch) -> Result<double> {
    TINYQ_ASSIGN_OR_RETURN(ir::Model int8, export_qdq(fp32, cal.plan, model.state()));
    TINYQ_ASSIGN_OR_RETURN(std::unique_ptr<Session> session,
                           Session::from_ir(int8, name + " (QAT epoch " + std::to_string(epoch) + ")", onnx_semantics()));
    TINYQ_ASSIGN_OR_RETURN(double drop, plcc_drop(*reference, *session, measured));
    // A NaN drop never counts as better.
    if (epoch == 0 || !options.keep_best || drop < best_drop) {
      best_drop = drop;
      run.int8 = std::move(int8);
      run.exported_epoch = epoch;
    }
    return drop;
  };
  TINYQ_ASSIGN_OR_RETURN(run.epochs, train_epochs(model, data, loop));
  return run;
}

}  // namespace tinyq::qat
