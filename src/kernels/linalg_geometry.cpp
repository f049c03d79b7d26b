#include "kernels/linalg_geometry.h"

#include <algorithm>
#include <string>

namespace tinyq::kernels {

Result<ConvGeometry> read_conv_geometry(const PrepareContext& ctx, const Shape& x, const Shape& w) {
  const int64_t rank = static_cast<int64_t>(x.size());
  if (rank < 3) return ctx.error("X must have rank >= 3, got " + shape_str(x));
  if (rank - 2 > window::kMaxSpatial) return ctx.unsupported("more than 3 spatial dims");
  if (static_cast<int64_t>(w.size()) != rank)
    return ctx.error("W " + shape_str(w) + " must have the rank of X " + shape_str(x));
  ConvGeometry g;
  g.batch = x[0];
  g.c_in = x[1];
  g.c_out = w[0];
  g.groups = ctx.attr_int("group", 1);
  if (g.groups < 1) return ctx.error("attribute 'group' must be >= 1");
  if (g.c_in % g.groups != 0 || g.c_out % g.groups != 0)
    return ctx.error("channels in (" + std::to_string(g.c_in) + ") and out (" + std::to_string(g.c_out) +
                     ") must be multiples of group " + std::to_string(g.groups));
  if (w[1] != g.c_in / g.groups)
    return ctx.error("W " + shape_str(w) + " needs " + std::to_string(g.c_in / g.groups) +
                     " input channels per group");
  const std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (ctx.has_attr("kernel_shape") && ctx.attr_ints("kernel_shape") != kernel)
    return ctx.error("attribute 'kernel_shape' disagrees with W " + shape_str(w));
  for (int64_t k : kernel)
    if (k < 1) return ctx.error("W " + shape_str(w) + " has an empty kernel");
  const std::vector<int64_t> in_spatial(x.begin() + 2, x.end());
  TINYQ_ASSIGN_OR_RETURN(window::Geometry geo,
                         window::forward_geometry(ctx, in_spatial, kernel, window::Rounding::kFloor, true));
  g.in = geo.in3();
  g.out = geo.out3();
  g.k = geo.kernel3();
  g.s = geo.strides3();
  g.d = geo.dilations3();
  g.pb = geo.pad_begin3();
  g.out_shape = {g.batch, g.c_out};
  g.out_shape.insert(g.out_shape.end(), geo.out.begin(), geo.out.end());
  return g;
}

Result<MatMulGeometry> read_matmul_geometry(const PrepareContext& ctx, const Shape& a_shape, const Shape& b_shape) {
  Shape as = a_shape, bs = b_shape;
  if (as.empty() || bs.empty()) return ctx.error("operands must have rank >= 1");
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  MatMulGeometry g;
  g.m = as[as.size() - 2];
  g.k = as.back();
  g.n = bs.back();
  if (bs[bs.size() - 2] != g.k)
    return ctx.error("inner dimensions differ: A " + shape_str(a_shape) + ", B " + shape_str(b_shape));
  const Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  const size_t rank = std::max(ab.size(), bb.size());
  Shape batch(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i + ab.size() >= rank ? ab[i + ab.size() - rank] : 1;
    const int64_t db = i + bb.size() >= rank ? bb[i + bb.size() - rank] : 1;
    if (da != db && da != 1 && db != 1)
      return ctx.error("batch dims of A " + shape_str(a_shape) + " and B " + shape_str(b_shape) + " do not broadcast");
    batch[i] = da == 1 ? db : da;
  }
  g.out_shape = batch;
  if (!a_vec) g.out_shape.push_back(g.m);
  if (!b_vec) g.out_shape.push_back(g.n);
  const int64_t batches = shape_numel(batch);
  // Offsets per output batch; broadcast dims (size 1) have stride 0.
  auto offsets = [&](const Shape& dims, int64_t matrix) {
    std::vector<int64_t> strides(rank, 0);
    int64_t s = matrix;
    for (size_t i = dims.size(); i-- > 0;) {
      if (dims[i] != 1) strides[i + rank - dims.size()] = s;
      s *= dims[i];
    }
    std::vector<int64_t> result(batches);
    for (int64_t bi = 0; bi < batches; ++bi) {
      int64_t rem = bi, off = 0;
      for (size_t i = rank; i-- > 0;) {
        off += (rem % batch[i]) * strides[i];
        rem /= batch[i];
      }
      result[bi] = off;
    }
    return result;
  };
  g.a_offsets = offsets(ab, g.m * g.k);
  g.b_offsets = offsets(bb, g.k * g.n);
  return g;
}

}  // namespace tinyq::kernels
