// tinyq gate: the accuracy gate over a registry's quantised models (exit 0 pass, 1 fail, 2 error).
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli.h"
#include "tinyq/gate.h"
#include "util/file.h"

namespace tinyq::cli {

namespace {

struct GateCmdOptions {
  std::string registry;
  std::vector<std::string> models;
  bool all = false;
  std::string json_out;
  std::string gate_on = "point";
  bool require_speedup = false;
  int bootstrap = kDefaultBootstrapResamples;
  uint64_t seed = kDefaultBootstrapSeed;
  std::string budget;  // parsed here, so that NaN and negative values reach check_budget's message
  uint64_t max_model_bytes = kDefaultMaxModelBytes;
};

int do_gate(const GateCmdOptions& o) {
  if (o.all == !o.models.empty()) return fail(Status::invalid_argument("give either --model ID or --all"));
  auto gate_on = parse_gate_on(o.gate_on);
  if (!gate_on.is_ok()) return fail(gate_on.status());
  GateOptions go;
  go.gate_on = *gate_on;
  go.require_speedup = o.require_speedup;
  go.bootstrap_resamples = o.bootstrap;
  go.seed = o.seed;
  if (!o.budget.empty()) {
    char* end = nullptr;
    double b = std::strtod(o.budget.c_str(), &end);
    if (end == o.budget.c_str() || *end != '\0') return fail(Status::invalid_argument("--budget '" + o.budget + "' is not a number"));
    go.budget = b;
  }
  go.loader.max_model_bytes = o.max_model_bytes;
  auto report = gate_registry(o.registry, o.models, o.all, go);
  if (!report.is_ok()) return fail(report.status());
  std::fputs(gate_report_table(*report).c_str(), stdout);
  if (!o.json_out.empty()) {
    Status st = util::write_file_atomic(o.json_out, gate_report_json(*report));
    if (!st.is_ok()) return fail(st);
  }
  for (const auto& e : report->models)
    if (e.outcome == GateReport::Outcome::kError) std::fprintf(stderr, "tinyq: %s\n", e.message.c_str());
  return report->exit_code();
}

}  // namespace

void register_gate(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<GateCmdOptions>();
  CLI::App* cmd = app.add_subcommand(
      "gate", "accuracy gate: int8 against fp32 on each model's fixtures (exit 0 pass, 1 over budget, 2 error)");
  cmd->add_option("--registry", opts->registry, "the registry.json")->required();
  cmd->add_option("--model", opts->models, "a model id to gate (repeatable)");
  cmd->add_flag("--all", opts->all, "gate every model whose quant_mode is not fp32");
  cmd->add_option("--json", opts->json_out, "also write the report as JSON to this file");
  cmd->add_option("--gate-on", opts->gate_on, "compare the budget with the drop ('point') or its 95% upper bound ('upper')")
      ->check(CLI::IsMember({"point", "upper"}));
  cmd->add_flag("--require-speedup", opts->require_speedup, "also fail when int8 is not faster than fp32");
  cmd->add_option("--bootstrap", opts->bootstrap, "bootstrap resamples for the 95% interval of the drop")->check(CLI::Range(0, 1000000));
  cmd->add_option("--seed", opts->seed, "bootstrap seed");
  cmd->add_option("--budget", opts->budget, "override every model's quant_accuracy_budget_plcc (a number in [0, 1])");
  cmd->add_option("--max-model-bytes", opts->max_model_bytes, "refuse model files larger than this")->check(CLI::PositiveNumber);
  cmd->callback([opts, exit_code] { *exit_code = do_gate(*opts); });
}

}  // namespace tinyq::cli
