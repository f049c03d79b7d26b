// Shared pieces of the tinyq CLI: exit codes, input loading and batching.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <vector>

#include "tinyq/registry.h"
#include "tinyq/session.h"
#include "tinyq/status.h"

namespace tinyq::cli {

// The CLI's exit-code contract.
inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;
inline constexpr int kExitBadInput = 2;

// Prints "tinyq: <message>" to stderr and returns kExitBadInput.
int fail(const Status& status);

// Options shared by the commands that feed a model.
struct InputOptions {
  std::string inputs_file;                // --inputs IN.npz
  std::vector<std::string> named_inputs;  // --input NAME=FILE(.npy|.pb)
};
void add_input_options(CLI::App* cmd, InputOptions* opts);

// One array per model input, in the model's input order, each [N, ...] or shaped exactly like
// the input. Arrays named after no input (labels, extra data) are ignored.
Result<std::vector<Tensor>> load_inputs(const Session& session, const InputOptions& opts);

// Runs `inputs` through the session following the CLI's batching rules (docs in README):
// arrays shaped like the inputs run once; otherwise rows are fed `batch` at a time (default: all
// rows when the batch dimension is symbolic, its fixed size otherwise) and outputs are
// concatenated on axis 0.
Result<std::vector<Tensor>> run_batched(Session& session, const std::vector<Tensor>& inputs, int64_t batch);

// Where run and bench take their model from: a path, or --registry R --model ID (the loader
// path: digest check, int8 switch). Defined in cmd_registry.cpp.
struct ModelSource {
  std::string path;
  std::string registry;
  std::string id;
  bool allow_fp32_fallback = false;
  uint64_t max_model_bytes = kDefaultMaxModelBytes;
};
void add_model_source(CLI::App* cmd, ModelSource* src);
struct OpenedModel {
  std::unique_ptr<Session> session;
  std::string name;  // the path, or the registry id
  std::string file;  // the file loaded
  bool from_registry = false;
  std::string sha256;  // registry only
  bool verified = false;
  std::string quant_mode;
  bool int8 = false;
  bool fp32_fallback = false;
};
Result<OpenedModel> open_model(const ModelSource& src, const SessionOptions& session_options);
// What was loaded, for --json (file_loaded, verified, sha256, ...) and for -v.
void describe_loaded(const OpenedModel& m, nlohmann::json& j);
std::string describe_loaded(const OpenedModel& m);

void register_run(CLI::App& app, int* exit_code);
void register_bench(CLI::App& app, int* exit_code);
void register_registry(CLI::App& app, int* exit_code);
void register_quantize(CLI::App& app, int* exit_code);
void register_gate(CLI::App& app, int* exit_code);
void register_audit(CLI::App& app, int* exit_code);
void register_qat(CLI::App& app, int* exit_code);  // cmd_qat.cpp; needs TINYQ_WITH_QAT to train
void register_tune(CLI::App& app, int* exit_code);  // cmd_tune.cpp; QAT candidates need TINYQ_WITH_QAT

}  // namespace tinyq::cli
