#include "registry/registry_update.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "registry/write_journal.h"
#include "tinyq/registry.h"
#include "util/file.h"

namespace tinyq {

namespace registry {

namespace {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

constexpr int kRegistryIndent = 2;

std::string sibling(const std::string& path, const char* tag) {
  fs::path p(path);
  std::random_device rd;
  std::string name = ".";
  name += p.filename().string();
  name += tag;
  name += std::to_string(rd());
  return (p.parent_path() / name).string();
}

std::string folder_of(const std::string& path) {
  std::string d = fs::path(path).parent_path().string();
  return d.empty() ? "." : d;
}

// Writes `bytes` to the new file `path` with the permissions `target` has (0644 when it has none
// yet), so replacing a file keeps who may read it.
Status write_synced(const std::string& path, const std::string& bytes, const std::string& target) {
  struct stat st {};
  const mode_t mode = ::stat(target.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::io_error("'" + target + "': cannot create a temp file beside it: " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string err = std::strerror(errno);
      ::close(fd);
      return Status::io_error("'" + target + "': write failed: " + err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
    std::string err = std::strerror(errno);
    ::close(fd);
    return Status::io_error("'" + target + "': flush failed: " + err);
  }
  if (::close(fd) != 0) return Status::io_error("'" + target + "': close failed: " + std::strerror(errno));
  return Status::ok();
}

void sync_folder(const std::string& dir) {
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  ::fsync(dfd);
  ::close(dfd);
}

struct Pending {
  std::string target, temp, backup;  // backup empty: the target did not exist
  bool temp_made = false, renamed = false;
};

// Undoes whatever replace_files_together did so far.
void roll_back(std::vector<Pending>& ps) {
  for (auto& p : ps) {
    if (p.renamed) {
      if (!p.backup.empty()) ::rename(p.backup.c_str(), p.target.c_str());
      else ::unlink(p.target.c_str());
      p.backup.clear();
    }
    if (p.temp_made && !p.renamed) ::unlink(p.temp.c_str());
    if (!p.backup.empty()) ::unlink(p.backup.c_str());
  }
}

}  // namespace

Status replace_files_together(const std::vector<FileWrite>& files, const std::function<Status(size_t)>& fault) {
  std::vector<Pending> ps(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    ps[i].target = files[i].path;
    ps[i].temp = sibling(files[i].path, ".tmp");
    Status st = write_synced(ps[i].temp, files[i].bytes, files[i].path);
    if (!st.is_ok()) {
      ::unlink(ps[i].temp.c_str());
      roll_back(ps);
      return st;
    }
    ps[i].temp_made = true;
  }
  for (auto& p : ps) {
    std::error_code ec;
    if (!fs::exists(p.target, ec)) continue;
    std::string backup = sibling(p.target, ".old");
    if (::link(p.target.c_str(), backup.c_str()) != 0) {
      std::string err = std::strerror(errno);
      roll_back(ps);
      return Status::io_error("'" + p.target + "': cannot keep a backup beside it: " + err);
    }
    p.backup = backup;
  }
  for (size_t i = 0; i < ps.size(); ++i) {
    Status st = fault ? fault(i) : Status::ok();
    if (st.is_ok() && ::rename(ps[i].temp.c_str(), ps[i].target.c_str()) != 0)
      st = Status::io_error("'" + ps[i].target + "': rename failed: " + std::strerror(errno));
    if (!st.is_ok()) {
      roll_back(ps);
      return st.with_context("nothing was changed");
    }
    ps[i].renamed = true;
  }
  for (auto& p : ps) {
    if (!p.backup.empty()) ::unlink(p.backup.c_str());
    sync_folder(folder_of(p.target));
  }
  return Status::ok();
}

std::string dump_like(const nlohmann::ordered_json& doc, std::string_view original) {
  const bool ascii =
      std::all_of(original.begin(), original.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  std::string out = doc.dump(kRegistryIndent, ' ', ascii, nlohmann::json::error_handler_t::strict);
  if (!original.empty() && original.back() == '\n') out += '\n';
  return out;
}

Result<std::string> set_int8_sha256(std::string_view text, const std::string& name, const std::string& id,
                                    const std::string& digest, std::string* onnx) {
  ordered_json doc = ordered_json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::corrupt("registry '" + name + "' is not valid JSON");
  auto models = doc.find("models");
  if (!doc.is_object() || models == doc.end() || !models->is_array())
    return Status::corrupt("registry '" + name + "' has no \"models\" array");
  ordered_json* entry = nullptr;
  for (auto& m : *models)
    if (m.is_object() && m.contains("id") && m["id"] == id) {
      if (entry) return Status::invalid_argument("registry '" + name + "' lists model '" + id + "' more than once");
      entry = &m;
    }
  if (!entry) return Status::not_found("registry '" + name + "' has no model '" + id + "'");
  auto o = entry->find("onnx");
  if (o == entry->end() || !o->is_string()) return Status::invalid_argument("registry '" + name + "', model '" + id + "': no \"onnx\" path");
  *onnx = o->get<std::string>();
  constexpr const char* kKey = "int8_sha256";
  if (entry->contains(kKey)) {
    (*entry)[kKey] = digest;
  } else {
    bool sorted = true;
    std::string prev;
    for (auto it = entry->begin(); it != entry->end(); ++it) {
      if (it.key() < prev) sorted = false;
      prev = it.key();
    }
    ordered_json rebuilt = ordered_json::object();
    bool placed = false;
    for (auto it = entry->begin(); it != entry->end(); ++it) {
      if (!placed && sorted && it.key() > kKey) {
        rebuilt[kKey] = digest;
        placed = true;
      }
      rebuilt[it.key()] = it.value();
      if (!placed && !sorted && it.key() == "sha256") {
        rebuilt[kKey] = digest;
        placed = true;
      }
    }
    if (!placed) rebuilt[kKey] = digest;
    *entry = std::move(rebuilt);
  }
  return dump_like(doc, text);
}

Result<std::optional<std::string>> set_sidecar_quant_fields(std::string_view text, const std::string& name,
                                                            const std::string& int8_sha256, const std::string& quant_mode) {
  ordered_json doc = ordered_json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Status::corrupt("sidecar '" + name + "' is not a JSON object");
  bool changed = false;
  auto follow = [&](const char* key, const std::string& value) {  // only a key the sidecar has
    auto it = doc.find(key);
    if (it == doc.end() || *it == value) return;
    *it = value;
    changed = true;
  };
  follow("int8_sha256", int8_sha256);
  follow("quant_mode", quant_mode);
  if (!changed) return std::optional<std::string>();
  return std::optional<std::string>(dump_like(doc, text));
}

Result<std::vector<FileWrite>> entry_change_files(const Registry& updated, std::string registry_text, const std::string& id,
                                                  FileWrite artefact) {
  std::vector<FileWrite> files{std::move(artefact)};
  if (const RegistryEntry* e = updated.find(id)) {
    const std::string who = "model '" + id + "', sidecar";
    // read_sidecar decides, as everywhere, whether there is one and whether it can be read.
    auto sidecar = updated.read_sidecar(*e);
    if (!sidecar.is_ok()) return sidecar.status().with_context(who);
    if (sidecar->has_value()) {
      const std::string& file = (*sidecar)->file;
      auto text = util::read_file(file, kMaxRegistryBytes);
      if (!text.is_ok()) return text.status().with_context(who);
      TINYQ_ASSIGN_OR_RETURN(std::optional<std::string> edited,
                             set_sidecar_quant_fields(*text, file, e->int8_sha256, quant_mode_name(e->quant_mode)));
      if (edited) files.push_back({file, std::move(*edited)});
    }
  }
  files.push_back({updated.path(), std::move(registry_text)});
  return files;
}

}  // namespace registry

Result<std::string> write_int8_artifact(const std::string& registry_path, const std::string& id, const std::string& int8_bytes) {
  const std::string digest = sha256_hex(int8_bytes.data(), int8_bytes.size());
  if (digest.empty()) return Status::internal("sha256 failed (libcrypto)");
  std::string int8_path;
  // Through the registry's journal and folder lock (write_journal.h): another writer cannot
  // interleave, and a kill between the renames (artefact, sidecar, registry) is finished by the
  // next writer's recovery.
  TINYQ_RETURN_IF_ERROR(registry::commit_change(registry_path, [&]() -> Result<std::vector<registry::FileWrite>> {
    TINYQ_ASSIGN_OR_RETURN(std::string text, util::read_file(registry_path, kMaxRegistryBytes));
    std::string onnx;
    TINYQ_ASSIGN_OR_RETURN(std::string updated, registry::set_int8_sha256(text, registry_path, id, digest, &onnx));
    RegistryEntry e;
    e.onnx = onnx;
    std::string dir = std::filesystem::path(registry_path).parent_path().string();
    auto resolved = util::resolve_inside(dir.empty() ? "." : dir, e.int8_onnx());
    if (!resolved.is_ok()) return resolved.status().with_context("model '" + id + "'");
    int8_path = *resolved;
    TINYQ_ASSIGN_OR_RETURN(Registry after, Registry::parse(updated, registry_path));
    return registry::entry_change_files(after, std::move(updated), id, {int8_path, int8_bytes});
  }));
  return int8_path;
}

}  // namespace tinyq
