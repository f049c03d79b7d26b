// The public QAT API (include/tinyq/qat.h): files and registry entries in, atomic files out,
// over run_qat().
#include <filesystem>

#include "onnx/onnx_io.h"
#include "qat/pipeline.h"
#include "tinyq/qat.h"
#include "tinyq/registry.h"
#include "util/file.h"

namespace tinyq {

namespace {

QatResult describe(const qat::QatRun& run, const std::string& bytes) {
  QatResult r;
  r.file.mode = QuantMode::kQat;
  r.file.bytes = bytes.size();
  r.file.sha256 = sha256_hex(bytes.data(), bytes.size());
  r.file.calibration_rows = run.train_rows;
  for (const auto& n : run.plan.nodes) r.file.quantized_nodes.push_back(n.node);
  for (const auto& s : run.plan.skipped) r.file.fp32_nodes.push_back(s.node + " (" + s.op_type + "): " + s.reason);
  r.epochs = run.epochs;
  r.exported_epoch = run.exported_epoch;
  r.target = run.target;
  r.train_rows = run.train_rows;
  r.parameters = run.parameters;
  return r;
}

}  // namespace

Result<QatResult> quantize_qat(const std::string& model_path, const std::string& output, const QatOptions& options) {
  TINYQ_ASSIGN_OR_RETURN(ir::Model model, onnx_io::load_model(model_path));
  TINYQ_ASSIGN_OR_RETURN(qat::QatRun run, qat::run_qat(model, model_path, options));
  TINYQ_ASSIGN_OR_RETURN(std::string bytes, onnx_io::serialize_model(run.int8));
  const std::string out = output.empty() ? default_int8_path(model_path) : output;
  TINYQ_RETURN_IF_ERROR(util::write_file_atomic(out, bytes));
  QatResult r = describe(run, bytes);
  r.file.output = out;
  return r;
}

Result<QatResult> quantize_registered_qat(const std::string& registry_path, const std::string& id,
                                          const QatOptions& options) {
  TINYQ_ASSIGN_OR_RETURN(Registry reg, Registry::read(registry_path));
  // Lacking int8_sha256 (what this is about to write) is the one problem a usable registry may have.
  for (const auto& p : reg.problems())
    if (p.message.find("int8_sha256") == std::string::npos)
      return Status::invalid_argument("'" + registry_path + "' is not a valid registry (" + p.pointer + ": " + p.message +
                                      "); run `tinyq registry validate` for every problem");
  const RegistryEntry* e = reg.find(id);
  if (!e) return Status::not_found("'" + registry_path + "' has no model '" + id + "'");
  const std::string who = "model '" + id + "' in '" + registry_path + "'";
  if (e->quant_mode != QuantMode::kQat)
    return Status::invalid_argument(who + " has quant_mode " + quant_mode_name(e->quant_mode) + ", not qat");
  if (e->train_set.empty()) return Status::invalid_argument(who + " has quant_mode qat but no train_set");
  if (!options.train.empty())
    return Status::invalid_argument(who + ": the training set comes from the registry's train_set, not the options");
  // Training on an unverified file would stamp a trusted digest on its int8 form.
  TINYQ_ASSIGN_OR_RETURN(std::string fp32_path, reg.resolve(e->onnx));
  auto read = util::read_file(fp32_path, kDefaultMaxModelBytes);
  if (!read.is_ok()) return read.status().with_context(who);
  const std::string digest = sha256_hex(read->data(), read->size());
  if (digest != e->sha256)
    return Status::integrity("sha256 mismatch for '" + fp32_path + "' (" + who + "): the registry says " + e->sha256 +
                             ", the file has " + digest + "; refusing to train on it");
  TINYQ_ASSIGN_OR_RETURN(ir::Model model, onnx_io::parse_model(read->data(), read->size(),
                                                               std::filesystem::path(fp32_path).parent_path().string(), fp32_path));
  QatOptions o = options;
  TINYQ_ASSIGN_OR_RETURN(o.train, reg.resolve(e->train_set));
  TINYQ_ASSIGN_OR_RETURN(qat::QatRun run, qat::run_qat(model, id, o));
  TINYQ_ASSIGN_OR_RETURN(std::string bytes, onnx_io::serialize_model(run.int8));
  TINYQ_ASSIGN_OR_RETURN(std::string written, write_int8_artifact(registry_path, id, bytes));
  QatResult r = describe(run, bytes);
  r.file.output = written;
  return r;
}

}  // namespace tinyq
