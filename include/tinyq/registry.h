// The model registry (the trust root) and the loader that opens a registered model. A registry
// is the lusoris/vmaf tiny-model registry (schema_version 0/1, schemas/registry.schema.json)
// plus optional tinyq fields. Every path in it is relative to the registry's folder and may not
// leave it; every file is opened only after its sha256 matches the registry.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tinyq/session.h"
#include "tinyq/status.h"

namespace tinyq {

namespace ir {
struct Model;
}

inline constexpr uint64_t kDefaultMaxModelBytes = uint64_t{64} << 20;
inline constexpr uint64_t kMaxRegistryBytes = uint64_t{16} << 20;

enum class QuantMode { kFp32, kStatic, kDynamic, kQat };
const char* quant_mode_name(QuantMode mode);  // "fp32", "static", "dynamic", "qat"

// A problem found in a registry document: a JSON pointer into it ("/models/3/sha256") and why.
struct RegistryProblem {
  std::string pointer;
  std::string message;
};

// One registry entry. Optional fields that are absent are empty strings (or their defaults).
struct RegistryEntry {
  std::string pointer;  // where the entry sits in the document, e.g. "/models/3"
  std::string id;
  std::string kind;  // "fr", "nr", "filter"
  std::string onnx;  // fp32 file, relative to the registry's folder
  std::string sha256;
  int64_t opset = 0;  // 0 when absent; informational, the model's opset_import decides
  QuantMode quant_mode = QuantMode::kFp32;
  std::string int8_sha256;
  std::string quant_calibration_set;
  double quant_accuracy_budget_plcc = 0.01;
  bool smoke = false;
  std::string license, license_url, description, notes, sigstore_bundle;
  // tinyq extensions.
  std::string fixtures;              // fixture set for the gate
  std::string train_set;             // training set for QAT
  std::string quant_gate_reference;  // "fp32", "labels" or "" (decided by the fixtures)

  std::string stem() const;       // onnx without ".onnx"
  std::string int8_onnx() const;  // "<stem>.int8.onnx"
  std::string sidecar() const;    // "<stem>.json"
};

// The sidecar "<stem>.json" beside a model, in either of lusoris/vmaf's layouts: the older
// (name, input_name, output_name, onnx_opset) and the newer (id, onnx, opset, sha256, ...).
// The registry, not the sidecar, decides digests and quant_mode.
struct Sidecar {
  std::string file;  // path read
  std::string id;    // "id", or the older "name"
  std::string onnx, sha256, int8_sha256, quant_mode, kind;
  int64_t opset = 0;  // "opset" or "onnx_opset"; 0 when absent
  std::vector<std::string> input_names, output_names;  // "input_names" or "input_name", same for outputs
};

class Registry {
 public:
  // Reads a registry and checks it: its schema, unique ids, and paths that stay inside its
  // folder (lexically; symlinks are checked when a file is opened). Fails with kNotFound,
  // kIoError, kLimit or kCorrupt (not JSON) when it cannot be read; any other problem is listed
  // in problems() and the entries that could be read are kept.
  static Result<Registry> read(const std::string& path);
  // Like read(), from text; `path` names the registry and its folder.
  static Result<Registry> parse(std::string_view text, const std::string& path);
  // read(), then fail with kInvalidArgument listing every problem, if there is any.
  static Result<Registry> load(const std::string& path);

  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }  // the folder every path is relative to
  int64_t schema_version() const { return schema_version_; }
  const std::vector<RegistryEntry>& models() const { return models_; }
  const std::vector<RegistryProblem>& problems() const { return problems_; }
  bool valid() const { return problems_.empty(); }
  // The entry with this id, or nullptr.
  const RegistryEntry* find(std::string_view id) const;
  // `relative` resolved inside dir(); kIntegrity when it escapes (.., absolute, symlink out).
  Result<std::string> resolve(const std::string& relative) const;
  // The entry's sidecar; nullopt when there is none, an error when it is unreadable or not JSON.
  Result<std::optional<Sidecar>> read_sidecar(const RegistryEntry& entry) const;

 private:
  std::string path_, dir_;
  int64_t schema_version_ = 0;
  std::vector<RegistryEntry> models_;
  std::vector<RegistryProblem> problems_;
};

// tinyq's registry schema (the same as schemas/registry.schema.json), as JSON text.
const std::string& registry_schema_text();

// sha256 of bytes, as 64 lowercase hex digits.
std::string sha256_hex(const void* data, size_t size);

// ---- `tinyq registry validate` ----

struct ValidateOptions {
  uint64_t max_model_bytes = kDefaultMaxModelBytes;
  bool absent_is_error = false;  // a model whose fp32 file is absent fails the registry
};

struct ValidationLine {
  enum class Level { kOk, kAbsent, kWarning, kError };
  Level level;
  std::string pointer;  // JSON pointer into the registry; "" for the whole document
  std::string model;    // the entry's id, "" for document-level lines
  std::string message;
};

struct ValidationReport {
  std::string registry;  // the path validated
  int64_t schema_version = 0;
  size_t models = 0;    // entries
  size_t present = 0;   // entries whose fp32 file exists
  size_t verified = 0;  // present entries whose every artefact exists and matches its digest
  std::vector<ValidationLine> lines;
  size_t count(ValidationLine::Level level) const;
  bool valid() const { return count(ValidationLine::Level::kError) == 0; }
};

