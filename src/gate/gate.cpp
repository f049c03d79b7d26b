// The gate's policy half: budgets, the verdict, and gating registry entries.
#include <cmath>
#include <cstdio>

#include "tinyq/gate.h"

namespace tinyq {

namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace

const char* gate_reference_name(GateReference reference) {
  return reference == GateReference::kLabels ? "labels" : "fp32";
}

Result<std::optional<GateReference>> parse_gate_reference(std::string_view name) {
  if (name.empty()) return std::optional<GateReference>{};
  if (name == "fp32") return std::optional<GateReference>{GateReference::kFp32};
  if (name == "labels") return std::optional<GateReference>{GateReference::kLabels};
  return Status::invalid_argument("quant_gate_reference '" + std::string(name) + "': expected 'fp32' or 'labels'");
}

const char* gate_on_name(GateOn on) { return on == GateOn::kUpper ? "upper" : "point"; }

Result<GateOn> parse_gate_on(std::string_view name) {
  if (name == "point") return GateOn::kPoint;
  if (name == "upper") return GateOn::kUpper;
  return Status::invalid_argument("gate on '" + std::string(name) + "': expected 'point' or 'upper'");
}

const char* gate_outcome_name(GateReport::Outcome outcome) {
  switch (outcome) {
    case GateReport::Outcome::kPass: return "pass";
    case GateReport::Outcome::kFail: return "fail";
    case GateReport::Outcome::kSkipped: return "skipped";
    case GateReport::Outcome::kError: return "error";
  }
  return "?";
}

Status check_budget(double budget, const std::string& what) {
  // A PLCC drop lies in [0, 2]; a budget outside [0, 1] is a typo, and NaN would pass everything.
  if (!std::isfinite(budget) || budget < 0.0 || budget > 1.0)
    return Status::invalid_argument(what + " is " + fmt("%g", budget) + "; a PLCC-drop budget must be a number in [0, 1]");
  return Status::ok();
}

GateVerdict judge(const PairMetrics& metrics, const GatePolicy& policy) {
  GateVerdict v;
  auto fail = [&](std::string why) {
    v.passed = false;
    v.failures.push_back(std::move(why));
  };
  for (const OutputMetrics& o : metrics.outputs) {
    const bool upper = policy.gate_on == GateOn::kUpper;
    const double gated = upper ? o.drop_ci.hi : o.drop;
    const std::string what = std::string(upper ? "the 95% upper bound of the PLCC drop" : "the PLCC drop") + " (vs " +
                             gate_reference_name(o.reference) + ") of output '" + o.name + "'";
    if (std::isnan(gated)) fail(what + " is undefined (is the int8 output constant?)");
    else if (gated > policy.budget) fail(what + ", " + fmt("%.6g", gated) + ", exceeds the budget " + fmt("%g", policy.budget));
  }
  if (policy.require_speedup && !(metrics.latency_ratio < 1.0))
    fail("int8 is not faster than fp32: median " + fmt("%.1f", metrics.int8_median_us) + " us vs " +
         fmt("%.1f", metrics.fp32_median_us) + " us (ratio " + fmt("%.3f", metrics.latency_ratio) + ")");
  return v;
}

Result<ModelGate> gate_model(const Registry& registry, const std::string& id, const GateOptions& options) {
  if (!registry.valid())
    return Status::invalid_argument("'" + registry.path() + "' is not a valid registry (" + registry.problems()[0].pointer + ": " +
                                    registry.problems()[0].message + ")");
  const RegistryEntry* e = registry.find(id);
  if (!e) return Status::not_found("'" + registry.path() + "' has no model '" + id + "'");
  const std::string where = "model '" + id + "'";
  if (e->quant_mode == QuantMode::kFp32)
    return Status::invalid_argument(where + " has quant_mode fp32: nothing to gate (there is no int8 model)");
  if (e->fixtures.empty())
    return Status::invalid_argument(where + " names no fixture set (registry field " + e->pointer +
                                    "/fixtures); the gate runs real inputs only and never makes up random ones");
  if (options.gate_on == GateOn::kUpper && options.bootstrap_resamples <= 0)
    return Status::invalid_argument("gating on the interval's upper bound needs bootstrap resamples (got " +
                                    std::to_string(options.bootstrap_resamples) + ")");

  ModelGate out;
  out.id = id;
  out.quant_mode = e->quant_mode;
  out.policy.gate_on = options.gate_on;
  out.policy.require_speedup = options.require_speedup;
  out.policy.budget = options.budget.value_or(e->quant_accuracy_budget_plcc);
  TINYQ_RETURN_IF_ERROR(check_budget(out.policy.budget, options.budget ? "the budget override" : where + "'s quant_accuracy_budget_plcc"));
  auto reference = parse_gate_reference(e->quant_gate_reference);
  if (!reference.is_ok()) return reference.status().with_context(where);

  LoaderOptions lo = options.loader;
  lo.allow_fp32_fallback = false;  // an fp32 stand-in would gate fp32 against itself
  lo.force_fp32 = true;
  TINYQ_ASSIGN_OR_RETURN(LoadedModel fp32, open_registered(registry, id, lo));
  lo.force_fp32 = false;
  TINYQ_ASSIGN_OR_RETURN(LoadedModel int8, open_registered(registry, id, lo));
  if (!int8.int8) return Status::internal(where + ": the loader did not open the int8 file");
  out.fp32_file = fp32.file;
  out.fp32_sha256 = fp32.sha256;
  out.int8_file = int8.file;
  out.int8_sha256 = int8.sha256;

  auto fixtures_path = registry.resolve(e->fixtures);
  if (!fixtures_path.is_ok()) return fixtures_path.status().with_context(where + " fixtures");
  out.fixtures = *fixtures_path;
  auto fixtures = load_fixtures(out.fixtures, *fp32.session);
  if (!fixtures.is_ok()) return fixtures.status().with_context(where);

  EvaluateOptions eo;
  eo.reference = *reference;
  eo.bootstrap_resamples = options.bootstrap_resamples;
  eo.seed = options.seed;
  eo.keep_outputs = options.keep_outputs;
  auto metrics = evaluate_pair(*fp32.session, *int8.session, *fixtures, eo);
  if (!metrics.is_ok()) return metrics.status().with_context(where);
  out.metrics = std::move(metrics).value();
  out.verdict = judge(out.metrics, out.policy);
  return out;
}

int GateReport::exit_code() const {
  int code = 0;
  for (const Entry& e : models) {
    if (e.outcome == Outcome::kError) return 2;
    if (e.outcome == Outcome::kFail) code = 1;
  }
  return code;
}

Result<GateReport> gate_registry(const std::string& registry_path, std::span<const std::string> ids, bool all,
                                 const GateOptions& options) {
  if (all == !ids.empty()) return Status::invalid_argument("give either model ids or all, not both or neither");
  if (options.budget) TINYQ_RETURN_IF_ERROR(check_budget(*options.budget, "the budget override"));
  TINYQ_ASSIGN_OR_RETURN(Registry registry, Registry::load(registry_path));
  GateReport report;
  report.registry = registry_path;
  report.options = options;
  std::vector<std::string> selected(ids.begin(), ids.end());
  if (all)
    for (const RegistryEntry& e : registry.models()) selected.push_back(e.id);
  for (const std::string& id : selected) {
    GateReport::Entry entry;
    entry.id = id;
    const RegistryEntry* e = registry.find(id);
    if (all && e && e->quant_mode == QuantMode::kFp32) {
      entry.outcome = GateReport::Outcome::kSkipped;
      entry.message = "quant_mode fp32: nothing to gate";
    } else if (auto gated = gate_model(registry, id, options); !gated.is_ok()) {
      entry.outcome = GateReport::Outcome::kError;
      entry.message = gated.status().message();
    } else {
      entry.outcome = gated->verdict.passed ? GateReport::Outcome::kPass : GateReport::Outcome::kFail;
      entry.gate = std::move(gated).value();
    }
    report.models.push_back(std::move(entry));
  }
  return report;
}

}  // namespace tinyq
