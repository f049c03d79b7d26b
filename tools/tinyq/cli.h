// Shared pieces of the tinyq CLI: exit codes, input loading and batching.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

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

void register_run(CLI::App& app, int* exit_code);
void register_bench(CLI::App& app, int* exit_code);

}  // namespace tinyq::cli
