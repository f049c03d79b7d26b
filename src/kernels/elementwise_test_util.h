// Test helper for the Highway kernels: runs a check once per SIMD target this CPU supports.
#pragma once

#include <gtest/gtest.h>

#include "kernels/elementwise.h"

namespace tinyq::kernels::testing {

// Calls body() with dispatch limited to each supported target in turn (best first), then
// restores the default. Kernels bind their target when prepared, so body must prepare its own.
template <typename F>
void for_each_simd_target(F&& body) {
  for (int64_t target : simd_targets_for_testing()) {
    limit_simd_target_for_testing(target);
    SCOPED_TRACE(std::string("SIMD target ") + simd_target_name(target));
    body();
  }
  limit_simd_target_for_testing(0);
}

}  // namespace tinyq::kernels::testing
