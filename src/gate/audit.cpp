// tinyq audit: the gate's numbers plus what a reviewer needs to see why, per model: a scatter
// plot of fp32 against int8 outputs and the SQNR of every tensor both graphs share.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "gate/layer_sqnr.h"
#include "gate/report_doc.h"
#include "gate/svg.h"
#include "onnx/onnx_io.h"
#include "util/file.h"

namespace tinyq {

namespace fs = std::filesystem;

namespace {

using gate::Doc;

std::string fmt(const char* format, double v) {
  if (std::isnan(v)) return "-";
  if (std::isinf(v)) return v > 0 ? "inf (identical)" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// An entry's fp32 or int8 file as IR, after its bytes match the registry's digest (the bytes
// hashed are the bytes parsed). The audit needs the graphs themselves, not only sessions.
// Mirrors open_registered(), which returns only a session; the limits are the loader's.
Result<ir::Model> load_verified_ir(const Registry& registry, const RegistryEntry& e, bool int8, const LoaderOptions& options) {
  const std::string rel = int8 ? e.int8_onnx() : e.onnx;
  const std::string& expected = int8 ? e.int8_sha256 : e.sha256;
  TINYQ_ASSIGN_OR_RETURN(std::string path, registry.resolve(rel));
  TINYQ_ASSIGN_OR_RETURN(std::string bytes, util::read_file(path, options.max_model_bytes));
  std::string actual = sha256_hex(bytes.data(), bytes.size());
  if (actual != expected)
    return Status::integrity("sha256 mismatch for '" + path + "' (model '" + e.id + "'): the registry says " + expected +
                             ", the file has " + actual + "; refusing to load it");
  onnx_io::LoadOptions lo = onnx_io::load_options(options.session.limits);
  lo.max_file_bytes = options.max_model_bytes;
  return onnx_io::parse_model(bytes.data(), bytes.size(), fs::path(path).parent_path().string(), path, lo);
}

Result<std::vector<LayerSqnr>> audit_layers(const Registry& registry, const ModelGate& g, const AuditOptions& options) {
  const RegistryEntry* e = registry.find(g.id);
  if (!e) return Status::not_found("'" + registry.path() + "' has no model '" + g.id + "'");
  TINYQ_ASSIGN_OR_RETURN(ir::Model fp32, load_verified_ir(registry, *e, false, options.gate.loader));
  TINYQ_ASSIGN_OR_RETURN(ir::Model int8, load_verified_ir(registry, *e, true, options.gate.loader));
  // The fixture set is matched against a session of the fp32 model, as the gate does.
  TINYQ_ASSIGN_OR_RETURN(auto probe, Session::from_ir(fp32, g.fp32_file, options.gate.loader.session));
  TINYQ_ASSIGN_OR_RETURN(FixtureSet fixtures, load_fixtures(g.fixtures, *probe));
  return gate::layer_sqnr(fp32, int8, fixtures, options.gate.loader.session);
}

void add_metrics(const ModelGate& g, Doc& doc) {
  const PairMetrics& m = g.metrics;
  doc.push_back(gate::list({
      "fp32: " + g.fp32_file + " (sha256 " + g.fp32_sha256 + ")",
      "int8: " + g.int8_file + " (sha256 " + g.int8_sha256 + ")",
      "fixtures: " + g.fixtures + ", " + std::to_string(m.rows) + " rows, each run as a batch of one",
      "budget (PLCC drop): " + fmt("%g", g.policy.budget) + ", gated on the " +
          (g.policy.gate_on == GateOn::kUpper ? "upper bound of the 95% bootstrap interval" : "point estimate"),
      "latency, median batch-1 run: fp32 " + fmt("%.1f", m.fp32_median_us) + " us, int8 " + fmt("%.1f", m.int8_median_us) +
          " us, int8/fp32 " + fmt("%.3f", m.latency_ratio),
  }));
  std::vector<std::vector<std::string>> rows;
  for (const OutputMetrics& o : m.outputs)
    rows.push_back({o.name, gate_reference_name(o.reference), fmt("%.3e", o.drop),
                    "[" + fmt("%.3e", o.drop_ci.lo) + ", " + fmt("%.3e", o.drop_ci.hi) + "]", fmt("%.6f", o.plcc),
                    fmt("%.6f", o.srocc), fmt("%.4g", o.rmse), fmt("%.4g", o.max_abs_error),
                    o.has_labels ? fmt("%.6f", o.plcc_fp32_labels) + " / " + fmt("%.6f", o.plcc_int8_labels) : "-",
                    std::to_string(o.values)});
  doc.push_back(gate::table({"output", "drop vs", "PLCC drop", "95% CI", "PLCC int8~fp32", "SROCC", "RMSE", "max abs err",
                             "PLCC vs labels fp32 / int8", "values"},
                            std::move(rows)));
  if (!g.verdict.failures.empty()) doc.push_back(gate::list(g.verdict.failures));
}

void add_scatter(const ModelGate& g, int max_points, Doc& doc) {
  const PairMetrics& m = g.metrics;
  for (size_t k = 0; k < m.outputs.size() && k < m.fp32_outputs.size(); ++k) {
    const Tensor& x = m.fp32_outputs[k];
    const Tensor& y = m.int8_outputs[k];
    std::span<const float> xs(x.data<float>(), static_cast<size_t>(x.numel()));
    std::span<const float> ys(y.data<float>(), static_cast<size_t>(y.numel()));
    doc.push_back(gate::svg(gate::scatter_svg(xs, ys, max_points, g.id + ": " + m.outputs[k].name, "fp32", "int8")));
  }
}

void add_layers(const std::vector<LayerSqnr>& layers, Doc& doc) {
  // The lowest finite SQNR is the layer that hurts most; mark it so a reader need not scan.
  double worst = INFINITY;
  for (const auto& l : layers)
    if (std::isfinite(l.sqnr_db)) worst = std::min(worst, l.sqnr_db);
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : layers)
    rows.push_back({l.tensor, l.op_type, std::to_string(l.values), fmt("%.2f", l.sqnr_db), l.sqnr_db == worst ? "lowest" : ""});
  doc.push_back(gate::table({"tensor", "op (fp32)", "values", "SQNR (dB)", ""}, std::move(rows)));
}

ModelAudit audit_one(const Registry& registry, const std::string& id, const AuditOptions& options, Doc& doc) {
  ModelAudit a;
  a.entry.id = id;
  GateOptions go = options.gate;
  go.keep_outputs = true;
  auto gated = gate_model(registry, id, go);
  if (!gated.is_ok()) {
    a.entry.outcome = GateReport::Outcome::kError;
    a.entry.message = gated.status().message();
  } else {
    a.entry.outcome = gated->verdict.passed ? GateReport::Outcome::kPass : GateReport::Outcome::kFail;
    auto layers = audit_layers(registry, *gated, options);
    if (layers.is_ok()) {
      a.layers = std::move(layers).value();
    } else {
      a.entry.outcome = GateReport::Outcome::kError;
      a.entry.message = layers.status().with_context("per-tensor SQNR").message();
    }
    a.entry.gate = std::move(gated).value();
  }

  doc.push_back(gate::heading(2, id + " — " + gate_outcome_name(a.entry.outcome)));
  if (!a.entry.message.empty()) doc.push_back(gate::paragraph("Error: " + a.entry.message));
  if (!a.entry.gate) return a;
  const ModelGate& g = *a.entry.gate;
  doc.push_back(gate::heading(3, "Gate metrics (quant_mode " + std::string(quant_mode_name(g.quant_mode)) + ")"));
  add_metrics(g, doc);
  doc.push_back(gate::heading(3, "fp32 against int8 outputs"));
  doc.push_back(gate::paragraph("Each point is one output value (image outputs: at most " + std::to_string(options.max_scatter_points) +
                                " values, taken evenly); the dashed line is int8 = fp32."));
  add_scatter(g, options.max_scatter_points, doc);
  // The outputs were kept only for the plots.
  a.entry.gate->metrics.fp32_outputs.clear();
  a.entry.gate->metrics.int8_outputs.clear();
  if (!a.layers.empty() || a.entry.outcome != GateReport::Outcome::kError) {
    doc.push_back(gate::heading(3, "Per-tensor SQNR"));
    doc.push_back(gate::paragraph("SQNR = 10 log10(sum x^2 / sum (x - x_int8)^2) over all fixture rows, for every tensor named in both "
                                  "graphs (both run as written, without graph passes). Low values mark the layers that hurt."));
    add_layers(a.layers, doc);
  }
  return a;
}

}  // namespace

Result<std::vector<ModelAudit>> write_audit_report(const std::string& registry_path, std::span<const std::string> ids,
                                                   const std::string& dir, const AuditOptions& options) {
  if (options.max_scatter_points <= 0)
    return Status::invalid_argument("max_scatter_points must be positive, not " + std::to_string(options.max_scatter_points));
  if (options.gate.budget) TINYQ_RETURN_IF_ERROR(check_budget(*options.gate.budget, "the budget override"));
  TINYQ_ASSIGN_OR_RETURN(Registry registry, Registry::load(registry_path));
  std::vector<std::string> selected(ids.begin(), ids.end());
  if (selected.empty())
    for (const RegistryEntry& e : registry.models())
      if (e.quant_mode != QuantMode::kFp32) selected.push_back(e.id);
  if (selected.empty()) return Status::invalid_argument("'" + registry_path + "' has no model whose quant_mode is not fp32: nothing to audit");

  Doc doc;
  doc.push_back(gate::heading(1, "tinyq audit"));
  doc.push_back(gate::paragraph("Registry " + registry_path + "; bootstrap " + std::to_string(options.gate.bootstrap_resamples) +
                                " resamples, seed " + std::to_string(options.gate.seed) + "."));
  const size_t summary_at = doc.size();
  std::vector<ModelAudit> audits;
  for (const std::string& id : selected) audits.push_back(audit_one(registry, id, options, doc));
  std::vector<std::vector<std::string>> summary;
  for (const ModelAudit& a : audits) {
    std::string worst = "-";
    double lowest = INFINITY;
    for (const auto& l : a.layers)
      if (l.sqnr_db < lowest) lowest = l.sqnr_db, worst = l.tensor + " (" + fmt("%.1f", l.sqnr_db) + " dB)";
    std::string drop = "-";
    if (a.entry.gate)
      for (const auto& o : a.entry.gate->metrics.outputs) drop = (drop == "-" ? "" : drop + ", ") + o.name + " " + fmt("%.2e", o.drop);
    summary.push_back({a.entry.id, gate_outcome_name(a.entry.outcome), drop, worst});
  }
  doc.insert(doc.begin() + static_cast<std::ptrdiff_t>(summary_at),
             gate::table({"model", "gate", "PLCC drop", "lowest-SQNR tensor"}, std::move(summary)));

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::io_error("cannot create report folder '" + dir + "': " + ec.message());
  TINYQ_RETURN_IF_ERROR(util::write_file_atomic((fs::path(dir) / "report.md").string(), gate::render_markdown(doc)));
  TINYQ_RETURN_IF_ERROR(util::write_file_atomic((fs::path(dir) / "report.html").string(), gate::render_html(doc, "tinyq audit")));
  return audits;
}

}  // namespace tinyq
