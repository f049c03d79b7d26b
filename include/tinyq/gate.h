// The accuracy gate and the audit report. The gate runs a model's fp32 and int8 forms over its
// fixture set (real inputs, never random ones), one row at a time, and measures how far int8
// strays: PLCC drop, SROCC, RMSE, maximum error, a bootstrap interval of the drop, latency.
// evaluate_pair() is the core and takes any two sessions (tinyq tune calls it per candidate);
// gate_model() runs it for a registry entry and judges the result against the entry's budget.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tinyq/registry.h"
#include "tinyq/session.h"
#include "tinyq/status.h"
#include "tinyq/tensor.h"

namespace tinyq {

inline constexpr int kDefaultBootstrapResamples = 1000;
inline constexpr uint64_t kDefaultBootstrapSeed = 7;  // fixed, so the interval is reproducible
inline constexpr double kGateConfidenceLevel = 0.95;  // the bootstrap interval is central 95 %

// What a PLCC drop is measured against: fp32 = 1 - PLCC(int8, fp32); labels = PLCC(fp32, labels)
// - PLCC(int8, labels) (registry field quant_gate_reference).
enum class GateReference { kFp32, kLabels };
const char* gate_reference_name(GateReference reference);  // "fp32", "labels"
// The registry's spelling ("fp32", "labels"); "" (absent) is nullopt: labels when present.
Result<std::optional<GateReference>> parse_gate_reference(std::string_view name);

// What is compared with the budget: the drop itself, or the upper bound of its interval.
enum class GateOn { kPoint, kUpper };
const char* gate_on_name(GateOn on);  // "point", "upper"
Result<GateOn> parse_gate_on(std::string_view name);

// ---- Fixtures ----

// A fixture set checked against a model: arrays named after its inputs are fed, arrays named
// after its outputs are labels, other arrays are ignored.
struct FixtureSet {
  std::string file;
  int64_t rows = 0;
  std::vector<std::pair<std::string, Tensor>> inputs;  // the model's inputs, in its order, [rows, ...]
  std::vector<std::pair<std::string, Tensor>> labels;  // named after outputs, as all rows' outputs concatenated
  const Tensor* label(std::string_view output) const;  // nullptr when that output has none
};

// Reads an .npz and checks it against `model`: every input present, float32, shaped [N, ...]
// where ... fits the input's declared shape without its batch dimension, one N >= 2 for all,
// finite values. Errors name the file and the array.
Result<FixtureSet> load_fixtures(const std::string& path, const Session& model);

// ---- Comparing one fp32 / int8 pair ----

struct ConfidenceInterval {
  double lo = 0;
  double hi = 0;
};

// How one output of the int8 model compares with the fp32 one, over every value of every row
// (an image output is compared over all its values, flattened). Undefined statistics are NaN.
struct OutputMetrics {
  std::string name;
  int64_t values = 0;        // values compared
  double plcc = 0;           // PLCC(int8, fp32)
  double srocc = 0;          // SROCC(int8, fp32), average ranks for ties
  double rmse = 0;           // of int8 - fp32
  double max_abs_error = 0;  // max |int8 - fp32|
  double drop_fp32 = 0;      // 1 - plcc
  bool has_labels = false;
  double plcc_fp32_labels = 0, plcc_int8_labels = 0;  // when has_labels
  double drop_labels = 0;                             // plcc_fp32_labels - plcc_int8_labels
  GateReference reference = GateReference::kFp32;     // the drop that is gated
  double drop = 0;                                    // drop_fp32 or drop_labels
  ConfidenceInterval drop_ci;                         // bootstrap interval of `drop` (rows resampled)
};

struct PairMetrics {
  int64_t rows = 0;
  std::vector<OutputMetrics> outputs;  // the fp32 model's output order
  double fp32_median_us = 0;           // median batch-1 run time over the rows
  double int8_median_us = 0;
  double latency_ratio = 0;  // int8 / fp32: below 1 means int8 is faster
  // With EvaluateOptions::keep_outputs: each output of all rows, concatenated on axis 0.
  std::vector<Tensor> fp32_outputs, int8_outputs;
};

struct EvaluateOptions {
  std::optional<GateReference> reference;  // nullopt: labels where the fixtures carry them, else fp32
  int bootstrap_resamples = kDefaultBootstrapResamples;  // 0: no interval (NaN bounds)
  uint64_t seed = kDefaultBootstrapSeed;
  bool keep_outputs = false;
  std::function<void(int64_t rows_done, int64_t rows_total)> progress;  // may be empty
};

// Runs every fixture row through both sessions as a batch of one (alternating, each session
// warmed up once first) and compares the outputs. Fails, naming the output or array, when the
// two models' inputs or outputs differ, an output is not float32, a label does not match its
// output's shape, the fp32 output is constant (nothing to correlate), or labels are asked for
// and there are none.
Result<PairMetrics> evaluate_pair(Session& fp32, Session& int8, const FixtureSet& fixtures,
                                  const EvaluateOptions& options = {});

// ---- The verdict ----

struct GatePolicy {
  double budget = 0.01;  // largest allowed PLCC drop
  GateOn gate_on = GateOn::kPoint;
  bool require_speedup = false;  // int8 must also be faster than fp32
};

// kInvalidArgument, naming `what`, for a budget that is NaN, infinite, negative or above 1.
Status check_budget(double budget, const std::string& what);

struct GateVerdict {
  bool passed = true;
  std::vector<std::string> failures;  // one sentence per reason
};
// Every output's gated drop (or its interval's upper bound) must be at most the budget; a NaN
// one fails. With require_speedup, latency_ratio must be below 1.
GateVerdict judge(const PairMetrics& metrics, const GatePolicy& policy);

// ---- A registry entry ----

struct GateOptions {
  GateOn gate_on = GateOn::kPoint;
  bool require_speedup = false;
  std::optional<double> budget;  // overrides every entry's quant_accuracy_budget_plcc
  int bootstrap_resamples = kDefaultBootstrapResamples;
  uint64_t seed = kDefaultBootstrapSeed;
  bool keep_outputs = false;
  LoaderOptions loader;  // max_model_bytes, session options; allow_fp32_fallback is ignored (never)
};

struct ModelGate {
  std::string id;
  QuantMode quant_mode = QuantMode::kFp32;
  std::string fixtures;  // resolved path
  std::string fp32_file, fp32_sha256, int8_file, int8_sha256;
  GatePolicy policy;
  PairMetrics metrics;
  GateVerdict verdict;
};

// Gates entry `id`: opens its fp32 and int8 files through the loader (digests verified), reads
// its fixtures (field `fixtures`, inside the registry's folder), evaluates and judges. Errors:
// unknown id, quant_mode fp32 (nothing to gate), no fixtures field, unreadable or ill-shaped
// fixtures, missing or mismatching model files, a bad budget.
Result<ModelGate> gate_model(const Registry& registry, const std::string& id, const GateOptions& options);

// A gate run over several entries: each one passed, failed, was skipped (fp32) or hit an error.
struct GateReport {
  enum class Outcome { kPass, kFail, kSkipped, kError };
  struct Entry {
    std::string id;
    Outcome outcome = Outcome::kError;
    std::string message;  // the error, or why it was skipped
    std::optional<ModelGate> gate;
  };
  std::string registry;
  GateOptions options;
  std::vector<Entry> models;
  // 2 when any entry hit an error, else 1 when any failed, else 0 (the CLI's exit codes).
  int exit_code() const;
};
const char* gate_outcome_name(GateReport::Outcome outcome);  // "pass", "fail", "skipped", "error"

// Gates `ids` of the registry, or with `all` every entry (fp32 entries are skipped); an id given
// explicitly that is fp32 is an error. Fails only when the registry cannot be loaded.
Result<GateReport> gate_registry(const std::string& registry_path, std::span<const std::string> ids, bool all,
                                 const GateOptions& options);

// The report as JSON text (NaN written as null) and as a plain-text table.
std::string gate_report_json(const GateReport& report);
std::string gate_report_table(const GateReport& report);

// ---- The audit report ----

// Signal-to-quantisation-noise ratio of one tensor present in both graphs, over all fixture
// rows: 10 log10(sum fp32^2 / sum (fp32 - int8)^2) dB; +inf when identical.
struct LayerSqnr {
  std::string tensor;
  std::string op_type;  // the fp32 node that produces it
  int64_t values = 0;
  double sqnr_db = 0;
};

struct ModelAudit {
  GateReport::Entry entry;       // the gate's metrics and verdict (or why there are none)
  std::vector<LayerSqnr> layers;  // fp32 graph order
};

struct AuditOptions {
  GateOptions gate;                // keep_outputs is forced on
  int max_scatter_points = 3000;   // per output; image outputs are downsampled evenly
};

// Gates and audits `ids` (empty: every entry that is not fp32) and writes DIR/report.md and
// DIR/report.html (self-contained: inline SVG and CSS), each atomically. Per model: the gate's
// metrics, a scatter plot of fp32 against int8 outputs and the per-tensor SQNR table.
Result<std::vector<ModelAudit>> write_audit_report(const std::string& registry_path, std::span<const std::string> ids,
                                                   const std::string& dir, const AuditOptions& options = {});

}  // namespace tinyq
