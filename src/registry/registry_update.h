// Writing registry artefacts: several files replaced as one change, and the registry's
// int8_sha256 set without disturbing the rest of the document.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tinyq/status.h"

namespace tinyq::registry {

struct FileWrite {
  std::string path;
  std::string bytes;
};

// Replaces every file in `files` or none: each is written to a temp file beside it and synced,
// existing targets are kept as hard-linked backups, then the temps are renamed in order; when a
// step fails, the renamed targets are restored from their backups (or removed when they did not
// exist) and the temps are deleted. `fault`, for tests, runs before rename i and may fail it.
Status replace_files_together(const std::vector<FileWrite>& files,
                              const std::function<Status(size_t rename_index)>& fault = {});

// The registry text with entry `id`'s "int8_sha256" set to `digest`: an existing key keeps its
// place; a new one goes where alphabetical order puts it when the entry's keys are sorted, else
// after "sha256". Everything else keeps its order; the result uses a 2-space indent and keeps
// the input's final newline. `onnx` receives the entry's "onnx" field.
Result<std::string> set_int8_sha256(std::string_view registry_text, const std::string& registry_name,
                                    const std::string& id, const std::string& digest, std::string* onnx);

}  // namespace tinyq::registry
