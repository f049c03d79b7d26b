// The ONNX edge: converts between ONNX protobuf files and tinyq's IR. This is the only place
// that sees libonnx's protobuf classes.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "ir/graph.h"
#include "tinyq/session.h"
#include "tinyq/status.h"
#include "tinyq/tensor.h"

namespace tinyq::onnx_io {

// Oldest and newest default-domain opsets the loader accepts.
inline constexpr int64_t kMinOpset = 7;
inline constexpr int64_t kMaxOpset = 21;

// Limits on what a model may make the loader allocate; over any of them is kLimit naming the model.
struct LoadOptions {
  // Upper bound on the model file and on any external data file, in bytes.
  uint64_t max_file_bytes = ResourceLimits{}.max_model_bytes;
  int64_t max_tensor_elements = ResourceLimits{}.max_tensor_elements;  // any initializer or tensor attribute
  int64_t max_nodes = ResourceLimits{}.max_nodes;
  uint64_t max_constant_bytes = ResourceLimits{}.max_session_bytes;  // all initializers and tensor attributes
};
// The loader's share of a session's limits.
LoadOptions load_options(const ResourceLimits& limits);

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
