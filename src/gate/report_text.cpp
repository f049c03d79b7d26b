// The gate report as JSON (for CI and tools) and as a table (for people).
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

#include "tinyq/gate.h"

namespace tinyq {

namespace {

using nlohmann::json;

// NaN and infinities have no JSON spelling: they are written as null.
json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json output_json(const OutputMetrics& o, const GatePolicy& policy) {
  json j{{"name", o.name},
         {"values", o.values},
         {"plcc", number(o.plcc)},
         {"srocc", number(o.srocc)},
         {"rmse", number(o.rmse)},
         {"max_abs_error", number(o.max_abs_error)},
         {"drop_fp32", number(o.drop_fp32)},
         {"reference", gate_reference_name(o.reference)},
         {"drop", number(o.drop)},
         {"drop_ci95", {number(o.drop_ci.lo), number(o.drop_ci.hi)}}};
  const double gated = policy.gate_on == GateOn::kUpper ? o.drop_ci.hi : o.drop;
  j["gated_value"] = number(gated);
  j["within_budget"] = gated <= policy.budget;
  j["labels"] = o.has_labels ? json{{"plcc_fp32", number(o.plcc_fp32_labels)},
                                    {"plcc_int8", number(o.plcc_int8_labels)},
                                    {"drop", number(o.drop_labels)}}
                             : json(nullptr);
  return j;
}

json entry_json(const GateReport::Entry& e) {
  json j{{"id", e.id}, {"outcome", gate_outcome_name(e.outcome)}};
  if (!e.message.empty()) j["message"] = e.message;
  if (!e.gate) return j;
  const ModelGate& g = *e.gate;
  const PairMetrics& m = g.metrics;
  j["quant_mode"] = quant_mode_name(g.quant_mode);
  j["budget"] = g.policy.budget;
  j["fixtures"] = g.fixtures;
  j["rows"] = m.rows;
  j["fp32"] = {{"file", g.fp32_file}, {"sha256", g.fp32_sha256}, {"median_us", number(m.fp32_median_us)}};
  j["int8"] = {{"file", g.int8_file}, {"sha256", g.int8_sha256}, {"median_us", number(m.int8_median_us)}};
  j["latency_ratio"] = number(m.latency_ratio);
  j["outputs"] = json::array();
  for (const OutputMetrics& o : m.outputs) j["outputs"].push_back(output_json(o, g.policy));
  j["passed"] = g.verdict.passed;
  j["failures"] = g.verdict.failures;
  return j;
}

std::string fmt(const char* format, double v) {
  if (std::isnan(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace

std::string gate_report_json(const GateReport& report) {
  const GateOptions& o = report.options;
  json j{{"registry", report.registry},
         {"gate_on", gate_on_name(o.gate_on)},
         {"require_speedup", o.require_speedup},
         {"budget_override", o.budget ? json(*o.budget) : json(nullptr)},
         {"bootstrap_resamples", o.bootstrap_resamples},
         {"seed", o.seed},
         {"confidence_level", kGateConfidenceLevel},
         {"exit_code", report.exit_code()},
         {"passed", report.exit_code() == 0},
         {"models", json::array()}};
  for (const auto& e : report.models) j["models"].push_back(entry_json(e));
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string gate_report_table(const GateReport& report) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-20s %-8s %-10s %-6s %5s %10s %21s %8s %8s %9s %9s %8s  %s\n", "model", "mode", "output", "vs",
                "rows", "drop", "drop 95% CI", "budget", "SROCC", "RMSE", "max|err|", "int8/fp32", "result");
  out += line;
  std::string notes;
  for (const auto& e : report.models) {
    const char* outcome = gate_outcome_name(e.outcome);
    if (!e.gate) {
      std::snprintf(line, sizeof line, "%-20s %s: %s\n", e.id.c_str(), outcome, e.message.c_str());
      out += line;
      continue;
    }
    const ModelGate& g = *e.gate;
    for (const OutputMetrics& m : g.metrics.outputs) {
      std::string ci = "[" + fmt("%.2e", m.drop_ci.lo) + ", " + fmt("%.2e", m.drop_ci.hi) + "]";
      std::snprintf(line, sizeof line, "%-20s %-8s %-10s %-6s %5lld %10.3e %21s %8.4g %8.5f %9.4g %9.4g %8.2fx  %s\n", e.id.c_str(),
                    quant_mode_name(g.quant_mode), m.name.c_str(), gate_reference_name(m.reference),
                    static_cast<long long>(g.metrics.rows), m.drop, ci.c_str(), g.policy.budget, m.srocc, m.rmse,
                    m.max_abs_error, g.metrics.latency_ratio, outcome);
      out += line;
    }
    for (const std::string& f : g.verdict.failures) notes += "  " + e.id + ": " + f + "\n";
  }
  out += notes;
  const int code = report.exit_code();
  out += std::string("gate (on ") + gate_on_name(report.options.gate_on) + "): " +
         (code == 0 ? "PASSED" : code == 1 ? "FAILED" : "ERROR") + "\n";
  return out;
}

}  // namespace tinyq
