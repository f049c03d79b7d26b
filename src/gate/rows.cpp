#include "gate/rows.h"

#include <chrono>
#include <cstring>

namespace tinyq::gate {

Result<RowFeeder> RowFeeder::bind(const Session& session, const FixtureSet& fixtures, std::string which) {
  RowFeeder f;
  f.fixtures_ = &fixtures;
  f.which_ = std::move(which);
  for (const TensorSpec& spec : session.inputs()) {
    size_t i = 0;
    while (i < fixtures.inputs.size() && fixtures.inputs[i].first != spec.name) ++i;
    if (i == fixtures.inputs.size())
      return Status::invalid_argument("the " + f.which_ + " '" + session.name() + "' has input '" + spec.name +
                                      "', which fixture set '" + fixtures.file + "' does not feed");
    const Tensor& all = fixtures.inputs[i].second;
    if (all.rank() == 0 || all.shape()[0] != fixtures.rows)
      return Status::invalid_argument("fixture array '" + spec.name + "' in '" + fixtures.file + "' does not hold " +
                                      std::to_string(fixtures.rows) + " rows");
    Shape row = all.shape();
    row[0] = 1;
    f.input_index_.push_back(i);
    f.row_inputs_.emplace_back(all.dtype(), row);
  }
  return f;
}

Result<std::vector<Tensor>> RowFeeder::run(Session& session, int64_t r, double* micros) {
  for (size_t i = 0; i < row_inputs_.size(); ++i) {
    const Tensor& all = fixtures_->inputs[input_index_[i]].second;
    Tensor& row = row_inputs_[i];
    std::memcpy(row.raw(), static_cast<const std::byte*>(all.raw()) + static_cast<size_t>(r) * row.nbytes(), row.nbytes());
  }
  auto start = std::chrono::steady_clock::now();
  auto out = session.run(row_inputs_);
  auto stop = std::chrono::steady_clock::now();
  if (!out.is_ok())
    return out.status().with_context("fixture row " + std::to_string(r) + " of '" + fixtures_->file + "', " + which_);
  if (micros) *micros = std::chrono::duration<double, std::micro>(stop - start).count();
  return out;
}

Result<std::vector<size_t>> find_outputs(const Session& session, std::span<const std::string> names, const std::string& which) {
  std::vector<size_t> index;
  for (const std::string& name : names) {
    size_t k = 0;
    while (k < session.outputs().size() && session.outputs()[k].name != name) ++k;
    if (k == session.outputs().size())
      return Status::invalid_argument("the " + which + " '" + session.name() + "' has no output '" + name + "'");
    index.push_back(k);
  }
  return index;
}

}  // namespace tinyq::gate
