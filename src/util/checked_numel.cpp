#include "util/checked_numel.h"

namespace tinyq::util {

namespace {

// Product of the dimensions with 0 counted as 1; nullopt on a negative dimension or overflow.
std::optional<int64_t> extent_product(std::span<const int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) return std::nullopt;
    if (d > 0 && __builtin_mul_overflow(n, d, &n)) return std::nullopt;
  }
  return n;
}

}  // namespace

std::optional<int64_t> checked_numel(std::span<const int64_t> dims) {
  std::optional<int64_t> n = extent_product(dims);
  if (!n) return n;
  for (int64_t d : dims)
    if (d == 0) return 0;
  return n;
}

Status check_tensor_elements(std::span<const int64_t> dims, int64_t max_elements, const std::string& what) {
  auto shape_text = [&dims] {
    std::string out = "[";
    for (size_t i = 0; i < dims.size(); ++i) out += (i ? "," : "") + std::to_string(dims[i]);
    return out + "]";
  };
  for (int64_t d : dims)
    if (d < 0) return Status::invalid_argument(what + " " + shape_text() + " has a negative dimension");
  const std::string limit = "more than max_tensor_elements (" + std::to_string(max_elements) + ")";
  std::optional<int64_t> n = extent_product(dims);
  if (!n) return Status::limit(what + " " + shape_text() + " has more elements than int64 can count, " + limit);
  if (*n > max_elements) {
    bool empty = false;
    for (int64_t d : dims) empty |= d == 0;
    return Status::limit(what + " " + shape_text() + " has " + std::to_string(*n) + " elements" +
                         (empty ? " (empty dimensions counted as 1), " : ", ") + limit);
  }
  return Status::ok();
}

}  // namespace tinyq::util
