// Writing registry artefacts: several files replaced as one change, the registry's int8_sha256
// set without disturbing the rest of the document, and a sidecar brought in line with it.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tinyq/status.h"

namespace tinyq {
class Registry;
}

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

// A registry or sidecar document as text the way `original` was written: a 2-space indent, the
// original's final newline, and, when the original is all ASCII (as Python's json writes it), any
// other character as a \u escape, so that an edit changes only the lines it edits.
std::string dump_like(const nlohmann::ordered_json& doc, std::string_view original);

// The sidecar text with "int8_sha256" and "quant_mode" set to these values, each only where the
// sidecar already has that key (none is added). nullopt when nothing changes: it has neither key
// (the older layout) or already says these values. Other keys keep their order; the result uses
// a 2-space indent, keeps the input's final newline and, when the input is all ASCII, writes any
// other character as a \u escape (as the Python that writes these files does). kCorrupt naming
// `sidecar_name` when the text is not a JSON object.
Result<std::optional<std::string>> set_sidecar_quant_fields(std::string_view sidecar_text, const std::string& sidecar_name,
                                                            const std::string& int8_sha256, const std::string& quant_mode);

// The files of one change to entry `id`, in the order they are renamed: its int8 artefact, its
// sidecar where that must now say what `updated` (the registry as the change leaves it, whose text
// is `registry_text`) says of int8_sha256 and quant_mode (set_sidecar_quant_fields), and the
// registry last. A sidecar that cannot be read or is not a JSON object is an error naming it.
Result<std::vector<FileWrite>> entry_change_files(const Registry& updated, std::string registry_text, const std::string& id,
                                                  FileWrite artefact);

}  // namespace tinyq::registry
