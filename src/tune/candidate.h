// One candidate of tune: quantise the fp32 model by a recipe into a file, then measure that file
// against the fp32 model on the fixtures, as the gate would.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tinyq/tune.h"

namespace tinyq::tune {

// What every candidate of one tune run shares.
struct Bench {
  std::string fp32_path;    // the fp32 file, its digest verified
  std::string calibration;  // resolved quant_calibration_set; "" when there is none
  std::string train_set;    // resolved train_set; "" when there is none
  Session* fp32 = nullptr;  // a session of the fp32 model
  const FixtureSet* fixtures = nullptr;
  std::optional<GateReference> reference;  // the entry's quant_gate_reference
  double budget = 0;
  SessionOptions session;
  const QatTrainer* qat = nullptr;
  int qat_epochs = 10;
};

// phase ("calibrating", "training", "evaluating"), units done, units in all.
using PhaseProgress = std::function<void(const char* phase, int64_t done, int64_t total)>;

// Writes the recipe's int8 file to `output`. `quantized` (may be null) receives the nodes made
// int8; a trainer does not say, so it stays empty for qat.
Status make_candidate(const Bench& bench, const TuneRecipe& recipe, const std::string& output,
                      std::vector<std::string>* quantized, const PhaseProgress& progress);

// Measures the int8 file at `output` against the fp32 session on the fixtures: the trial's drop,
// latency and verdict (or why it could not be measured).
TuneTrial measure_candidate(const Bench& bench, const TuneRecipe& recipe, const std::string& output,
                            const PhaseProgress& progress);

}  // namespace tinyq::tune
