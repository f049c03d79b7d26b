// The temp folder where tune writes its candidates: removed when tune returns; one left by a
// killed tune (its process gone) is removed by the next tune that starts.
#pragma once

#include <string>

#include "tinyq/status.h"

namespace tinyq::tune {

class WorkDir {
 public:
  // A new folder "tinyq-tune.<pid>.XXXXXX" in the system temp folder ($TMPDIR). Removes first the
  // folders of that name, owned by this user, whose process no longer runs.
  static Result<WorkDir> create();
  WorkDir(WorkDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  WorkDir& operator=(WorkDir&&) = delete;
  WorkDir(const WorkDir&) = delete;
  ~WorkDir();

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  explicit WorkDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace tinyq::tune
