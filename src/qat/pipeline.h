// QAT on tinyq's IR, start to finish: static calibration on the training set, the trainable
// fake-quantised model, the epochs, and the exported QDQ model. The public API
// (include/tinyq/qat.h) and bench/qat_accuracy.cpp are thin layers over run_qat().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/plan.h"
#include "tinyq/qat.h"
#include "tinyq/status.h"

namespace tinyq::qat {

struct QatRun {
  ir::Model int8;  // the QDQ model of the exported epoch (the best, or the last: QatOptions::keep_best)
  int exported_epoch = 0;
  quant::QuantPlan plan;
  std::vector<QatEpoch> epochs;  // epoch 0 (static PTQ) first
  std::string target;
  int64_t train_rows = 0;
  int64_t parameters = 0;
};

// `name` names the model in messages.
Result<QatRun> run_qat(const ir::Model& fp32, const std::string& name, const QatOptions& options);

}  // namespace tinyq::qat
