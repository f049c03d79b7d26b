// Feeding a fixture set to a session one row at a time (a batch of one), as the models are used
// and as dynamic quantisation's per-run scales are meant to be seen.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "tinyq/gate.h"

namespace tinyq::gate {

class RowFeeder {
 public:
  // Matches the session's inputs to the fixture arrays by name; `which` names the session in
  // errors ("fp32 model"). The fixture set must outlive the feeder.
  static Result<RowFeeder> bind(const Session& session, const FixtureSet& fixtures, std::string which);
  // Runs row r. When `micros` is given it receives the wall time of the run alone.
  Result<std::vector<Tensor>> run(Session& session, int64_t r, double* micros = nullptr);

 private:
  const FixtureSet* fixtures_ = nullptr;
  std::string which_;
  std::vector<size_t> input_index_;  // session input i is fixtures_->inputs[input_index_[i]]
  std::vector<Tensor> row_inputs_;   // batch-1 buffers, refilled per row
};

// The position of each of `names` among the session's outputs; an error names a missing one.
Result<std::vector<size_t>> find_outputs(const Session& session, std::span<const std::string> names, const std::string& which);

}  // namespace tinyq::gate
