// Runs a data set through a session one row at a time (a batch of one, as the models are used and
// as dynamic quantisation's per-run scales are meant to be seen), for accuracy measurements.
#pragma once

#include <span>
#include <vector>

#include "io/npy.h"
#include "tinyq/session.h"

namespace tinyq::quant {

// Every output of every row, flattened, concatenated in row order (row 0's outputs in declared
// order, then row 1's...). Arrays named after the session's inputs are fed, [N, ...] each; other
// arrays are ignored. Errors name the missing input or the row that failed.
Result<std::vector<float>> run_rows_flat(Session& session, const io::NamedArrays& set);

// 1 - PLCC(a, b), in double; NaN when either series is constant.
double plcc_drop(std::span<const float> a, std::span<const float> b);

}  // namespace tinyq::quant
