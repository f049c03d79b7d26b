// The ONNX edge: converts between ONNX protobuf files and tinyq's IR. This is the only place
// that sees libonnx's protobuf classes.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "ir/graph.h"
#include "tinyq/status.h"
#include "tinyq/tensor.h"

namespace tinyq::onnx_io {

// Oldest and newest default-domain opsets the loader accepts.
inline constexpr int64_t kMinOpset = 7;
inline constexpr int64_t kMaxOpset = 21;

struct LoadOptions {
  // Upper bound on the model file and on any external data file, in bytes.
  uint64_t max_file_bytes = uint64_t{1} << 31;
};

// Parses `bytes` (an ONNX ModelProto). External data is resolved relative to `base_dir` and may
// not escape it; `display_name` names the model in error messages.
Result<ir::Model> parse_model(const void* bytes, size_t size, const std::string& base_dir,
                              const std::string& display_name, const LoadOptions& options = {});
// Reads and parses a .onnx file (external data next to it).
Result<ir::Model> load_model(const std::string& path, const LoadOptions& options = {});

// Serialises the model; tensors are stored inline as raw_data.
Result<std::string> serialize_model(const ir::Model& model);
// Writes the model to `path` atomically (temp file in the same folder, then rename).
Status save_model(const ir::Model& model, const std::string& path);

// Reads an ONNX TensorProto file (.pb), as the ONNX node tests store them. Returns name and value.
Result<std::pair<std::string, Tensor>> load_tensor_pb(const std::string& path);
Result<std::pair<std::string, Tensor>> parse_tensor_pb(const void* bytes, size_t size, const std::string& display_name);

}  // namespace tinyq::onnx_io
