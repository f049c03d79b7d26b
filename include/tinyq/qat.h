// Quantisation-aware training from the fp32 ONNX file alone: the graph is rebuilt in libtorch
// with fake quantisation exactly where the static quantiser puts Q/DQ, initialised from static
// calibration on the training set, trained on labels (or distilled from the fp32 outputs), and
// exported as the same QDQ file format with the trained weights and scales. Needs a build with
// TINYQ_WITH_QAT (links libtorch); the library proper (tinyq::tinyq) does not.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tinyq/quantize.h"
#include "tinyq/status.h"

namespace tinyq {

// One epoch as reported while training; epoch 0 is the starting point (static PTQ).
struct QatEpoch {
  int epoch = 0;
  double loss = 0;          // mean training loss over the epoch's batches; NaN for epoch 0
  int64_t rows = 0;         // training rows the epoch visited (every row, once)
  int64_t batches = 0;
  double drop = 0;          // 1 - PLCC(exported int8, fp32) on the validation rows (worst output)
  bool on_validation = false;  // false: `drop` was measured on the training rows
};

struct QatOptions {
  std::string train;       // .npz: one array per model input, rows on axis 0
  // Label array for the model's (single) output. Empty: an array named after an output is its
  // label; outputs without one are distilled (MSE against the fp32 model's outputs).
  std::string labels;
  bool distill = false;    // ignore labels: always distil
  std::string validation;  // .npz measured after each epoch; empty: the training set
  int epochs = 10;
  double learning_rate = 1e-4;
  int64_t batch = 32;
  uint64_t seed = 0;
  bool learn_scales = false;  // LSQ: learn weight and activation scales too
  // Export the epoch (0, static PTQ, included) with the lowest drop on the measured set, rather
  // than the last one: QAT then never hands out a file worse than static PTQ on that set.
  bool keep_best = true;
  // Static calibration that initialises the activation scales (as tinyq quantize static).
  CalibrationMethod method = CalibrationMethod::kMinMax;
  double percentile = 99.999;
  ActivationFormat activations = ActivationFormat::kU8;
  QuantizePlacement placement;
  std::function<void(const QatEpoch&)> on_epoch;  // may be empty
};

struct QatResult {
  QuantizeResult file;          // the file written (mode kQat)
  std::vector<QatEpoch> epochs;  // epoch 0 (static) first
  int exported_epoch = 0;       // the epoch whose state the file holds
  std::string target;           // what was trained towards, e.g. "labels 'vmaf'" or "fp32 outputs"
  int64_t train_rows = 0;
  int64_t parameters = 0;       // trained scalars
};

// Trains and writes `output` (empty: default_int8_path(model_path)) atomically; on any error
// (inputs missing from the training set, labels of the wrong shape, a NaN loss) nothing is
// written and an existing output is left as it was.
Result<QatResult> quantize_qat(const std::string& model_path, const std::string& output, const QatOptions& options);

// Registry entry `id` with quant_mode qat: checks the fp32 file's sha256, trains on the entry's
// train_set (options.train must be empty), writes <stem>.int8.onnx beside the fp32 file and
// records int8_sha256 in the registry; both change, or neither does.
Result<QatResult> quantize_registered_qat(const std::string& registry_path, const std::string& id,
                                          const QatOptions& options);

}  // namespace tinyq
