// Test hooks over Highway's run-time target choice, so fast kernels can be checked on every SIMD
// target this CPU supports and not only the best one.
#include <hwy/targets.h>

#include "kernels/elementwise.h"

namespace tinyq::kernels {

std::vector<int64_t> simd_targets_for_testing() {
  std::vector<int64_t> out;
  const int64_t supported = hwy::SupportedTargets();
  for (int bit = 0; bit < 63; ++bit)  // lower bits are better targets
    if (supported & (int64_t{1} << bit)) out.push_back(int64_t{1} << bit);
  return out;
}

void limit_simd_target_for_testing(int64_t target) {
  // Disabling every better target (all lower bits) makes `target` the best remaining one.
  hwy::DisableTargets(target == 0 ? 0 : target - 1);
}

const char* simd_target_name(int64_t target) { return hwy::TargetName(target); }

}  // namespace tinyq::kernels
