// How many rows of a zoo set the suites run: all of them, unless TINYQ_ZOO_MAX_ROWS=N caps it at
// the first N. Emulated runs set it (scripts/test-aarch64.sh): under qemu an image model costs
// tens of seconds a row. Shared by the zoo suites and tests/cross_isa/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "tinyq/tensor.h"

namespace tinyq::testing {

inline int64_t zoo_rows(int64_t rows) {
  const char* env = std::getenv("TINYQ_ZOO_MAX_ROWS");
  const long long cap = env && *env ? std::atoll(env) : 0;
  return cap > 0 ? std::min<int64_t>(rows, cap) : rows;
}

// The first zoo_rows(rows) rows (axis 0) of a set's array or of its concatenated reference outputs.
inline Tensor zoo_first_rows(const Tensor& t) {
  if (t.rank() == 0 || zoo_rows(t.shape()[0]) == t.shape()[0]) return t;
  Shape shape = t.shape();
  shape[0] = zoo_rows(shape[0]);
  Tensor out(t.dtype(), shape);
  std::memcpy(out.raw(), t.raw(), out.nbytes());
  return out;
}

}  // namespace tinyq::testing
