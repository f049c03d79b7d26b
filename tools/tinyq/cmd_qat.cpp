// tinyq qat: quantisation-aware training from the fp32 ONNX file (include/tinyq/qat.h). Each
// epoch's loss and validation drop go to stderr; the file written to stdout. A build without
// TINYQ_WITH_QAT (no libtorch) keeps the command and says so.
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#ifdef TINYQ_WITH_QAT
#include "tinyq/qat.h"
#endif

namespace tinyq::cli {

namespace {

struct QatCmdOptions {
  std::string model;
  std::string registry, id;
  std::string output;
  std::string train, labels, validation;
  bool distill = false;
  int epochs = 10;
  double learning_rate = 1e-4;
  int64_t batch = 32;
  uint64_t seed = 0;
  bool learn_scales = false;
  bool keep_last = false;
  std::string method = "minmax";
  double percentile = 99.999;
  std::string activations = "u8";
  bool per_tensor = false;
  std::vector<std::string> exclude_nodes;
};

#ifdef TINYQ_WITH_QAT

void print_epoch(const QatEpoch& e, int epochs) {
  const char* set = e.on_validation ? "validation" : "training-set";
  if (e.epoch == 0) {
    std::fprintf(stderr, "epoch 0/%d (static PTQ start)  %s drop %.6g\n", epochs, set, e.drop);
    return;
  }
  std::fprintf(stderr, "epoch %d/%d  loss %.6g  rows %lld  %s drop %.6g\n", e.epoch, epochs, e.loss,
               static_cast<long long>(e.rows), set, e.drop);
}

int do_qat(const QatCmdOptions& o) {
  if (o.registry.empty() == o.model.empty())
    return fail(Status::invalid_argument("give either MODEL.onnx or --registry R --model ID"));
  if (!o.registry.empty() && o.id.empty()) return fail(Status::invalid_argument("--registry needs --model ID"));
  if (!o.registry.empty() && !o.output.empty())
    return fail(Status::invalid_argument("-o does not apply to --registry: the file goes beside the fp32 model"));
  if (o.registry.empty() && o.train.empty()) return fail(Status::invalid_argument("--train TRAIN.npz is required"));
  QatOptions q;
  q.train = o.train;
  q.labels = o.labels;
  q.distill = o.distill;
  q.validation = o.validation;
  q.epochs = o.epochs;
  q.learning_rate = o.learning_rate;
  q.batch = o.batch;
  q.seed = o.seed;
  q.learn_scales = o.learn_scales;
  q.keep_best = !o.keep_last;
  q.percentile = o.percentile;
  auto method = parse_calibration_method(o.method);
  if (!method.is_ok()) return fail(method.status());
  q.method = *method;
  auto act = parse_activation_format(o.activations);
  if (!act.is_ok()) return fail(act.status());
  q.activations = *act;
  q.placement.per_channel = !o.per_tensor;
  q.placement.exclude_nodes = o.exclude_nodes;
  const int epochs = o.epochs;
  q.on_epoch = [epochs](const QatEpoch& e) { print_epoch(e, epochs); };
  auto r = o.registry.empty() ? quantize_qat(o.model, o.output, q) : quantize_registered_qat(o.registry, o.id, q);
  if (!r.is_ok()) return fail(r.status());
  const QatEpoch& first = r->epochs.front();
  const QatEpoch& kept = r->epochs[static_cast<size_t>(r->exported_epoch)];
  std::printf("wrote %s (%llu bytes, sha256 %s)\n", r->file.output.c_str(), static_cast<unsigned long long>(r->file.bytes),
              r->file.sha256.c_str());
  std::printf("trained on %lld rows towards %s, %d epochs, %lld parameters; %zu nodes int8",
              static_cast<long long>(r->train_rows), r->target.c_str(), epochs, static_cast<long long>(r->parameters),
              r->file.quantized_nodes.size());
  for (const auto& n : r->file.fp32_nodes) std::printf("; fp32: %s", n.c_str());
  std::printf("\nPLCC drop (%s): static %.6g -> QAT %.6g (the file holds epoch %d)\n",
              kept.on_validation ? "validation" : "training set", first.drop, kept.drop, r->exported_epoch);
  return kExitOk;
}

#else

int do_qat(const QatCmdOptions&) {
  return fail(Status::unsupported("this tinyq was built without QAT (configure with -DTINYQ_WITH_QAT=ON; it needs libtorch)"));
}

#endif

}  // namespace

void register_qat(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<QatCmdOptions>();
  CLI::App* cmd = app.add_subcommand("qat", "quantisation-aware training: fp32 ONNX + training set -> trained QDQ int8 file");
  cmd->add_option("model", o->model, "the fp32 .onnx model");
  cmd->add_option("--registry", o->registry, "train registry entry --model ID (quant_mode qat, its train_set)");
  cmd->add_option("--model", o->id, "the registry entry's id");
  cmd->add_option("-o,--output", o->output, "output file (default <stem>.int8.onnx beside the model)");
  cmd->add_option("--train", o->train, ".npz training set: one array per model input, rows on axis 0");
  cmd->add_option("--labels", o->labels, "label array for the model's output (default: an array named after it; else distil)");
  cmd->add_flag("--distill", o->distill, "ignore labels: train towards the fp32 model's outputs");
  cmd->add_option("--val", o->validation, ".npz measured after each epoch (default: the training set)");
  cmd->add_option("--epochs", o->epochs, "passes over the whole training set")->check(CLI::Range(0, 1000000));
  cmd->add_option("--lr", o->learning_rate, "Adam learning rate")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", o->batch, "rows per training step")->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  cmd->add_option("--seed", o->seed, "seed of the row order (training is deterministic for a seed)");
  cmd->add_flag("--learn-scales", o->learn_scales, "LSQ: learn weight and activation scales too");
  cmd->add_flag("--keep-last", o->keep_last,
                "write the last epoch's state (default: the epoch with the lowest drop on --val, or on the training set)");
  cmd->add_option("--method", o->method, "calibration that initialises activation scales: minmax, percentile, entropy, mse");
  cmd->add_option("--percentile", o->percentile, "percentile for --method percentile");
  cmd->add_option("--activations", o->activations, "activation format: u8 (asymmetric) or s8 (symmetric)");
  cmd->add_flag("--per-tensor", o->per_tensor, "one weight scale per tensor instead of per output channel");
  cmd->add_option("--exclude-node", o->exclude_nodes, "keep this node fp32 (repeatable)");
  cmd->callback([o, exit_code] { *exit_code = do_qat(*o); });
}

}  // namespace tinyq::cli
