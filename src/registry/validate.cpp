// `tinyq registry validate`: the document checks plus every file the registry names.
#include <filesystem>
#include <set>

#include "tinyq/registry.h"
#include "util/file.h"

namespace tinyq {

namespace fs = std::filesystem;
using Level = ValidationLine::Level;

namespace {

struct FileCheck {
  enum class State { kOk, kAbsent, kError } state = State::kOk;
  std::string message;  // for kAbsent/kError
};

// Resolves `rel` inside the registry's folder; with a digest, reads it (under the cap) and
// compares.
FileCheck check_file(const Registry& r, const std::string& rel, const std::string& expected_sha256, uint64_t cap) {
  auto full = r.resolve(rel);
  if (!full.is_ok()) return {FileCheck::State::kError, full.status().message()};
  std::error_code ec;
  if (!fs::exists(*full, ec)) return {FileCheck::State::kAbsent, "'" + rel + "' is absent from " + r.dir()};
  if (fs::is_directory(*full, ec)) return {FileCheck::State::kError, "'" + rel + "' is a folder, not a file"};
  if (expected_sha256.empty()) return {};
  auto bytes = util::read_file(*full, cap);
  if (!bytes.is_ok()) return {FileCheck::State::kError, bytes.status().message()};
  std::string actual = sha256_hex(bytes->data(), bytes->size());
  if (actual != expected_sha256)
    return {FileCheck::State::kError,
            "sha256 mismatch for '" + *full + "': the registry says " + expected_sha256 + ", the file has " + actual};
  return {};
}

class EntryValidator {
 public:
  EntryValidator(const Registry& r, const ValidateOptions& o, const std::set<std::string>& flagged, ValidationReport& report)
      : r_(r), o_(o), flagged_(flagged), report_(report) {}

  void run(const RegistryEntry& e) {
    // An entry the schema could not read far enough has been reported already.
    if (e.id.empty() || e.onnx.empty() || e.sha256.empty() || flagged_.count(e.pointer + "/onnx")) return;
    const bool quantised = e.quant_mode != QuantMode::kFp32;
    size_t errors_before = report_.count(Level::kError);
    FileCheck fp32 = check_file(r_, e.onnx, e.sha256, o_.max_model_bytes);
    const bool present = fp32.state != FileCheck::State::kAbsent;
    if (present) ++report_.present;
    record(e, "/onnx", fp32, present);
    if (quantised && !e.int8_sha256.empty()) record(e, "/int8_sha256", check_file(r_, e.int8_onnx(), e.int8_sha256, o_.max_model_bytes), present);
    if (e.quant_mode == QuantMode::kStatic && !e.quant_calibration_set.empty())
      record(e, "/quant_calibration_set", check_file(r_, e.quant_calibration_set, "", 0), present);
    if (!e.fixtures.empty()) record(e, "/fixtures", check_file(r_, e.fixtures, "", 0), present);
    if (!e.train_set.empty()) record(e, "/train_set", check_file(r_, e.train_set, "", 0), present);
    if (!present) return;
    check_sidecar(e);
    if (report_.count(Level::kError) != errors_before || has_problems(e)) return;
    ++report_.verified;
    std::string msg = "'" + e.onnx + "' sha256 verified";
    if (quantised) msg += "; int8 '" + e.int8_onnx() + "' sha256 verified";
    msg += " (quant_mode " + std::string(quant_mode_name(e.quant_mode)) + ")";
    add(Level::kOk, e.pointer, e.id, msg);
  }

 private:
  bool has_problems(const RegistryEntry& e) const {
    auto it = flagged_.lower_bound(e.pointer);
    return it != flagged_.end() && (*it == e.pointer || it->rfind(e.pointer + "/", 0) == 0);
  }

  void add(Level level, const std::string& pointer, const std::string& model, const std::string& message) {
    report_.lines.push_back({level, pointer, model, message});
  }

  // An absent file of a model that is present is an error: the model cannot load as registered.
  // Absent files of an absent model are listed, one a line.
  void record(const RegistryEntry& e, const char* field, const FileCheck& c, bool model_present) {
    if (flagged_.count(e.pointer + field)) return;
    switch (c.state) {
      case FileCheck::State::kOk: return;
      case FileCheck::State::kError: add(Level::kError, e.pointer + field, e.id, c.message); return;
      case FileCheck::State::kAbsent:
        if (model_present) {
          std::string why = std::string(field) == "/int8_sha256"
                                ? " (quant_mode " + std::string(quant_mode_name(e.quant_mode)) +
                                      " loads it; the loader refuses unless the fp32 fallback is allowed)"
                                : "";
          add(Level::kError, e.pointer + field, e.id, c.message + why);
        } else {
          add(o_.absent_is_error ? Level::kError : Level::kAbsent, e.pointer + field, e.id, c.message);
        }
        return;
    }
  }

  // The registry decides; a sidecar that says otherwise is worth a warning, not a failure.
  void check_sidecar(const RegistryEntry& e) {
    auto sidecar = r_.read_sidecar(e);
    if (!sidecar.is_ok()) {
      add(Level::kWarning, e.pointer, e.id, "sidecar '" + e.sidecar() + "': " + sidecar.status().message());
      return;
    }
    if (!sidecar->has_value()) return;
    const Sidecar& s = **sidecar;
    auto differs = [&](const char* what, const std::string& theirs, const std::string& ours) {
      if (!theirs.empty() && theirs != ours)
        add(Level::kWarning, e.pointer, e.id,
            "sidecar '" + e.sidecar() + "' says " + what + " '" + theirs + "', the registry says '" + ours + "'; the registry decides");
    };
    // The older layout's "name" is a display name; only the newer layout (with "onnx") names the id.
    if (!s.onnx.empty()) {
      differs("id", s.id, e.id);
      differs("onnx", s.onnx, e.onnx);
    }
    differs("sha256", s.sha256, e.sha256);
    differs("quant_mode", s.quant_mode, quant_mode_name(e.quant_mode));
    if (e.quant_mode != QuantMode::kFp32) differs("int8_sha256", s.int8_sha256, e.int8_sha256);
  }

  const Registry& r_;
  const ValidateOptions& o_;
  const std::set<std::string>& flagged_;
  ValidationReport& report_;
};

std::string model_of_pointer(const Registry& r, const std::string& pointer) {
  for (const auto& e : r.models())
    if (pointer == e.pointer || pointer.rfind(e.pointer + "/", 0) == 0) return e.id;
  return {};
}

}  // namespace

size_t ValidationReport::count(ValidationLine::Level level) const {
  size_t n = 0;
  for (const auto& l : lines) n += l.level == level;
  return n;
}

Result<ValidationReport> validate_registry(const std::string& path, const ValidateOptions& options) {
  TINYQ_ASSIGN_OR_RETURN(Registry r, Registry::read(path));
  ValidationReport report;
  report.registry = path;
  report.schema_version = r.schema_version();
  report.models = r.models().size();
  std::set<std::string> flagged;
  for (const auto& p : r.problems()) {
    report.lines.push_back({Level::kError, p.pointer, model_of_pointer(r, p.pointer), p.message});
    flagged.insert(p.pointer);
  }
  EntryValidator v(r, options, flagged, report);
  for (const auto& e : r.models()) v.run(e);
  return report;
}

}  // namespace tinyq
