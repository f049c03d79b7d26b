// The journal that makes a registry change crash-safe, and the recovery that reads it.
//
// replace_files_together() writes every new file to a temp beside its target, links backups,
// then renames the temps in order, the registry last. The journal is written (atomically)
// before any temp and removed after the last rename, so while it exists:
//   - a target whose bytes have the new digest was renamed already;
//   - renames start only once every temp is complete, so if every target is either new or has a
//     complete temp (".<name>.tmp<digits>" with the new digest), the change can be finished by
//     renaming those temps (roll forward);
//   - otherwise some temp was still being written, nothing was renamed, and the old files stand.
// Either way the temps and backups (".<name>.old<digits>") are then deleted, and the journal.
#include "registry/write_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tinyq/registry.h"
#include "util/file.h"

namespace tinyq::registry {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kJournalVersion = 1;
constexpr uint64_t kMaxJournalBytes = uint64_t{1} << 20;  // a few paths and digests
constexpr std::chrono::milliseconds kLockPoll{50};

std::string folder_of(const std::string& path) {
  std::string d = fs::path(path).parent_path().string();
  return d.empty() ? "." : d;
}

// The temp and backup names that replace_files_together() and util::write_file_atomic() give a
// target: ".<name>.tmp<digits>" and ".<name>.old<digits>".
bool is_leftover_of(const std::string& file, const std::string& target_name) {
  for (const char* tag : {".tmp", ".old"}) {
    const std::string prefix = "." + target_name + tag;
    if (file.size() <= prefix.size() || file.compare(0, prefix.size(), prefix) != 0) continue;
    bool digits = true;
    for (size_t i = prefix.size(); i < file.size(); ++i) digits = digits && std::isdigit(static_cast<unsigned char>(file[i]));
    if (digits) return true;
  }
  return false;
}

// Every temp or backup of `target` in its folder.
std::vector<fs::path> leftovers(const fs::path& target) {
  std::vector<fs::path> out;
  std::error_code ec;
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string name = target.filename().string();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (is_leftover_of(it->path().filename().string(), name)) out.push_back(it->path());
  return out;
}

bool is_temp(const fs::path& p, const std::string& target_name) {
  const std::string f = p.filename().string();
  return is_leftover_of(f, target_name) && f.compare(target_name.size() + 1, 4, ".tmp") == 0;
}

// sha256 of a file's bytes; "" when it cannot be read (absent, or not a file).
std::string digest_of(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return "";
  auto bytes = util::read_file(p.string());
  return bytes.is_ok() ? sha256_hex(bytes->data(), bytes->size()) : "";
}

void sync_folder(const std::string& dir) {
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  ::fsync(dfd);
  ::close(dfd);
}

void remove_leftovers(const fs::path& target) {
  for (const fs::path& p : leftovers(target)) ::unlink(p.c_str());
}

struct JournalFile {
  fs::path target;
  std::string sha256;
};

Result<std::vector<JournalFile>> read_journal(const std::string& jpath, const fs::path& dir) {
  TINYQ_ASSIGN_OR_RETURN(std::string text, util::read_file(jpath, kMaxJournalBytes));
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  const std::string why = "registry journal '" + jpath + "' is unreadable; an earlier write was interrupted: check the " +
                          "registry and its int8 files by hand, then delete the journal";
  if (!doc.is_object() || doc.value("tinyq_registry_journal", 0) != kJournalVersion || !doc.contains("files") ||
      !doc["files"].is_array())
    return Status::corrupt(why);
  std::vector<JournalFile> out;
  for (const json& f : doc["files"]) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("sha256") || !f["sha256"].is_string())
      return Status::corrupt(why);
    const fs::path rel = f["path"].get<std::string>();
    if (rel.is_absolute() || rel.lexically_normal().string().starts_with("..")) return Status::corrupt(why);
    out.push_back({dir / rel, f["sha256"].get<std::string>()});
  }
  return out;
}

