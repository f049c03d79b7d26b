#include "kernels/broadcast.h"

#include <algorithm>
#include <string>

namespace tinyq::kernels {

namespace {

// Dim d (counted from the right) of s, or 1 where s has fewer dims.
int64_t dim_from_right(const Shape& s, size_t d) { return d < s.size() ? s[s.size() - 1 - d] : 1; }

// Row-major strides of `in` aligned to `out`'s rank, 0 where `in` is broadcast (size 1 or absent).
std::vector<int64_t> aligned_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t s = 1;
  for (size_t d = 0; d < out.size(); ++d) {
    const int64_t dim = dim_from_right(in, d);
    strides[out.size() - 1 - d] = (dim == 1) ? 0 : s;
    s *= dim;
  }
  return strides;
}

}  // namespace

Result<Shape> broadcast_shape(const PrepareContext& ctx, const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t da = dim_from_right(a, d), db = dim_from_right(b, d);
    if (da != db && da != 1 && db != 1)
      return ctx.error("shapes " + shape_str(a) + " and " + shape_str(b) + " cannot be broadcast together");
    out[rank - 1 - d] = (da == 1) ? db : da;
  }
  return out;
}

Result<BroadcastPlan> make_broadcast_plan(const PrepareContext& ctx, const Shape& a, const Shape& b,
                                          const Shape& out) {
  BroadcastPlan p;
  p.numel = shape_numel(out);
  const std::vector<int64_t> sa = aligned_strides(a, out), sb = aligned_strides(b, out);
  // Merged dims, outermost first. Two neighbours merge when each input either moves along both
  // (then its strides chain: outer = inner * inner size) or along neither.
  std::vector<int64_t> dims, str_a, str_b;
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1) continue;
    const bool am = sa[d] != 0, bm = sb[d] != 0;
    if (!dims.empty() && (str_a.back() != 0) == am && (str_b.back() != 0) == bm) {
      dims.back() *= out[d];
      str_a.back() = sa[d];
      str_b.back() = sb[d];
      continue;
    }
    dims.push_back(out[d]);
    str_a.push_back(sa[d]);
    str_b.push_back(sb[d]);
  }
  if (dims.empty()) {  // every dim is 1: a single element, both inputs read at offset 0
    dims = {1};
    str_a = {1};
    str_b = {1};
  }
  if (dims.size() > static_cast<size_t>(BroadcastPlan::kMaxRank))
    return ctx.unsupported("broadcasting " + shape_str(a) + " with " + shape_str(b) + " needs " +
                           std::to_string(dims.size()) + " loop levels; at most " +
                           std::to_string(BroadcastPlan::kMaxRank) + " are supported");
  p.rank = static_cast<int>(dims.size());
  // After merging, a moving input's stride on a merged dim is that of its innermost member.
  for (int d = 0; d < p.rank; ++d) {
    p.dims[d] = dims[d];
    p.stride_a[d] = str_a[d];
    p.stride_b[d] = str_b[d];
  }
  return p;
}

BroadcastIndex make_broadcast_index(const Shape& a, const Shape& b, const Shape& out) {
  BroadcastIndex ix;
  ix.numel = shape_numel(out);
  ix.a_strides = aligned_strides(a, out);
  ix.b_strides = aligned_strides(b, out);
  ix.out_strides.assign(out.size(), 1);
  for (size_t d = out.size(); d-- > 1;) ix.out_strides[d - 1] = ix.out_strides[d] * out[d];
  return ix;
}

}  // namespace tinyq::kernels
