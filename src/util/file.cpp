#include "util/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace tinyq::util {

namespace fs = std::filesystem;

Result<std::string> read_file(const std::string& path, uint64_t max_bytes) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::not_found("'" + path + "': no such file");
  if (fs::is_directory(path, ec)) return Status::invalid_argument("'" + path + "' is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error("'" + path + "': cannot open: " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0) return Status::io_error("'" + path + "': cannot determine its size");
  if (static_cast<uint64_t>(size) > max_bytes)
    return Status::limit("'" + path + "' is " + std::to_string(size) + " bytes, over the limit of " +
                         std::to_string(max_bytes));
  in.seekg(0);
  std::string bytes(static_cast<size_t>(size), '\0');
  if (size > 0 && !in.read(bytes.data(), size)) return Status::io_error("'" + path + "': read failed");
  return bytes;
}

Status write_file_atomic(const std::string& path, const std::string& bytes) {
  fs::path target(path);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::random_device rd;
  std::string tmp = (dir / ("." + target.filename().string() + ".tmp" + std::to_string(rd()))).string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::io_error("'" + path + "': cannot create a temp file in " + dir.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::io_error("'" + path + "': write failed: " + err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Status::io_error("'" + path + "': flush failed: " + err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Status::io_error("'" + path + "': rename failed: " + err);
  }
  // Persist the rename itself.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::ok();
}

Result<std::string> resolve_inside(const std::string& base_dir, const std::string& relative) {
  fs::path rel(relative);
  if (relative.empty()) return Status::invalid_argument("empty path");
  if (rel.is_absolute())
    return Status::integrity("'" + relative + "' is an absolute path; it must be relative to " + base_dir);
  for (const auto& part : rel)
    if (part == "..") return Status::integrity("'" + relative + "' escapes its folder " + base_dir + " (contains '..')");
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::path(base_dir.empty() ? "." : base_dir), ec);
  if (ec) return Status::io_error("cannot resolve folder '" + base_dir + "': " + ec.message());
  fs::path full = fs::weakly_canonical(base / rel, ec);
  if (ec) return Status::io_error("cannot resolve '" + relative + "' in " + base_dir + ": " + ec.message());
  // After resolving symlinks the file must still lie under base.
  auto b = base.begin(), f = full.begin();
  for (; b != base.end(); ++b, ++f)
    if (f == full.end() || *b != *f)
      return Status::integrity("'" + relative + "' resolves to " + full.string() + ", outside its folder " + base.string());
  return full.string();
}

}  // namespace tinyq::util
