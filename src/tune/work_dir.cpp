#include "tune/work_dir.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace tinyq::tune {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "tinyq-tune.";

// The pid in "tinyq-tune.<pid>.XXXXXX", or 0.
pid_t owner_pid(const std::string& name) {
  if (name.compare(0, kPrefix.size(), kPrefix) != 0) return 0;
  char* end = nullptr;
  long pid = std::strtol(name.c_str() + kPrefix.size(), &end, 10);
  return (end && *end == '.' && pid > 0) ? static_cast<pid_t>(pid) : 0;
}

void remove_stale(const fs::path& tmp) {
  std::error_code ec;
  for (fs::directory_iterator it(tmp, ec), end; !ec && it != end; it.increment(ec)) {
    const pid_t pid = owner_pid(it->path().filename().string());
    struct stat st;
    if (pid == 0 || ::lstat(it->path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::getuid()) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) fs::remove_all(it->path(), ec);
  }
}

}  // namespace

Result<WorkDir> WorkDir::create() {
  std::error_code ec;
  fs::path tmp = fs::temp_directory_path(ec);
  if (ec) return Status::io_error("no temp folder for tune's candidates: " + ec.message());
  remove_stale(tmp);
  std::string templ = (tmp / (std::string(kPrefix) + std::to_string(::getpid()) + ".XXXXXX")).string();
  if (!::mkdtemp(templ.data())) return Status::io_error("cannot create a temp folder in '" + tmp.string() + "': " + std::strerror(errno));
  return WorkDir(templ);
}

WorkDir::~WorkDir() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace tinyq::tune
