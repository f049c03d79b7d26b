// Plan-time shape logic of convolution-like and matmul-like ops, shared by the integer ops
// (ConvInteger, QLinearConv, MatMulInteger, QLinearMatMul) and usable by any other Conv/MatMul.
// Both read and validate everything shape-related and fail with errors naming the node.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/window.h"

namespace tinyq::kernels {

// X [N, C, d1..ds] convolved with W [M, C/group, k1..ks], s = 1..3 spatial dims, padded to 3-D
// with leading size-1 dims so kernels loop in 3-D.
struct ConvGeometry {
  using Dims3 = std::array<int64_t, window::kMaxSpatial>;
  int64_t batch = 0, c_in = 0, c_out = 0, groups = 1;
  Dims3 in{}, out{}, k{}, s{}, d{}, pb{};  // input, output, kernel, strides, dilations, begin pads
  Shape out_shape;                         // [N, M, o1..os]

  int64_t cin_per_group() const { return c_in / groups; }
  int64_t cout_per_group() const { return c_out / groups; }
  int64_t in_plane() const { return in[0] * in[1] * in[2]; }
  int64_t out_plane() const { return out[0] * out[1] * out[2]; }
  int64_t kernel_volume() const { return k[0] * k[1] * k[2]; }
  // Products summed per output value.
  int64_t depth() const { return cin_per_group() * kernel_volume(); }
};

// Reads group, kernel_shape, strides, dilations, pads and auto_pad (the caller checks the
// attribute list) and validates them against the shapes of X and W.
Result<ConvGeometry> read_conv_geometry(const PrepareContext& ctx, const Shape& x, const Shape& w);

// numpy matmul: A [..., M, K] x B [..., K, N] with broadcast batch dims; a 1-D A is [1, K] and a
// 1-D B is [K, 1], their added dims dropped from the output.
struct MatMulGeometry {
  int64_t m = 0, k = 0, n = 0;
  std::vector<int64_t> a_offsets, b_offsets;  // element offset of each operand's matrix, per output batch
  Shape out_shape;
  int64_t batches() const { return static_cast<int64_t>(a_offsets.size()); }
};

Result<MatMulGeometry> read_matmul_geometry(const PrepareContext& ctx, const Shape& a, const Shape& b);

}  // namespace tinyq::kernels
