// Registry changes that survive SIGKILL. A change replaces several files (an int8 artefact, its
// sidecar when that follows the registry, then the registry); no rename sequence makes two files change at once, so a journal beside the
// registry names every target and its new digest for as long as the renames run. Whoever writes
// next (or calls recover) finishes the change when all the new bytes are on disk and otherwise
// keeps the old files, then deletes the temps. Writers hold an exclusive lock on the folder.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "registry/registry_update.h"
#include "tinyq/status.h"

namespace tinyq::registry {

// ".<registry file name>.journal", beside the registry.
std::string journal_path(const std::string& registry_path);

// Makes the files of one registry change (the registry last). Called with the folder lock held
// and any earlier change recovered, so it reads the registry as it now stands.
using ChangeBuilder = std::function<Result<std::vector<FileWrite>>()>;

// Takes the folder lock, recovers any change a killed writer left, calls `build`, writes the
// journal, runs replace_files_together() on the files built, and removes the journal.
Status commit_change(const std::string& registry_path, const ChangeBuilder& build);

// recover_registry_writes() (tinyq/registry.h) with the folder lock already held.
Status recover_locked(const std::string& registry_path);

// An exclusive flock on a folder, released when this object goes or the process dies (so a
// SIGKILLed writer never leaves a stale lock). Waits up to kLockWaitSeconds for another writer.
class FolderLock {
 public:
  static constexpr int kLockWaitSeconds = 120;
  static Result<FolderLock> acquire(const std::string& dir);
  FolderLock(FolderLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FolderLock& operator=(FolderLock&&) = delete;
  FolderLock(const FolderLock&) = delete;
  ~FolderLock();

 private:
  explicit FolderLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace tinyq::registry
