// Numpy-style multidirectional broadcasting for two-input elementwise kernels: the output shape,
// a coalesced loop plan computed at plan time, and the loop that runs it.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/kernel.h"

namespace tinyq::kernels {

// The broadcast of shapes a and b (right-aligned; each dim equal or 1), or an error naming both.
Result<Shape> broadcast_shape(const PrepareContext& ctx, const Shape& a, const Shape& b);

// Loops over the output as `rank` nested dims. Output dims of size 1 are dropped and neighbours
// whose inputs broadcast alike are merged, so the innermost dim is as long as possible and each
// input's stride there is 1 (read along) or 0 (one value repeated): same-shape operands become
// one flat loop, a scalar operand one loop with a constant, and a bias row [M,N]+[N] M rows.
struct BroadcastPlan {
  static constexpr int kMaxRank = 16;
  int rank = 1;
  int64_t numel = 0;
  int64_t dims[kMaxRank] = {};
  int64_t stride_a[kMaxRank] = {};  // in elements; 0 where a is broadcast
  int64_t stride_b[kMaxRank] = {};
};

// Builds the plan for inputs of shapes a and b broadcast to `out`; fails when the merged loop nest
// is deeper than kMaxRank.
Result<BroadcastPlan> make_broadcast_plan(const PrepareContext& ctx, const Shape& a, const Shape& b,
                                          const Shape& out);

// Per-element input offsets for the reference kernels: for each output dim (row-major), the
// output's stride and each input's stride (0 where broadcast).
struct BroadcastIndex {
  std::vector<int64_t> out_strides, a_strides, b_strides;
  int64_t numel = 0;
};
BroadcastIndex make_broadcast_index(const Shape& a, const Shape& b, const Shape& out);

// c[i] = op(a[ia], b[ib]) with offsets recomputed from the flat index by division: the simple
// scalar walk that the plan-driven loop is tested against.
template <typename TA, typename TB, typename TC, typename Op>
void broadcast_reference(const BroadcastIndex& ix, const TA* a, const TB* b, TC* c, Op op) {
  const size_t rank = ix.out_strides.size();
  for (int64_t i = 0; i < ix.numel; ++i) {
    int64_t rem = i, ia = 0, ib = 0;
    for (size_t d = 0; d < rank; ++d) {
      const int64_t q = rem / ix.out_strides[d];
      rem -= q * ix.out_strides[d];
      ia += q * ix.a_strides[d];
      ib += q * ix.b_strides[d];
    }
    c[i] = op(a[ia], b[ib]);
  }
}

// Always inlined so that, called from a Highway per-target function, the inner loops are
// auto-vectorised for that target's instruction set.
#define TINYQ_ALWAYS_INLINE inline __attribute__((always_inline))

template <typename TA, typename TB, typename TC, typename Op>
TINYQ_ALWAYS_INLINE void broadcast_row(const TA* __restrict a, const TB* __restrict b, TC* __restrict c,
                                       int64_t n, bool a_moves, bool b_moves, Op op) {
  if (a_moves && b_moves) {
    for (int64_t i = 0; i < n; ++i) c[i] = op(a[i], b[i]);
  } else if (a_moves) {
    const TB bv = *b;
    for (int64_t i = 0; i < n; ++i) c[i] = op(a[i], bv);
  } else {
    const TA av = *a;
    for (int64_t i = 0; i < n; ++i) c[i] = op(av, b[i]);
  }
}

// Runs the plan: the innermost dim as one tight loop per row, outer dims by an odometer.
template <typename TA, typename TB, typename TC, typename Op>
TINYQ_ALWAYS_INLINE void broadcast_run(const BroadcastPlan& p, const TA* a, const TB* b, TC* c, Op op) {
  if (p.numel == 0) return;
  const int last = p.rank - 1;
  const int64_t n = p.dims[last];
  const bool a_moves = p.stride_a[last] != 0, b_moves = p.stride_b[last] != 0;
  if (last == 0) {
    broadcast_row(a, b, c, n, a_moves, b_moves, op);
    return;
  }
  int64_t idx[BroadcastPlan::kMaxRank] = {};
  const int64_t rows = p.numel / n;
  for (int64_t r = 0; r < rows; ++r, c += n) {
    broadcast_row(a, b, c, n, a_moves, b_moves, op);
    for (int d = last - 1; d >= 0; --d) {
      a += p.stride_a[d];
      b += p.stride_b[d];
      if (++idx[d] < p.dims[d]) break;
      a -= p.stride_a[d] * p.dims[d];
      b -= p.stride_b[d] * p.dims[d];
      idx[d] = 0;
    }
  }
}

}  // namespace tinyq::kernels
