// File helpers with tinyq's error conventions: every failure names the file.
#pragma once

#include <cstdint>
#include <string>

#include "tinyq/status.h"

namespace tinyq::util {

// Reads a whole file, refusing files larger than max_bytes.
Result<std::string> read_file(const std::string& path, uint64_t max_bytes = uint64_t{1} << 31);
// Writes bytes to `path` atomically: a temp file beside it, fsync, then rename. On failure the
// temp file is removed and any existing file at `path` is left as it was.
Status write_file_atomic(const std::string& path, const std::string& bytes);
// Resolves `relative` against `base_dir`; fails when the result escapes base_dir (absolute
// paths, "..", or symlinks pointing outside).
Result<std::string> resolve_inside(const std::string& base_dir, const std::string& relative);

}  // namespace tinyq::util
