#include "kernels/int8_ref.h"

#include <string>

namespace tinyq::kernels::int8_ref {

Status check_depth(const PrepareContext& ctx, int64_t depth) {
  if (depth > kMaxExactDepth)
    return ctx.unsupported("sums of " + std::to_string(depth) + " int8 products could overflow int32 (at most " +
                           std::to_string(kMaxExactDepth) + " are exact)");
  return Status::ok();
}

}  // namespace tinyq::kernels::int8_ref
