#include "qat/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

#include "io/npy.h"

namespace tinyq::qat {

namespace {

// Joins tensors along axis 0 (all shaped alike past it).
Tensor concat_rows(const std::vector<Tensor>& parts) {
  Shape shape = parts[0].shape();
  shape[0] = 0;
  for (const auto& p : parts) shape[0] += p.shape()[0];
  Tensor out(parts[0].dtype(), shape);
  size_t at = 0;
  for (const auto& p : parts) {
    std::memcpy(static_cast<std::byte*>(out.raw()) + at, p.raw(), p.nbytes());
    at += p.nbytes();
  }
  return out;
}

// The fp32 model's outputs over every row, `batch` rows per forward pass.
Result<std::vector<Tensor>> fp32_outputs(const QatModel& model, const std::vector<Tensor>& inputs, int64_t rows, int64_t batch) {
  std::vector<std::vector<Tensor>> parts(model.output_names().size());
  for (int64_t start = 0; start < rows; start += batch) {
    std::vector<int64_t> idx(static_cast<size_t>(std::min(batch, rows - start)));
    std::iota(idx.begin(), idx.end(), start);
    std::vector<Tensor> feed;
    for (const auto& t : inputs) feed.push_back(gather_rows(t, idx));
    TINYQ_ASSIGN_OR_RETURN(std::vector<Tensor> out, model.predict(feed, false));
    for (size_t o = 0; o < out.size(); ++o) {
      if (out[o].rank() == 0 || out[o].shape()[0] != static_cast<int64_t>(idx.size()))
        return Status::unsupported("output '" + model.output_names()[o] + "' is " + shape_str(out[o].shape()) + " for " +
                                   std::to_string(idx.size()) + " rows; QAT needs outputs with rows on axis 0");
      parts[o].push_back(std::move(out[o]));
    }
  }
  std::vector<Tensor> out;
  for (const auto& p : parts) out.push_back(concat_rows(p));
  return out;
}

// Float32 labels with the output's rows and values per row; kept in the output's shape.
Result<Tensor> check_label(const Tensor& label, const Tensor& output, const std::string& array, const std::string& out_name,
                           const std::string& file) {
  const std::string where = "label array '" + array + "' in '" + file + "'";
  if (label.dtype() != DType::kFloat32)
    return Status::invalid_argument(where + " is " + dtype_name(label.dtype()) + "; labels must be float32");
  if (label.rank() == 0 || label.shape()[0] != output.shape()[0] || label.numel() != output.numel())
    return Status::invalid_argument(where + " has shape " + shape_str(label.shape()) + ", but output '" + out_name + "' is " +
                                    shape_str(output.shape()) + " for these rows");
  return label.reshaped(output.shape());
}

// Fisher-Yates with a fully specified generator, so an order is the same on every platform.
void shuffle(std::vector<int64_t>& order, std::mt19937_64& rng) {
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
}

}  // namespace

Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& rows) {
  Shape shape = t.shape();
  const size_t row_bytes = t.nbytes() / static_cast<size_t>(shape[0]);
  shape[0] = static_cast<int64_t>(rows.size());
  Tensor out(t.dtype(), shape);
  for (size_t r = 0; r < rows.size(); ++r)
    std::memcpy(static_cast<std::byte*>(out.raw()) + r * row_bytes,
                static_cast<const std::byte*>(t.raw()) + static_cast<size_t>(rows[r]) * row_bytes, row_bytes);
  return out;
}

