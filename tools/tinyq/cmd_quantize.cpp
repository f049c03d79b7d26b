// tinyq quantize: static (calibrated) and dynamic int8 QDQ files, from a model file or a
// registry entry; a thin layer over include/tinyq/quantize.h.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "cli.h"
#include "progress.h"
#include "tinyq/quantize.h"
#ifdef TINYQ_WITH_QAT
#include "tinyq/qat.h"
#endif

namespace tinyq::cli {

namespace {

struct QuantizeCmdOptions {
  std::string model, output;
  std::string calibration;
  std::string method = "minmax";
  double percentile = 99.999;
  double range_margin = 0.0;
  std::string activations = "u8";
  bool per_tensor = false;
  std::vector<std::string> op_types, include_nodes, exclude_nodes, exclude_op_types;
  std::string registry, id;
  bool json = false;
};

QuantizePlacement placement(const QuantizeCmdOptions& o) {
  QuantizePlacement p;
  p.per_channel = !o.per_tensor;
  if (!o.op_types.empty()) p.op_types = o.op_types;
  p.include_nodes = o.include_nodes;
  p.exclude_nodes = o.exclude_nodes;
  p.exclude_op_types = o.exclude_op_types;
  return p;
}

Result<StaticQuantizeOptions> static_options(const QuantizeCmdOptions& o, ProgressBar* bar) {
  StaticQuantizeOptions s;
  TINYQ_ASSIGN_OR_RETURN(s.method, parse_calibration_method(o.method));
  TINYQ_ASSIGN_OR_RETURN(s.activations, parse_activation_format(o.activations));
  s.percentile = o.percentile;
  s.range_margin = o.range_margin;
  s.placement = placement(o);
  s.calibration = o.calibration;
  if (bar->enabled())
    s.progress = [bar](const QuantizeProgress& p) {
      bar->update(p.rows_done, p.rows_total, "pass " + std::to_string(p.pass + 1) + "/" + std::to_string(p.passes));
    };
  return s;
}

int report(const QuantizeResult& r, const QuantizeCmdOptions& o) {
  if (o.json) {
    nlohmann::json j{{"output", r.output},           {"sha256", r.sha256},
                     {"bytes", r.bytes},             {"mode", quant_mode_name(r.mode)},
                     {"quantized_nodes", r.quantized_nodes}, {"fp32_nodes", r.fp32_nodes}};
    if (r.mode == QuantMode::kStatic) {
      j["calibration_rows"] = r.calibration_rows;
      j["warnings"] = r.warnings;
    }
    if (!o.registry.empty()) j["registry"] = o.registry;
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("wrote %s (%s, %llu bytes, sha256 %s): %zu nodes int8", r.output.c_str(), quant_mode_name(r.mode),
              static_cast<unsigned long long>(r.bytes), r.sha256.c_str(), r.quantized_nodes.size());
  if (r.mode == QuantMode::kStatic) std::printf(", calibrated on %lld rows", static_cast<long long>(r.calibration_rows));
  std::printf("\n");
  for (const auto& n : r.fp32_nodes) std::printf("left fp32: %s\n", n.c_str());
  for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (!o.registry.empty()) std::printf("updated %s: model '%s' int8_sha256 %s\n", o.registry.c_str(), o.id.c_str(), r.sha256.c_str());
  return kExitOk;
}

// The subcommands take a model path; the registry form takes none.
Status check_no_registry(const QuantizeCmdOptions& o) {
  if (!o.registry.empty() || !o.id.empty())
    return Status::invalid_argument("--registry/--model and a model path do not go together");
  return Status::ok();
}

int do_static(const QuantizeCmdOptions& o) {
  if (Status st = check_no_registry(o); !st.is_ok()) return fail(st);
  ProgressBar bar("calibrating");
  auto so = static_options(o, &bar);
  if (!so.is_ok()) return fail(so.status());
  auto r = quantize_static(o.model, o.output, *so);
  bar.finish();
  if (!r.is_ok()) return fail(r.status());
  return report(*r, o);
}

int do_dynamic(const QuantizeCmdOptions& o) {
  if (Status st = check_no_registry(o); !st.is_ok()) return fail(st);
  DynamicQuantizeOptions d;
  d.placement = placement(o);
  auto r = quantize_dynamic(o.model, o.output, d);
  if (!r.is_ok()) return fail(r.status());
  return report(*r, o);
}

int do_registry(const QuantizeCmdOptions& o) {
  if (o.registry.empty() || o.id.empty())
    return fail(Status::invalid_argument("give `quantize static|dynamic MODEL ...` or `quantize --registry R --model ID`"));
#ifdef TINYQ_WITH_QAT
  // qat entries train on their train_set (tinyq qat's defaults); the library's
  // quantize_registered covers static and dynamic only, since it does not link libtorch.
  // Registry::read, as the quantisers use: an entry about to be quantised has no int8_sha256 yet.
  if (auto reg = Registry::read(o.registry); reg.is_ok()) {
    const RegistryEntry* e = reg->find(o.id);
    if (e != nullptr && e->quant_mode == QuantMode::kQat) {
      QatOptions q;
      q.placement = placement(o);
      auto r = quantize_registered_qat(o.registry, o.id, q);
      if (!r.is_ok()) return fail(r.status());
      return report(r->file, o);
    }
  }
#endif
  ProgressBar bar("calibrating");
  RegistryQuantizeOptions ro;
  QuantizeCmdOptions without_cal = o;
  without_cal.calibration.clear();
  auto so = static_options(without_cal, &bar);
  if (!so.is_ok()) return fail(so.status());
  ro.static_options = *so;
  ro.dynamic_options.placement = placement(o);
  auto r = quantize_registered(o.registry, o.id, ro);
  bar.finish();
  if (!r.is_ok()) return fail(r.status());
  return report(*r, o);
}

void add_placement(CLI::App* cmd, QuantizeCmdOptions* o) {
  cmd->add_flag("--per-tensor", o->per_tensor, "one weight scale per tensor (default: one per output channel)");
  cmd->add_option("--op-types", o->op_types, "op types to quantise (default Conv Gemm MatMul; also ConvTranspose)")->delimiter(',');
  cmd->add_option("--include-nodes", o->include_nodes, "quantise only these nodes (by name)")->delimiter(',');
  cmd->add_option("--exclude-nodes", o->exclude_nodes, "never quantise these nodes (by name)")->delimiter(',');
  cmd->add_option("--exclude-op-types", o->exclude_op_types, "never quantise these op types")->delimiter(',');
}

void add_calibration(CLI::App* cmd, QuantizeCmdOptions* o) {
  cmd->add_option("--method", o->method, "calibration method: minmax, percentile, entropy or mse")->capture_default_str();
  cmd->add_option("--percentile", o->percentile, "percentile of |values| kept by --method percentile")->capture_default_str();
  cmd->add_option("--activations", o->activations, "activation type: u8 (asymmetric) or s8 (symmetric)")->capture_default_str();
  cmd->add_option("--range-margin", o->range_margin,
                  "widen calibrated ranges by this fraction where the graph does not bound them (e.g. 0.25)")
      ->capture_default_str();
}

}  // namespace

void register_quantize(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<QuantizeCmdOptions>();
  CLI::App* q = app.add_subcommand("quantize", "write an int8 QDQ model: static (calibrated) or dynamic, or by a registry entry's quant_mode");
  q->require_subcommand(0, 1);
  q->add_option("--registry", opts->registry, "quantise --model of this registry by its quant_mode and record int8_sha256");
  q->add_option("--model", opts->id, "the model id in --registry");
  q->add_flag("--json", opts->json, "print a JSON summary");
  add_calibration(q, opts.get());
  add_placement(q, opts.get());

  CLI::App* st = q->add_subcommand("static", "calibrate on an .npz set and write static int8 (QuantizeLinear/DequantizeLinear)");
  st->add_option("model", opts->model, "the fp32 .onnx model")->required();
  st->add_option("--calibration", opts->calibration, "calibration set (.npz, one array per model input, rows on axis 0)")->required();
  st->add_option("-o,--output", opts->output, "output file (default: <stem>.int8.onnx beside the model)");
  st->add_flag("--json", opts->json, "print a JSON summary");
  add_calibration(st, opts.get());
  add_placement(st, opts.get());
  st->callback([opts, exit_code] { *exit_code = do_static(*opts); });

  CLI::App* dy = q->add_subcommand("dynamic", "write dynamic int8 (weights offline, activations per run)");
  dy->add_option("model", opts->model, "the fp32 .onnx model")->required();
  dy->add_option("-o,--output", opts->output, "output file (default: <stem>.int8.onnx beside the model)");
  dy->add_flag("--json", opts->json, "print a JSON summary");
  add_placement(dy, opts.get());
  dy->callback([opts, exit_code] { *exit_code = do_dynamic(*opts); });

  q->callback([st, dy, opts, exit_code] {
    if (!st->parsed() && !dy->parsed()) *exit_code = do_registry(*opts);
  });
}

}  // namespace tinyq::cli
