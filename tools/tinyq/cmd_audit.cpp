// tinyq audit: writes DIR/report.md and DIR/report.html for a registry's quantised models
// (exit 0 written, 2 when any model could not be audited or the report could not be written).
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli.h"
#include "tinyq/gate.h"

namespace tinyq::cli {

namespace {

struct AuditCmdOptions {
  std::string registry;
  std::string out_dir;
  std::vector<std::string> models;
  int bootstrap = kDefaultBootstrapResamples;
  uint64_t seed = kDefaultBootstrapSeed;
  int max_points = AuditOptions{}.max_scatter_points;
  uint64_t max_model_bytes = kDefaultMaxModelBytes;
};

int do_audit(const AuditCmdOptions& o) {
  AuditOptions ao;
  ao.gate.bootstrap_resamples = o.bootstrap;
  ao.gate.seed = o.seed;
  ao.gate.loader.max_model_bytes = o.max_model_bytes;
  ao.max_scatter_points = o.max_points;
  auto audits = write_audit_report(o.registry, o.models, o.out_dir, ao);
  if (!audits.is_ok()) return fail(audits.status());
  int code = kExitOk;
  for (const ModelAudit& a : *audits) {
    std::printf("%-20s %-7s %zu tensors\n", a.entry.id.c_str(), gate_outcome_name(a.entry.outcome), a.layers.size());
    if (a.entry.outcome == GateReport::Outcome::kError) {
      std::fprintf(stderr, "tinyq: %s\n", a.entry.message.c_str());
      code = kExitBadInput;
    }
  }
  namespace fs = std::filesystem;
  std::printf("wrote %s and %s\n", (fs::path(o.out_dir) / "report.md").c_str(), (fs::path(o.out_dir) / "report.html").c_str());
  return code;
}

}  // namespace

void register_audit(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<AuditCmdOptions>();
  CLI::App* cmd = app.add_subcommand(
      "audit", "write a Markdown and a self-contained HTML report: gate metrics, fp32-vs-int8 scatter plots, per-tensor SQNR");
  cmd->add_option("--registry", opts->registry, "the registry.json")->required();
  cmd->add_option("-o,--out", opts->out_dir, "the folder to write report.md and report.html into")->required();
  cmd->add_option("--model", opts->models, "a model id to audit (repeatable; default: every model whose quant_mode is not fp32)");
  cmd->add_option("--bootstrap", opts->bootstrap, "bootstrap resamples for the 95% interval of the drop")->check(CLI::Range(0, 1000000));
  cmd->add_option("--seed", opts->seed, "bootstrap seed");
  cmd->add_option("--max-points", opts->max_points, "most points per scatter plot")->check(CLI::Range(1, 100000));
  cmd->add_option("--max-model-bytes", opts->max_model_bytes, "refuse model files larger than this")->check(CLI::PositiveNumber);
  cmd->callback([opts, exit_code] { *exit_code = do_audit(*opts); });
}

}  // namespace tinyq::cli
