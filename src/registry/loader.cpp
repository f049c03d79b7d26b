// The registry loader: quant_mode picks the artefact; the bytes that are hashed are the bytes
// that are parsed, so nothing can change between the check and the use.
#include <cstdio>
#include <filesystem>

#include "onnx/onnx_io.h"
#include "tinyq/registry.h"
#include "util/file.h"

namespace tinyq {

namespace fs = std::filesystem;

namespace {

std::string list_ids(const Registry& r) {
  constexpr size_t kMaxListed = 30;
  std::string out;
  for (size_t i = 0; i < r.models().size() && i < kMaxListed; ++i) out += (i ? ", " : "") + r.models()[i].id;
  if (r.models().size() > kMaxListed) out += ", ...";
  return out.empty() ? "none" : out;
}

void warn(const LoaderOptions& o, const std::string& msg) {
  if (o.log) o.log(msg);
  else std::fprintf(stderr, "tinyq: warning: %s\n", msg.c_str());
}

}  // namespace

Result<LoadedModel> open_registered(const Registry& registry, const std::string& id, const LoaderOptions& options) {
  if (!registry.valid())
    return Status::invalid_argument("'" + registry.path() + "' is not a valid registry (" + registry.problems()[0].pointer + ": " +
                                    registry.problems()[0].message + "); run `tinyq registry validate` for every problem");
  const RegistryEntry* e = registry.find(id);
  if (!e) return Status::not_found("'" + registry.path() + "' has no model '" + id + "' (models: " + list_ids(registry) + ")");

  LoadedModel out;
  out.id = e->id;
  out.quant_mode = e->quant_mode;
  std::string rel = e->onnx, expected = e->sha256;
  if (e->quant_mode != QuantMode::kFp32 && !options.force_fp32) {
    TINYQ_ASSIGN_OR_RETURN(std::string int8_path, registry.resolve(e->int8_onnx()));
    std::error_code ec;
    if (fs::exists(int8_path, ec)) {
      rel = e->int8_onnx();
      expected = e->int8_sha256;
      out.int8 = true;
    } else if (options.allow_fp32_fallback) {
      warn(options, "model '" + id + "' is registered as quant_mode " + quant_mode_name(e->quant_mode) + " but its int8 file '" +
                        int8_path + "' is missing; loading the fp32 file '" + e->onnx + "' (fp32 fallback allowed)");
      out.fp32_fallback = true;
    } else {
      return Status::not_found("model '" + id + "' is registered as quant_mode " + quant_mode_name(e->quant_mode) +
                               " but its int8 file '" + int8_path +
                               "' is missing; refusing to load fp32 in its place unless the fp32 fallback is allowed");
    }
  }
  TINYQ_ASSIGN_OR_RETURN(out.file, registry.resolve(rel));
  auto read = util::read_file(out.file, options.max_model_bytes);
  if (!read.is_ok()) return read.status().with_context("model '" + id + "'");
  std::string bytes = std::move(read).value();
  out.sha256 = sha256_hex(bytes.data(), bytes.size());
  if (out.sha256.empty()) return Status::internal("sha256 of '" + out.file + "' failed (libcrypto)");
  if (out.sha256 != expected)
    return Status::integrity("sha256 mismatch for '" + out.file + "' (model '" + id + "'): the registry says " + expected +
                             ", the file has " + out.sha256 + "; refusing to load it");
  out.verified = true;
  onnx_io::LoadOptions load = onnx_io::load_options(options.session.limits);
  load.max_file_bytes = options.max_model_bytes;  // external data too
  std::string base_dir = fs::path(out.file).parent_path().string();
  TINYQ_ASSIGN_OR_RETURN(ir::Model model, onnx_io::parse_model(bytes.data(), bytes.size(), base_dir, out.file, load));
  TINYQ_ASSIGN_OR_RETURN(out.session, Session::from_ir(std::move(model), out.file, options.session));
  return out;
}

Result<LoadedModel> open_registered(const std::string& registry_path, const std::string& id, const LoaderOptions& options) {
  TINYQ_ASSIGN_OR_RETURN(Registry registry, Registry::load(registry_path));
  return open_registered(registry, id, options);
}

}  // namespace tinyq
