// tune's result as JSON and as a table: every candidate, the choice and why.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "tinyq/tune.h"
#include "tune/recipe.h"

namespace tinyq {

namespace {

using nlohmann::json;

json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string fmt(const char* format, double v) {
  if (std::isnan(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string verdict(const TuneTrial& t) {
  if (t.outcome == TuneTrial::Outcome::kFailed) return "failed: " + t.message;
  return std::string(t.meets_budget ? "meets budget" : "over budget") + ", " + (t.faster ? "faster" : "not faster");
}

}  // namespace

std::string tune_report_json(const TuneResult& r) {
  json cands = json::array();
  for (size_t i = 0; i < r.trials.size(); ++i) {
    const TuneTrial& t = r.trials[i];
    json c{{"recipe", tune::recipe_label(t.recipe)},
           {"mode", quant_mode_name(t.recipe.mode)},
           {"per_channel", t.recipe.per_channel},
           {"fp32_nodes", t.recipe.fp32_nodes},
           {"outcome", t.outcome == TuneTrial::Outcome::kMeasured ? "measured" : "failed"},
           {"chosen", r.chosen && *r.chosen == i}};
    if (t.recipe.mode != QuantMode::kDynamic) {
      c["method"] = tune::method_name(t.recipe.method);
      c["activations"] = tune::activation_name(t.recipe.activations);
    }
    if (t.outcome == TuneTrial::Outcome::kMeasured) {
      c["drop"] = number(t.drop);
      c["fp32_median_us"] = number(t.fp32_us);
      c["int8_median_us"] = number(t.int8_us);
      c["latency_ratio"] = number(t.latency_ratio);
      c["meets_budget"] = t.meets_budget;
      c["faster"] = t.faster;
      c["sha256"] = t.sha256;
      c["bytes"] = t.bytes;
    } else {
      c["message"] = t.message;
    }
    if (!t.excluded_because.empty()) c["fp32_layer"] = t.excluded_because;
    cands.push_back(std::move(c));
  }
  json j{{"registry", r.registry}, {"model", r.id},           {"budget", r.budget},      {"candidates", cands},
         {"skipped", r.skipped},   {"reason", r.reason},      {"written", r.written}};
  j["chosen"] = r.chosen ? json(*r.chosen) : json(nullptr);
  if (r.chosen) {
    j["quant_mode"] = quant_mode_name(r.trials[*r.chosen].recipe.mode);
    j["int8_sha256"] = r.trials[*r.chosen].sha256;
    j["notes"] = r.notes;
  }
  if (r.written) j["artefact"] = r.artefact;
  return j.dump(2) + "\n";
}

std::string tune_report_table(const TuneResult& r) {
  std::string out = "tinyq tune: model '" + r.id + "', budget " + fmt("%g", r.budget) + " (PLCC drop)\n";
  char line[512];
  std::snprintf(line, sizeof line, "  %3s  %-48s %10s %10s  %s\n", "#", "candidate", "drop", "int8/fp32", "verdict");
  out += line;
  for (size_t i = 0; i < r.trials.size(); ++i) {
    const TuneTrial& t = r.trials[i];
    const bool measured = t.outcome == TuneTrial::Outcome::kMeasured;
    std::snprintf(line, sizeof line, "%s %3zu  %-48s %10s %10s  %s\n", r.chosen && *r.chosen == i ? "*" : " ", i + 1,
                  tune::recipe_label(t.recipe).c_str(), measured ? fmt("%.3g", t.drop).c_str() : "-",
                  measured ? fmt("%.3f", t.latency_ratio).c_str() : "-", verdict(t).c_str());
    out += line;
    if (!t.excluded_because.empty()) out += "        (" + t.excluded_because + ")\n";
  }
  for (const std::string& s : r.skipped) out += "  skipped " + s + "\n";
  if (r.chosen) out += "chosen: #" + std::to_string(*r.chosen + 1) + " " + r.reason + "\n";
  else out += "nothing chosen: " + r.reason + "\n";
  if (r.written) out += "wrote " + r.artefact + " and updated " + r.registry + "\n";
  return out;
}

}  // namespace tinyq
