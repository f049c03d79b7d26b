// The public quantisation API (include/tinyq/quantize.h): files and registry entries in, atomic
// files out, over the IR-level quantisers in quant/quantize.h.
#include "tinyq/quantize.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "onnx/onnx_io.h"
#include "quant/quantize.h"
#include "util/file.h"

namespace tinyq {

namespace fs = std::filesystem;

namespace {

// The public enum mirrors the internal one value for value.
constexpr bool same_method(CalibrationMethod a, quant::CalibrationMethod b) { return static_cast<int>(a) == static_cast<int>(b); }
static_assert(same_method(CalibrationMethod::kMinMax, quant::CalibrationMethod::kMinMax) &&
              same_method(CalibrationMethod::kPercentile, quant::CalibrationMethod::kPercentile) &&
              same_method(CalibrationMethod::kEntropy, quant::CalibrationMethod::kEntropy) &&
              same_method(CalibrationMethod::kMse, quant::CalibrationMethod::kMse));

quant::PlacementOptions to_placement(const QuantizePlacement& p) {
  quant::PlacementOptions o;
  o.per_channel = p.per_channel;
  o.op_types = p.op_types;
  o.include_nodes = p.include_nodes;
  o.exclude_nodes = p.exclude_nodes;
  o.exclude_op_types = p.exclude_op_types;
  return o;
}

Result<quant::StaticOptions> to_static(const StaticQuantizeOptions& s) {
  if (!(s.percentile > 0.0 && s.percentile <= 100.0))
    return Status::invalid_argument("percentile " + std::to_string(s.percentile) + " is not in (0, 100]");
  if (!(s.range_margin >= 0.0) || !std::isfinite(s.range_margin))
    return Status::invalid_argument("range margin " + std::to_string(s.range_margin) + " is not a finite value >= 0");
  quant::StaticOptions o;
  o.placement = to_placement(s.placement);
  o.range_margin = s.range_margin;
  o.range.method = static_cast<quant::CalibrationMethod>(s.method);
  o.range.percentile = s.percentile;
  o.activations = s.activations == ActivationFormat::kS8 ? quant::ActivationType::kS8Symmetric : quant::ActivationType::kU8Asymmetric;
  if (s.progress)
    o.observe.progress = [cb = s.progress](const quant::CalibrationProgress& p) {
      cb(QuantizeProgress{p.pass, p.passes, p.rows_done, p.rows_total});
    };
  return o;
}

QuantizeResult describe(const quant::Quantized& q, QuantMode mode) {
  QuantizeResult r;
  r.mode = mode;
  r.calibration_rows = q.calibration_rows;
  for (const auto& n : q.plan.nodes) r.quantized_nodes.push_back(n.node);
  for (const auto& s : q.plan.skipped) r.fp32_nodes.push_back(s.node + " (" + s.op_type + "): " + s.reason);
  for (const auto& c : q.clipped) {
    char line[512];
    std::snprintf(line, sizeof line,
                  "activation '%s': the calibrated range [%.6g, %.6g] clips %.1f%% of the values calibration saw "
                  "(they span [%.6g, %.6g]); if they are not outliers, another method (minmax, mse) loses less",
                  c.tensor.c_str(), c.kept.min, c.kept.max, 100.0 * c.share, c.seen.min, c.seen.max);
    r.warnings.push_back(line);
  }
  return r;
}

// The output may not replace the model it came from (or that model's external data).
Status check_output(const std::string& model_path, const std::string& output) {
  std::error_code ec;
  for (const std::string& input : {model_path, model_path + ".data"})
    if (fs::exists(output, ec) && fs::exists(input, ec) && fs::equivalent(output, input, ec))
      return Status::invalid_argument("output '" + output + "' is the input file '" + input + "'; choose another output");
  return Status::ok();
}

Result<QuantizeResult> write_out(const quant::Quantized& q, QuantMode mode, const std::string& output) {
  TINYQ_ASSIGN_OR_RETURN(std::string bytes, onnx_io::serialize_model(q.model));
  TINYQ_RETURN_IF_ERROR(util::write_file_atomic(output, bytes));
  QuantizeResult r = describe(q, mode);
  r.output = output;
  r.bytes = bytes.size();
  r.sha256 = sha256_hex(bytes.data(), bytes.size());
  return r;
}

Result<quant::Quantized> run_static(const ir::Model& model, const std::string& calibration, const StaticQuantizeOptions& options) {
  if (calibration.empty()) return Status::invalid_argument("static quantisation needs a calibration set (.npz)");
  TINYQ_ASSIGN_OR_RETURN(quant::StaticOptions so, to_static(options));
  return quant::quantize_static(model, calibration, so);
}

// A registry that fails only because entries lack int8_sha256 (what quantize is about to
// write) is usable; any other problem is not.
Status check_registry(const Registry& r) {
  for (const auto& p : r.problems())
    if (p.message.find("int8_sha256") == std::string::npos)
      return Status::invalid_argument("'" + r.path() + "' is not a valid registry (" + p.pointer + ": " + p.message +
                                      "); run `tinyq registry validate` for every problem");
  return Status::ok();
}

}  // namespace

Result<CalibrationMethod> parse_calibration_method(std::string_view name) {
  TINYQ_ASSIGN_OR_RETURN(quant::CalibrationMethod m, quant::parse_calibration_method(name));
  return static_cast<CalibrationMethod>(m);
}

Result<ActivationFormat> parse_activation_format(std::string_view name) {
  if (name == "u8") return ActivationFormat::kU8;
  if (name == "s8") return ActivationFormat::kS8;
  return Status::invalid_argument("unknown activation format '" + std::string(name) + "' (u8 or s8)");
}

std::string default_int8_path(const std::string& model_path) {
  constexpr std::string_view kExt = ".onnx";
  std::string stem = model_path;
  if (stem.size() >= kExt.size() && stem.compare(stem.size() - kExt.size(), kExt.size(), kExt) == 0)
    stem.resize(stem.size() - kExt.size());
  return stem + ".int8.onnx";
}

Result<QuantizeResult> quantize_static(const std::string& model_path, const std::string& output,
                                       const StaticQuantizeOptions& options) {
  const std::string out = output.empty() ? default_int8_path(model_path) : output;
  TINYQ_RETURN_IF_ERROR(check_output(model_path, out));
  TINYQ_ASSIGN_OR_RETURN(ir::Model model, onnx_io::load_model(model_path));
  TINYQ_ASSIGN_OR_RETURN(quant::Quantized q, run_static(model, options.calibration, options));
  return write_out(q, QuantMode::kStatic, out);
}

Result<QuantizeResult> quantize_dynamic(const std::string& model_path, const std::string& output,
                                        const DynamicQuantizeOptions& options) {
  const std::string out = output.empty() ? default_int8_path(model_path) : output;
  TINYQ_RETURN_IF_ERROR(check_output(model_path, out));
  TINYQ_ASSIGN_OR_RETURN(ir::Model model, onnx_io::load_model(model_path));
  TINYQ_ASSIGN_OR_RETURN(quant::Quantized q, quant::quantize_dynamic(model, to_placement(options.placement)));
  return write_out(q, QuantMode::kDynamic, out);
}

Result<QuantizeResult> quantize_registered(const std::string& registry_path, const std::string& id,
                                           const RegistryQuantizeOptions& options) {
  TINYQ_ASSIGN_OR_RETURN(Registry reg, Registry::read(registry_path));
  TINYQ_RETURN_IF_ERROR(check_registry(reg));
  const RegistryEntry* e = reg.find(id);
  if (!e) return Status::not_found("'" + registry_path + "' has no model '" + id + "'");
  const std::string who = "model '" + id + "' in '" + registry_path + "'";
  switch (e->quant_mode) {
    case QuantMode::kFp32:
      return Status::invalid_argument(who + " has quant_mode fp32: nothing to quantise (set quant_mode to static or dynamic)");
    case QuantMode::kQat:
      return Status::unsupported(who + " has quant_mode qat, which needs training: tinyq qat, or tinyq quantize --registry in a build with QAT");
    case QuantMode::kStatic:
      if (e->quant_calibration_set.empty())
        return Status::invalid_argument(who + " has quant_mode static but no quant_calibration_set");
      if (!options.static_options.calibration.empty())
        return Status::invalid_argument(who + ": the calibration set comes from the registry's quant_calibration_set, not the options");
      break;
    case QuantMode::kDynamic:
      break;
  }
  // The fp32 file is checked against the registry like any load: quantising an unverified file
  // would stamp a trusted digest on it.
  TINYQ_ASSIGN_OR_RETURN(std::string fp32_path, reg.resolve(e->onnx));
  auto read = util::read_file(fp32_path, options.max_model_bytes);
  if (!read.is_ok()) return read.status().with_context(who);
  const std::string& bytes = *read;
  const std::string digest = sha256_hex(bytes.data(), bytes.size());
  if (digest != e->sha256)
    return Status::integrity("sha256 mismatch for '" + fp32_path + "' (" + who + "): the registry says " + e->sha256 +
                             ", the file has " + digest + "; refusing to quantise it");
  onnx_io::LoadOptions load;
  load.max_file_bytes = options.max_model_bytes;
  TINYQ_ASSIGN_OR_RETURN(ir::Model model, onnx_io::parse_model(bytes.data(), bytes.size(),
                                                               fs::path(fp32_path).parent_path().string(), fp32_path, load));
  quant::Quantized q;
  if (e->quant_mode == QuantMode::kStatic) {
    TINYQ_ASSIGN_OR_RETURN(std::string cal, reg.resolve(e->quant_calibration_set));
    TINYQ_ASSIGN_OR_RETURN(q, run_static(model, cal, options.static_options));
  } else {
    TINYQ_ASSIGN_OR_RETURN(q, quant::quantize_dynamic(model, to_placement(options.dynamic_options.placement)));
  }
  TINYQ_ASSIGN_OR_RETURN(std::string out_bytes, onnx_io::serialize_model(q.model));
  TINYQ_ASSIGN_OR_RETURN(std::string written, write_int8_artifact(registry_path, id, out_bytes));
  QuantizeResult r = describe(q, e->quant_mode);
  r.output = written;
  r.bytes = out_bytes.size();
  r.sha256 = sha256_hex(out_bytes.data(), out_bytes.size());
  return r;
}

}  // namespace tinyq