// Checks the document (schema, ids, paths) and every file it names: a model's fp32 file must
// exist (else it is reported absent), lie inside the registry's folder and match sha256; a
// present model's int8 file (quant_mode != fp32), calibration set (static), fixtures and
// training set must exist; sidecars that disagree with the registry are warnings. Fails only
// when the registry cannot be read or is not JSON.
Result<ValidationReport> validate_registry(const std::string& path, const ValidateOptions& options = {});

// ---- The loader ----

struct LoaderOptions {
  // When the entry's quant_mode asks for <stem>.int8.onnx and that file is absent, load the fp32
  // file instead (with a warning through `log`) rather than fail.
  bool allow_fp32_fallback = false;
  // Load the fp32 file whatever quant_mode says (the accuracy gate's reference run).
  bool force_fp32 = false;
  // Files larger than this are refused before they are read (the model and its external data).
  uint64_t max_model_bytes = kDefaultMaxModelBytes;
  SessionOptions session;
  // Receives warnings (the fp32 fallback). When empty they go to stderr.
  std::function<void(const std::string&)> log;
};

struct LoadedModel {
  std::unique_ptr<Session> session;
  std::string id;
  std::string file;    // the file loaded, resolved inside the registry's folder
  std::string sha256;  // its digest, equal to the registry's
  bool verified = false;  // sha256 matched the registry (always true on success)
  QuantMode quant_mode = QuantMode::kFp32;  // as registered
  bool int8 = false;         // the int8 file was loaded
  bool fp32_fallback = false;  // quant_mode asked for int8, the int8 file was absent, fp32 loaded
};

// Opens model `id`: picks the fp32 file or <stem>.int8.onnx by quant_mode, reads its bytes once
// (refusing files over the cap), checks them against the registry's digest and parses those
// same bytes. A digest mismatch always refuses, naming the file and both digests.
Result<LoadedModel> open_registered(const Registry& registry, const std::string& id, const LoaderOptions& options = {});
// Registry::load(registry_path), then the above.
Result<LoadedModel> open_registered(const std::string& registry_path, const std::string& id,
                                    const LoaderOptions& options = {});

// ---- Recording an int8 artefact (tinyq quantize --registry) ----

// Writes `int8_bytes` as entry `id`'s <stem>.int8.onnx (beside its fp32 file) and sets the
// entry's int8_sha256 to their digest, as a pair: both go to temp files first and are then
// renamed into place, under the registry's folder lock and journal (see
// recover_registry_writes); when any step fails, the old artefact and the old registry both
// remain. The registry keeps its other content and key order (2-space indent). A sidecar
// <stem>.json that has "int8_sha256" or "quant_mode" keys is rewritten in the same change to say
// what the registry says (no key added, the rest kept); one that cannot be read or is not a JSON
// object fails the write, naming it, before anything is written. Returns the path.
Result<std::string> write_int8_artifact(const std::string& registry_path, const std::string& id,
                                        const std::string& int8_bytes);

// ---- A registered model's verified IR (tinyq's own tools: gate, audit, tune) ----

enum class RegisteredFile { kFp32, kInt8 };  // the entry's onnx file, or its <stem>.int8.onnx

struct VerifiedFile {
  std::string file;    // resolved inside the registry's folder
  std::string sha256;  // of the bytes parsed; equal to the registry's digest
};

// Reads entry `id`'s fp32 or int8 file once (refusing files over options.max_model_bytes), checks
// those bytes against the registry's digest and parses the same bytes into tinyq's IR (ir::Model,
// internal: src/ir/graph.h), so a caller that needs the graph never hashes twice. The caller names
// the file (quant_mode is not consulted) and decides whether the registry must be valid.
Result<ir::Model> load_registered_model(const Registry& registry, const std::string& id, RegisteredFile which,
                                        const LoaderOptions& options = {}, VerifiedFile* verified = nullptr);

// ---- Recording a chosen quantisation (tinyq tune) ----

// What tinyq tune decided for an entry.
struct EntryUpdate {
  QuantMode quant_mode = QuantMode::kStatic;  // static, dynamic or qat
  std::string quant_calibration_set;          // set when non-empty, else left as it is
  std::string notes;                          // replaces the entry's notes (schema: at most 512 characters)
};

// Writes `int8_bytes` as entry `id`'s <stem>.int8.onnx and sets the entry's quant_mode,
// int8_sha256 (their digest), notes and quant_calibration_set, as one change that survives a
// crash at any point (see recover_registry_writes). The new document must pass the schema, else
// nothing is written. Other keys keep their order (2-space indent). The sidecar follows as in
// write_int8_artifact. Returns the artefact's path.
Result<std::string> write_registry_entry(const std::string& registry_path, const std::string& id,
                                         const std::string& int8_bytes, const EntryUpdate& update);

// Finishes a registry change that a killed writer left half done (every new file complete on
// disk: rolled forward; otherwise nothing was replaced yet and the old files stay), then removes
// the temp and backup files writers leave beside the registry, its int8 artefacts and sidecars.
// Holds an exclusive lock on the registry's folder, as every writer does; safe to call at any time.
Status recover_registry_writes(const std::string& registry_path);

}  // namespace tinyq
