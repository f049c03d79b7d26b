// QAT's training loop: the training rows and their targets (labels or the fp32 model's
// outputs), then epochs that each visit every row once in a fresh seeded order.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "qat/qat_model.h"
#include "tinyq/gate.h"
#include "tinyq/qat.h"
#include "tinyq/session.h"
#include "tinyq/status.h"

namespace tinyq::qat {

// The training set: model inputs [rows, ...] in graph-input order, one target per output.
struct TrainingData {
  std::string file;
  int64_t rows = 0;
  std::vector<Tensor> inputs;
  std::vector<Tensor> targets;  // shaped like the model's outputs over all rows
  std::string target;           // "labels 'vmaf'", "fp32 outputs", or a mix per output
};

// The training rows of `set` (read by load_fixtures against the fp32 model) and their targets.
// Labels: `labels` names the array for the model's single output; otherwise an array named
// after an output is its label; with `distill`, or for outputs without labels, the targets are
// the fp32 outputs (`teacher`, the fp32 model, `batch` rows per pass). Errors name the file and
// array: a label whose rows or values per row do not match its output.
Result<TrainingData> load_training_data(const FixtureSet& set, const QatModel& teacher, const std::string& labels,
                                        bool distill, int64_t batch);

// The rows `rows` of t (gathered along axis 0).
Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& rows);

struct TrainLoopOptions {
  int epochs = 1;
  // Peak learning rate; each epoch uses lr * (1 + cos(pi * (epoch - 1) / epochs)) / 2, so the
  // last epochs take small steps and the exported state is not caught mid-oscillation.
  double learning_rate = 1e-4;
  int64_t batch = 32;
  uint64_t seed = 0;
  // Called before training (epoch 0) and after every epoch: the drop to report (or an error).
  std::function<Result<double>(int epoch)> measure;
  bool measured_on_validation = false;  // reported with each epoch
  std::function<void(const QatEpoch&)> on_epoch;
  std::function<void(int epoch, const std::vector<int64_t>& order)> on_order;  // for tests; may be empty
};

// Runs the epochs. A non-finite loss stops training with an error naming the epoch and batch.
Result<std::vector<QatEpoch>> train_epochs(QatModel& model, const TrainingData& data, const TrainLoopOptions& options);

}  // namespace tinyq::qat
