// Element counts of shapes that come from untrusted models, computed without overflow, and the
// tensor-size limit check that the loader, the planner and kernel factories share.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "tinyq/status.h"

namespace tinyq::util {

// The product of the dimensions, or nullopt when one is negative or the product of the non-zero
// ones overflows int64 (so every partial product a kernel may form fits too).
std::optional<int64_t> checked_numel(std::span<const int64_t> dims);

// Ok when the shape has at most max_elements elements, counting empty (0) dimensions as 1 so that
// an empty tensor with huge dimensions, which kernels still loop over, is refused too. Otherwise
// kLimit "<what> [d0,d1,...] has N elements, more than max_tensor_elements (M)"; kInvalidArgument
// for a negative dimension.
Status check_tensor_elements(std::span<const int64_t> dims, int64_t max_elements, const std::string& what);

}  // namespace tinyq::util