Result<TrainingData> load_training_data(const FixtureSet& fixtures, const QatModel& teacher, const std::string& labels,
                                        bool distill, int64_t batch) {
  if (batch < 1) return Status::invalid_argument("batch must be >= 1, not " + std::to_string(batch));
  const std::string& path = fixtures.file;
  TrainingData data;
  data.file = path;
  data.rows = fixtures.rows;
  for (auto& [name, t] : fixtures.inputs) data.inputs.push_back(t);
  TINYQ_ASSIGN_OR_RETURN(data.targets, fp32_outputs(teacher, data.inputs, data.rows, batch));
  const auto& outs = teacher.output_names();
  std::vector<std::string> label_arrays(outs.size());
  if (!distill && !labels.empty()) {
    if (outs.size() != 1)
      return Status::invalid_argument("--labels names one array, but the model has " + std::to_string(outs.size()) +
                                      " outputs; name each label array after its output instead");
    label_arrays[0] = labels;
  } else if (!distill) {
    for (size_t o = 0; o < outs.size(); ++o)
      if (fixtures.label(outs[o])) label_arrays[o] = outs[o];
  }
  io::NamedArrays arrays;
  if (!labels.empty() && !distill) {
    TINYQ_ASSIGN_OR_RETURN(arrays, io::read_npz(path));
  }
  for (size_t o = 0; o < outs.size(); ++o) {
    const std::string what = outs.size() > 1 ? " for '" + outs[o] + "'" : "";
    if (label_arrays[o].empty()) {
      data.target += (data.target.empty() ? "" : ", ") + std::string("fp32 outputs") + what;
      continue;
    }
    const Tensor* label = fixtures.label(label_arrays[o]);
    for (const auto& [name, t] : arrays)
      if (name == label_arrays[o]) label = &t;
    if (!label) return Status::invalid_argument("training set '" + path + "' has no label array '" + label_arrays[o] + "'");
    TINYQ_ASSIGN_OR_RETURN(data.targets[o], check_label(*label, data.targets[o], label_arrays[o], outs[o], path));
    data.target += (data.target.empty() ? "" : ", ") + ("labels '" + label_arrays[o] + "'") + what;
  }
  return data;
}

Result<std::vector<QatEpoch>> train_epochs(QatModel& model, const TrainingData& data, const TrainLoopOptions& options) {
  if (options.epochs < 0) return Status::invalid_argument("epochs must be >= 0, not " + std::to_string(options.epochs));
  if (options.batch < 1) return Status::invalid_argument("batch must be >= 1, not " + std::to_string(options.batch));
  std::vector<QatEpoch> epochs;
  auto report = [&](QatEpoch e) -> Status {
    if (options.measure) {
      TINYQ_ASSIGN_OR_RETURN(e.drop, options.measure(e.epoch));
      e.on_validation = options.measured_on_validation;
    }
    if (options.on_epoch) options.on_epoch(e);
    epochs.push_back(e);
    return Status::ok();
  };
  TINYQ_RETURN_IF_ERROR(report(QatEpoch{0, std::numeric_limits<double>::quiet_NaN(), 0, 0, 0.0, false}));

  std::mt19937_64 rng(options.seed);
  std::vector<int64_t> order(static_cast<size_t>(data.rows));
  std::iota(order.begin(), order.end(), 0);
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    const double pi = std::acos(-1.0);
    model.set_learning_rate(options.learning_rate * 0.5 * (1.0 + std::cos(pi * (epoch - 1) / options.epochs)));
    shuffle(order, rng);  // a new order every epoch, continuing one seeded stream
    if (options.on_order) options.on_order(epoch, order);
    QatEpoch e{epoch, 0.0, 0, 0, 0.0, false};
    double weighted = 0.0;
    for (int64_t start = 0; start < data.rows; start += options.batch) {
      const std::vector<int64_t> idx(order.begin() + start, order.begin() + std::min(data.rows, start + options.batch));
      std::vector<Tensor> inputs, targets;
      for (const auto& t : data.inputs) inputs.push_back(gather_rows(t, idx));
      for (const auto& t : data.targets) targets.push_back(gather_rows(t, idx));
      auto loss = model.train_step(inputs, targets);
      if (!loss.is_ok())
        return loss.status().with_context("epoch " + std::to_string(epoch) + ", batch " + std::to_string(e.batches + 1) +
                                          ": training stopped");
      weighted += *loss * static_cast<double>(idx.size());
      e.rows += static_cast<int64_t>(idx.size());
      ++e.batches;
    }
    e.loss = weighted / static_cast<double>(std::max<int64_t>(e.rows, 1));
    TINYQ_RETURN_IF_ERROR(report(e));
  }
  return epochs;
}

}  // namespace tinyq::qat
