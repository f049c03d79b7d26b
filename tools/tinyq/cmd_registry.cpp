// tinyq registry validate: checks a registry and every file it names. Also the model source
// shared by run and bench: a path, or --registry R --model ID through the verified loader.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "cli.h"

namespace tinyq::cli {

namespace {

struct ValidateCmdOptions {
  std::string registry;
  bool strict = false;
  bool json = false;
  uint64_t max_model_bytes = kDefaultMaxModelBytes;
};

const char* level_name(ValidationLine::Level level) {
  switch (level) {
    case ValidationLine::Level::kOk: return "ok";
    case ValidationLine::Level::kAbsent: return "absent";
    case ValidationLine::Level::kWarning: return "warning";
    case ValidationLine::Level::kError: return "error";
  }
  return "?";
}

int do_validate(const ValidateCmdOptions& o) {
  ValidateOptions vo;
  vo.absent_is_error = o.strict;
  vo.max_model_bytes = o.max_model_bytes;
  auto report = validate_registry(o.registry, vo);
  if (!report.is_ok()) return fail(report.status());
  const ValidationReport& r = *report;
  using Level = ValidationLine::Level;
  if (o.json) {
    nlohmann::json j{{"registry", r.registry}, {"valid", r.valid()}, {"schema_version", r.schema_version}, {"models", r.models},
                     {"present", r.present}, {"verified", r.verified}, {"absent", r.count(Level::kAbsent)},
                     {"warnings", r.count(Level::kWarning)}, {"errors", r.count(Level::kError)}, {"lines", nlohmann::json::array()}};
    for (const auto& l : r.lines)
      j["lines"].push_back({{"level", level_name(l.level)}, {"pointer", l.pointer}, {"model", l.model}, {"message", l.message}});
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    for (const auto& l : r.lines) {
      std::string where = l.model.empty() ? "" : l.model + " ";
      where += l.pointer.empty() ? "(root)" : l.pointer;
      std::printf("%-7s %s: %s\n", level_name(l.level), where.c_str(), l.message.c_str());
    }
    std::printf("%s: schema_version %lld, %zu models: %zu present, %zu verified, %zu absent files, %zu warnings, %zu errors: %s\n",
                r.registry.c_str(), static_cast<long long>(r.schema_version), r.models, r.present, r.verified,
                r.count(Level::kAbsent), r.count(Level::kWarning), r.count(Level::kError), r.valid() ? "valid" : "INVALID");
  }
  return r.valid() ? kExitOk : kExitCheckFailed;
}

}  // namespace

void add_model_source(CLI::App* cmd, ModelSource* src) {
  cmd->add_option("model", src->path, "the .onnx model (or use --registry R --model ID)");
  cmd->add_option("--registry", src->registry, "a registry (registry.json): load --model from it, digest-checked");
  cmd->add_option("--model", src->id, "the model id in --registry");
  cmd->add_flag("--allow-fp32-fallback", src->allow_fp32_fallback,
                "with --registry: load fp32 (with a warning) when the registered int8 file is missing");
  cmd->add_option("--max-model-bytes", src->max_model_bytes, "with --registry: refuse model files larger than this")
      ->check(CLI::PositiveNumber);
}

Result<OpenedModel> open_model(const ModelSource& src, const SessionOptions& session_options) {
  const bool by_registry = !src.registry.empty() || !src.id.empty();
  if (by_registry == !src.path.empty())
    return Status::invalid_argument("give either a model path or --registry R --model ID");
  OpenedModel out;
  if (!by_registry) {
    TINYQ_ASSIGN_OR_RETURN(out.session, Session::open(src.path, session_options));
    out.name = out.file = src.path;
    return out;
  }
  if (src.registry.empty() || src.id.empty()) return Status::invalid_argument("--registry and --model go together");
  LoaderOptions lo;
  lo.allow_fp32_fallback = src.allow_fp32_fallback;
  lo.max_model_bytes = src.max_model_bytes;
  lo.session = session_options;
  TINYQ_ASSIGN_OR_RETURN(LoadedModel loaded, open_registered(src.registry, src.id, lo));
  out.session = std::move(loaded.session);
  out.name = loaded.id;
  out.file = loaded.file;
  out.sha256 = loaded.sha256;
  out.verified = loaded.verified;
  out.from_registry = true;
  out.quant_mode = quant_mode_name(loaded.quant_mode);
  out.int8 = loaded.int8;
  out.fp32_fallback = loaded.fp32_fallback;
  return out;
}

void describe_loaded(const OpenedModel& m, nlohmann::json& j) {
  j["file_loaded"] = m.file;
  j["verified"] = m.verified;
  if (!m.from_registry) return;
  j["registry_model"] = m.name;
  j["sha256"] = m.sha256;
  j["quant_mode"] = m.quant_mode;
  j["int8"] = m.int8;
  j["fp32_fallback"] = m.fp32_fallback;
}

std::string describe_loaded(const OpenedModel& m) {
  if (!m.from_registry) return "loaded " + m.file + " (not digest-checked: no registry)";
  return "loaded " + m.file + " for model '" + m.name + "' (quant_mode " + m.quant_mode + (m.int8 ? ", int8" : ", fp32") +
         (m.fp32_fallback ? " fallback" : "") + "), sha256 " + m.sha256 + (m.verified ? " verified" : " NOT verified");
}

void register_registry(CLI::App& app, int* exit_code) {
  CLI::App* reg = app.add_subcommand("registry", "model registry tools");
  reg->require_subcommand(1);
  auto opts = std::make_shared<ValidateCmdOptions>();
  CLI::App* cmd = reg->add_subcommand("validate", "check a registry: schema, ids, paths, files and digests (exit 0 valid, 1 invalid, 2 unreadable)");
  cmd->add_option("registry", opts->registry, "the registry.json")->required();
  cmd->add_flag("--strict", opts->strict, "absent model files are errors (by default they are listed and skipped)");
  cmd->add_flag("--json", opts->json, "print the report as JSON");
  cmd->add_option("--max-model-bytes", opts->max_model_bytes, "refuse model files larger than this")->check(CLI::PositiveNumber);
  cmd->callback([opts, exit_code] { *exit_code = do_validate(*opts); });
}

}  // namespace tinyq::cli