// Finishes or abandons the change a journal describes, then deletes its temps and backups.
Status settle(const std::vector<JournalFile>& files) {
  std::vector<fs::path> temps(files.size());
  bool complete = true;
  for (size_t i = 0; i < files.size(); ++i) {
    if (digest_of(files[i].target) == files[i].sha256) continue;
    for (const fs::path& p : leftovers(files[i].target))
      if (is_temp(p, files[i].target.filename().string()) && digest_of(p) == files[i].sha256) temps[i] = p;
    if (temps[i].empty()) complete = false;
  }
  if (complete)
    for (size_t i = 0; i < files.size(); ++i)
      if (!temps[i].empty() && ::rename(temps[i].c_str(), files[i].target.c_str()) != 0)
        return Status::io_error("finishing an interrupted registry write: cannot rename '" + temps[i].string() + "' to '" +
                                files[i].target.string() + "': " + std::strerror(errno));
  for (const JournalFile& f : files) {
    remove_leftovers(f.target);
    sync_folder(folder_of(f.target.string()));
  }
  return Status::ok();
}

}  // namespace

std::string journal_path(const std::string& registry_path) {
  const fs::path p(registry_path);
  return (fs::path(folder_of(registry_path)) / ("." + p.filename().string() + ".journal")).string();
}

Result<FolderLock> FolderLock::acquire(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::io_error("cannot open folder '" + dir + "' to lock it: " + std::strerror(errno));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kLockWaitSeconds);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      std::string err = std::strerror(errno);
      ::close(fd);
      return Status::io_error("cannot lock folder '" + dir + "': " + err);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::close(fd);
      return Status::io_error("folder '" + dir + "' stayed locked by another tinyq writing its registry for " +
                              std::to_string(kLockWaitSeconds) + " s");
    }
    std::this_thread::sleep_for(kLockPoll);
  }
  return FolderLock(fd);
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

Status recover_locked(const std::string& registry_path) {
  const std::string dir = folder_of(registry_path);
  const std::string jpath = journal_path(registry_path);
  std::error_code ec;
  if (fs::exists(jpath, ec)) {
    TINYQ_ASSIGN_OR_RETURN(std::vector<JournalFile> files, read_journal(jpath, dir));
    TINYQ_RETURN_IF_ERROR(settle(files));
    if (::unlink(jpath.c_str()) != 0)
      return Status::io_error("cannot remove the registry journal '" + jpath + "': " + std::strerror(errno));
    sync_folder(dir);
  }
  // No change is under way now (we hold the lock): any temp or backup of the registry, the
  // journal, an int8 artefact or a sidecar is debris from a writer that died.
  std::set<fs::path> targets = {fs::path(registry_path), fs::path(jpath)};
  if (auto reg = Registry::read(registry_path); reg.is_ok())
    for (const RegistryEntry& e : reg->models())
      for (const std::string& file : {e.int8_onnx(), e.sidecar()})
        if (auto p = reg->resolve(file); p.is_ok()) targets.insert(*p);
  for (const fs::path& t : targets) remove_leftovers(t);
  return Status::ok();
}

Status commit_change(const std::string& registry_path, const ChangeBuilder& build) {
  const std::string dir = folder_of(registry_path);
  TINYQ_ASSIGN_OR_RETURN(FolderLock lock, FolderLock::acquire(dir));
  TINYQ_RETURN_IF_ERROR(recover_locked(registry_path));
  TINYQ_ASSIGN_OR_RETURN(std::vector<FileWrite> files, build());
  json doc = {{"tinyq_registry_journal", kJournalVersion}, {"files", json::array()}};
  const fs::path base = fs::absolute(dir).lexically_normal();
  for (const FileWrite& f : files) {
    const std::string digest = sha256_hex(f.bytes.data(), f.bytes.size());
    if (digest.empty()) return Status::internal("sha256 failed (libcrypto)");
    doc["files"].push_back({{"path", fs::absolute(f.path).lexically_normal().lexically_relative(base).string()}, {"sha256", digest}});
  }
  const std::string jpath = journal_path(registry_path);
  TINYQ_RETURN_IF_ERROR(util::write_file_atomic(jpath, doc.dump(1) + "\n"));
  Status st = replace_files_together(files);
  // On success the change is complete; on failure replace_files_together() has put the old files
  // back. Recovery confirms either and clears the journal.
  Status rec = recover_locked(registry_path);
  if (!st.is_ok()) return st;
  return rec;
}

}  // namespace tinyq::registry
