// A registered model's IR after its digest check: the bytes hashed are the bytes parsed, as in
// open_registered(), for the tools that need the graph itself (per-tensor SQNR, quantisation).
#include <filesystem>

#include "ir/graph.h"
#include "onnx/onnx_io.h"
#include "tinyq/registry.h"
#include "util/file.h"

namespace tinyq {

namespace fs = std::filesystem;

Result<ir::Model> load_registered_model(const Registry& registry, const std::string& id, RegisteredFile which,
                                        const LoaderOptions& options, VerifiedFile* verified) {
  const RegistryEntry* e = registry.find(id);
  if (!e) return Status::not_found("'" + registry.path() + "' has no model '" + id + "'");
  const bool int8 = which == RegisteredFile::kInt8;
  const std::string rel = int8 ? e->int8_onnx() : e->onnx;
  const std::string& expected = int8 ? e->int8_sha256 : e->sha256;
  if (expected.empty())
    return Status::invalid_argument("model '" + id + "' has no " + (int8 ? "int8_sha256" : "sha256") + " to check '" + rel +
                                    "' against; refusing to load it");
  TINYQ_ASSIGN_OR_RETURN(std::string path, registry.resolve(rel));
  auto read = util::read_file(path, options.max_model_bytes);
  if (!read.is_ok()) return read.status().with_context("model '" + id + "'");
  const std::string& bytes = *read;
  const std::string actual = sha256_hex(bytes.data(), bytes.size());
  if (actual.empty()) return Status::internal("sha256 of '" + path + "' failed (libcrypto)");
  if (actual != expected)
    return Status::integrity("sha256 mismatch for '" + path + "' (model '" + id + "'): the registry says " + expected +
                             ", the file has " + actual + "; refusing to load it");
  onnx_io::LoadOptions load = onnx_io::load_options(options.session.limits);
  load.max_file_bytes = options.max_model_bytes;  // external data too
  TINYQ_ASSIGN_OR_RETURN(ir::Model model,
                         onnx_io::parse_model(bytes.data(), bytes.size(), fs::path(path).parent_path().string(), path, load));
  if (verified) *verified = VerifiedFile{path, actual};
  return model;
}

}  // namespace tinyq
