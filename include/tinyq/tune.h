// tinyq tune: chooses how a registry entry is quantised. It tries dynamic, then static (every
// calibration method, per-channel and per-tensor weights, u8 and s8 activations), then QAT; each
// candidate is written to a temp file and measured against the fp32 model on the entry's fixtures
// (evaluate_pair). When none meets the budget, the layer with the lowest SQNR is kept in fp32, one
// at a time. The cheapest mode (dynamic < static < qat) that meets the budget and is faster than
// fp32 wins (among equals, the smallest drop); its artefact, digest, mode and the reason go into
// the registry as one crash-safe change. When nothing qualifies the registry is left as it was.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tinyq/gate.h"
#include "tinyq/quantize.h"
#include "tinyq/registry.h"
#include "tinyq/status.h"

namespace tinyq {

// One way to quantise a model: what tune tries, and what it records in the entry's notes so that
// the same file can be made again (replay_tuned).
struct TuneRecipe {
  QuantMode mode = QuantMode::kDynamic;                   // dynamic, static or qat
  CalibrationMethod method = CalibrationMethod::kMinMax;  // static and qat
  bool per_channel = true;                                // weight scales per output channel
  ActivationFormat activations = ActivationFormat::kU8;   // static and qat
  std::vector<std::string> fp32_nodes;                    // nodes kept in fp32 (exclude_nodes)
  bool operator==(const TuneRecipe&) const = default;
};

// "dynamic per-tensor", "static entropy per-channel u8", "... fp32=conv_3,conv_7". Node names
// with spaces, commas or semicolons cannot be written (kInvalidArgument).
Result<std::string> tune_recipe_text(const TuneRecipe& recipe);
Result<TuneRecipe> parse_tune_recipe(std::string_view text);
// The recipe in the last "tinyq tune: <recipe>;" of an entry's notes; kNotFound when there is none.
Result<TuneRecipe> recorded_tune_recipe(std::string_view notes);

// Trains a QAT candidate (include/tinyq/qat.h lives in a separate libtorch target, so the CLI
// hands its trainer in): writes `output` from the fp32 file `model_path`.
struct QatRequest {
  std::string train_set;  // the entry's train_set, resolved
  TuneRecipe recipe;      // mode qat; method, granularity, activations and fp32 nodes to use
  int epochs = 10;
  std::function<void(int epoch, int epochs)> progress;  // may be empty
};
using QatTrainer = std::function<Status(const std::string& model_path, const std::string& output, const QatRequest& request)>;

// One candidate and how it did.
struct TuneTrial {
  enum class Outcome { kMeasured, kFailed };
  TuneRecipe recipe;
  Outcome outcome = Outcome::kFailed;
  std::string message;        // why it failed
  double drop = 0;            // the largest gated PLCC drop over the outputs (NaN: undefined)
  double fp32_us = 0, int8_us = 0;  // median batch-1 latency on the fixtures
  double latency_ratio = 0;   // int8 / fp32
  bool meets_budget = false;  // drop <= budget
  bool faster = false;        // latency_ratio < 1
  std::string sha256;         // of the candidate file
  uint64_t bytes = 0;
  std::string excluded_because;  // for a retry: the layer added to fp32_nodes and its SQNR
};

// Progress, in order: a stage starts ("dynamic", "static", "qat", "fp32 layers"), a candidate
// starts, makes progress (rows of calibration or evaluation), finishes, or a stage is skipped.
struct TuneEvent {
  enum class Kind { kStage, kSkipped, kCandidateStart, kCandidateProgress, kCandidateDone };
  Kind kind = Kind::kStage;
  std::string text;     // the stage, the reason for skipping, or the candidate's recipe text
  int index = 0;        // candidate number (1-based) ...
  int planned = 0;      // ... of the candidates planned so far
  std::string phase;    // kCandidateProgress: "quantising", "calibrating", "evaluating", "training"
  int64_t done = 0, total = 0;
  const TuneTrial* trial = nullptr;  // kCandidateDone
};

struct TuneOptions {
  std::optional<double> budget;  // overrides the entry's quant_accuracy_budget_plcc
  bool qat = true;               // try QAT (needs `qat_trainer` and the entry's train_set)
  QatTrainer qat_trainer;        // empty: this build has no QAT
  int qat_epochs = 10;
  std::vector<CalibrationMethod> methods = {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile,
                                            CalibrationMethod::kEntropy, CalibrationMethod::kMse};
  std::vector<ActivationFormat> activations = {ActivationFormat::kU8, ActivationFormat::kS8};
  std::vector<bool> per_channel = {true, false};
  // Keep trying costlier modes after a cheaper one qualified (a complete table, for reports).
  bool try_all = false;
  bool allow_slower = false;  // a candidate need not be faster than fp32
  int max_fp32_layers = 4;    // layers kept in fp32, one per retry, before giving up
  bool write = true;          // false: choose, report, leave the registry alone
  LoaderOptions loader;       // max_model_bytes and session options for every model opened
  std::function<void(const TuneEvent&)> on_event;  // may be empty
};

struct TuneResult {
  std::string registry, id;
  double budget = 0;
  std::vector<TuneTrial> trials;      // in the order tried
  std::vector<std::string> skipped;   // "qat: ..." one line per stage not tried, with why
  std::optional<size_t> chosen;       // index into trials
  std::string reason;                 // why this choice, or why there is none
  std::string notes;                  // the entry's notes as written
  std::string artefact;               // the int8 file written
  bool written = false;
};

// Tunes entry `id`. Errors (kNotFound for an unknown id, kInvalidArgument for a bad budget or a
// missing or ill-shaped fixture or calibration set, kIntegrity for a file that fails its digest)
// leave the registry untouched, as does a result with no `chosen` candidate.
Result<TuneResult> tune_registered(const std::string& registry_path, const std::string& id, const TuneOptions& options);

// The result as JSON text (NaN as null) and as a plain-text table of the candidates.
std::string tune_report_json(const TuneResult& result);
std::string tune_report_table(const TuneResult& result);

// ---- Making a tuned entry's artefact again ----

struct ReplayOptions {
  LoaderOptions loader;
  QatTrainer qat_trainer;  // needed for a qat recipe
  int qat_epochs = 10;
};

struct ReplayResult {
  TuneRecipe recipe;
  std::string artefact;
  std::string sha256;           // of the file made
  std::string previous_sha256;  // the registry's int8_sha256 before
};

// Quantises entry `id` again with the recipe tune recorded in its notes, writes <stem>.int8.onnx
// and records its digest (the same crash-safe change as tune). Quantisation is deterministic, so
// the digest equals the one tune recorded unless tinyq's quantisers changed.
Result<ReplayResult> replay_tuned(const std::string& registry_path, const std::string& id, const ReplayOptions& options = {});

}  // namespace tinyq
