// Post-training int8 quantisation: static (calibrated on an .npz set) and dynamic (activations
// quantised per run), from a model file or a registry entry. The output is a QDQ ONNX file with
// int8 weights that tinyq fuses into its int8 kernels and ONNX Runtime runs as written. Files are
// written atomically: on failure nothing is left behind and an existing output is untouched.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tinyq/registry.h"
#include "tinyq/status.h"

namespace tinyq {

// How calibration turns what it saw at a tensor into a range.
enum class CalibrationMethod { kMinMax, kPercentile, kEntropy, kMse };
// "minmax", "percentile", "entropy", "mse"; anything else is kInvalidArgument naming the value.
Result<CalibrationMethod> parse_calibration_method(std::string_view name);

// Static activations: u8 asymmetric (zero point chosen from the range) or s8 symmetric.
enum class ActivationFormat { kU8, kS8 };
Result<ActivationFormat> parse_activation_format(std::string_view name);  // "u8", "s8"

// Which nodes are quantised. Names and types that match no node are errors.
struct QuantizePlacement {
  bool per_channel = true;  // weights: one scale per output channel, else one per tensor
  std::vector<std::string> op_types = {"Conv", "Gemm", "MatMul"};  // also "ConvTranspose"
  std::vector<std::string> include_nodes;  // when non-empty, only these node names
  std::vector<std::string> exclude_nodes;
  std::vector<std::string> exclude_op_types;
};

struct QuantizeProgress {
  int pass = 0;  // calibration pass (0-based) of `passes`
  int passes = 1;
  int64_t rows_done = 0;
  int64_t rows_total = 0;
};

struct StaticQuantizeOptions {
  std::string calibration;  // .npz: one array per model input, rows on axis 0
  CalibrationMethod method = CalibrationMethod::kMinMax;
  double percentile = 99.999;  // kPercentile only
  ActivationFormat activations = ActivationFormat::kU8;
  // Widens each calibrated activation range by this fraction on every side the graph leaves
  // open (not a graph input, not a Clip/Relu/Sigmoid/Tanh bound), so that data beyond the
  // calibration set does not saturate. 0 quantises over the calibrated range as it is.
  double range_margin = 0.0;
  QuantizePlacement placement;
  std::function<void(const QuantizeProgress&)> progress;  // may be empty
};

struct DynamicQuantizeOptions {
  QuantizePlacement placement;
};

struct QuantizeResult {
  std::string output;  // the file written
  std::string sha256;  // of its bytes
  uint64_t bytes = 0;
  std::vector<std::string> quantized_nodes;
  std::vector<std::string> fp32_nodes;  // selected nodes left fp32: "<node> (<op>): <why>"
  int64_t calibration_rows = 0;         // static only
  QuantMode mode = QuantMode::kStatic;
  // Static only: one line per activation whose calibrated range clips more than 1% of the values
  // calibration saw there (a sign the method cut real values, e.g. entropy on a Relu6).
  std::vector<std::string> warnings;
};

// "<dir>/<stem>.int8.onnx" for "<dir>/<stem>.onnx".
std::string default_int8_path(const std::string& model_path);

// Quantises the model at `model_path` and writes `output` (empty: default_int8_path). The output
// holds every tensor inline (a model with external data becomes self-contained).
Result<QuantizeResult> quantize_static(const std::string& model_path, const std::string& output,
                                       const StaticQuantizeOptions& options);
Result<QuantizeResult> quantize_dynamic(const std::string& model_path, const std::string& output,
                                        const DynamicQuantizeOptions& options = {});

struct RegistryQuantizeOptions {
  // Used for a static entry; `calibration` must be empty: the entry's quant_calibration_set decides.
  StaticQuantizeOptions static_options;
  DynamicQuantizeOptions dynamic_options;
  uint64_t max_model_bytes = kDefaultMaxModelBytes;
};

// Quantises registry entry `id` by its quant_mode (static with its quant_calibration_set, or
// dynamic) after checking the fp32 file against its sha256, writes <stem>.int8.onnx beside it
// and records int8_sha256 in the registry: both files change, or neither does. An fp32 entry
// has nothing to quantise; a qat entry needs `tinyq qat`.
Result<QuantizeResult> quantize_registered(const std::string& registry_path, const std::string& id,
                                           const RegistryQuantizeOptions& options = {});

}  // namespace tinyq
