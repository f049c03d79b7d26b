// Recording what tinyq tune chose: the entry's quant_mode, int8_sha256, notes and calibration set
// change together with its int8 artefact (and its sidecar's copies of the first two), through the
// crash-safe journal (write_journal.h).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "registry/registry_update.h"
#include "registry/write_journal.h"
#include "tinyq/registry.h"
#include "util/file.h"

namespace tinyq {

namespace {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

// Sets `key` in an entry: an existing key keeps its place; a new one goes where alphabetical
// order puts it when the entry's keys are sorted, else right after `anchor` (or last).
void place_key(ordered_json& entry, const std::string& key, const std::string& value, const std::string& anchor) {
  if (entry.contains(key)) {
    entry[key] = value;
    return;
  }
  bool sorted = true;
  std::string prev;
  for (auto it = entry.begin(); it != entry.end(); ++it) {
    if (it.key() < prev) sorted = false;
    prev = it.key();
  }
  ordered_json rebuilt = ordered_json::object();
  bool placed = false;
  for (auto it = entry.begin(); it != entry.end(); ++it) {
    if (!placed && sorted && it.key() > key) {
      rebuilt[key] = value;
      placed = true;
    }
    rebuilt[it.key()] = it.value();
    if (!placed && !sorted && it.key() == anchor) {
      rebuilt[key] = value;
      placed = true;
    }
  }
  if (!placed) rebuilt[key] = value;
  entry = std::move(rebuilt);
}

// The registry text with entry `id`'s quant_mode, notes and (when given) quant_calibration_set set.
Result<std::string> set_entry_fields(const std::string& text, const std::string& name, const std::string& id,
                                     const EntryUpdate& update) {
  ordered_json doc = ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("models") || !doc["models"].is_array())
    return Status::corrupt("registry '" + name + "' has no \"models\" array");
  for (auto& m : doc["models"]) {
    if (!m.is_object() || !m.contains("id") || m["id"] != id) continue;
    place_key(m, "quant_mode", quant_mode_name(update.quant_mode), "int8_sha256");
    if (!update.quant_calibration_set.empty()) place_key(m, "quant_calibration_set", update.quant_calibration_set, "quant_mode");
    place_key(m, "notes", update.notes, "description");
    return registry::dump_like(doc, text);
  }
  return Status::not_found("registry '" + name + "' has no model '" + id + "'");
}

// Problems of `after` that `before` did not have: what the edit broke.
std::vector<RegistryProblem> new_problems(const Registry& before, const Registry& after) {
  std::set<std::pair<std::string, std::string>> old;
  for (const auto& p : before.problems()) old.insert({p.pointer, p.message});
  std::vector<RegistryProblem> out;
  for (const auto& p : after.problems())
    if (!old.count({p.pointer, p.message})) out.push_back(p);
  return out;
}

}  // namespace

Result<std::string> write_registry_entry(const std::string& registry_path, const std::string& id,
                                         const std::string& int8_bytes, const EntryUpdate& update) {
  const std::string who = "model '" + id + "' in '" + registry_path + "'";
  if (update.quant_mode == QuantMode::kFp32)
    return Status::invalid_argument(who + ": quant_mode fp32 has no int8 artefact to record");
  const std::string digest = sha256_hex(int8_bytes.data(), int8_bytes.size());
  if (digest.empty()) return Status::internal("sha256 failed (libcrypto)");
  std::string int8_path;
  // Built under the folder lock, from the registry as it stands after any recovery.
  auto build = [&]() -> Result<std::vector<registry::FileWrite>> {
    TINYQ_ASSIGN_OR_RETURN(std::string text, util::read_file(registry_path, kMaxRegistryBytes));
    TINYQ_ASSIGN_OR_RETURN(Registry before, Registry::parse(text, registry_path));
    std::string onnx;
    TINYQ_ASSIGN_OR_RETURN(std::string with_digest, registry::set_int8_sha256(text, registry_path, id, digest, &onnx));
    TINYQ_ASSIGN_OR_RETURN(std::string updated, set_entry_fields(with_digest, registry_path, id, update));
    TINYQ_ASSIGN_OR_RETURN(Registry after, Registry::parse(updated, registry_path));
    if (auto broken = new_problems(before, after); !broken.empty())
      return Status::invalid_argument(who + ": the update would make the registry invalid (" + broken[0].pointer + ": " +
                                      broken[0].message + "); nothing was written");
    const RegistryEntry* e = after.find(id);
    if (!e) return Status::not_found("registry '" + registry_path + "' has no model '" + id + "'");
    auto resolved = after.resolve(e->int8_onnx());
    if (!resolved.is_ok()) return resolved.status().with_context(who);
    int8_path = *resolved;
    return registry::entry_change_files(after, std::move(updated), id, {int8_path, int8_bytes});
  };
  TINYQ_RETURN_IF_ERROR(registry::commit_change(registry_path, build));
  return int8_path;
}

Status recover_registry_writes(const std::string& registry_path) {
  std::string dir = fs::path(registry_path).parent_path().string();
  TINYQ_ASSIGN_OR_RETURN(registry::FolderLock lock, registry::FolderLock::acquire(dir.empty() ? "." : dir));
  return registry::recover_locked(registry_path);
}

}  // namespace tinyq
