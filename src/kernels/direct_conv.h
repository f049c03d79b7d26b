// Fast NCHW float32 convolution (1-D and 2-D, any groups, strides, dilations and padding) with
// weights packed at plan time. No layout transposes: output pixels of one row are the SIMD lanes,
// a block of output channels x pixel vectors is held in registers, and every (input channel,
// kernel tap) adds one broadcast weight times one shifted input vector.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

namespace tinyq::kernels {

struct DirectConvParams {
  int64_t batch = 1, groups = 1;
  int64_t cin_g = 1, cout_g = 1;  // channels per group
  int64_t in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  int64_t k_h = 1, k_w = 1, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  int64_t pad_top = 0, pad_left = 0;  // bottom/right padding follows from the output size
  float out_min = -std::numeric_limits<float>::infinity();  // fused clamp of the output
  float out_max = std::numeric_limits<float>::infinity();
};

class DirectConv {
 public:
  // weights: [groups*cout_g][cin_g][k_h][k_w]; bias: [groups*cout_g] or nullptr. Both are copied.
  // nullptr when an input channel group is too large for the 32-bit tap offsets (over 2^31 floats).
  static std::unique_ptr<DirectConv> create(const DirectConvParams& p, const float* weights, const float* bias);

  size_t scratch_bytes() const;
  // The packed copy of the weights and bias it keeps.
  size_t packed_bytes() const { return packed_group_stride * static_cast<size_t>(p.groups) * sizeof(float); }
  // x: [batch][groups*cin_g][in_h][in_w], y: [batch][groups*cout_g][out_h][out_w]; sum (shaped
  // like y, or nullptr) is added to the output before the clamp. Rows run on `pool` when given.
  void run(const float* x, float* y, void* scratch, const float* sum = nullptr, pthreadpool_t pool = nullptr) const;

  // Plan details, read by the SIMD code (direct_conv.cpp).
  struct XBlock { int32_t x0, nvec, valid; };  // output columns [x0, x0+valid) in nvec vectors
  struct OcBlock { int32_t oc0, size; };       // output channels [oc0, oc0+size) within a group
  struct AlignedFree { void operator()(float* p) const; };

  DirectConvParams p;
  int64_t lanes = 1;
  bool pointwise = false;       // 1x1, stride 1, no padding: whole planes act as one row
  int64_t band_rows = 1;        // output rows per band (input rows are staged per band)
  int64_t band_in_rows = 1;     // input rows staged for a full band
  int64_t phase_w = 0;          // staged row length per stride phase, in floats
  int64_t taps = 0;             // cin_g * k_h * k_w
  // Scratch floats of a staged band (a padded row for the stride split follows it).
  int64_t stage_floats() const { return (p.cin_g * band_in_rows * p.stride_w * phase_w + 15) / 16 * 16; }
  // Scratch floats one task needs; the scratch holds kParallelSlots of them.
  int64_t slot_floats() const;
  // Most tasks a run splits into on a thread pool (each needs its own scratch slot).
  static constexpr int64_t kParallelSlots = 4;
  std::vector<int32_t> offsets;       // per tap: float offset from a block's origin in the stage
  std::vector<int32_t> tail_offsets;  // pointwise only: the same for the zero-padded tail copy
  std::vector<XBlock> xblocks;
  std::vector<OcBlock> ocblocks;
  std::unique_ptr<float[], AlignedFree> packed;  // per group, per oc block: [taps][size] then bias[size]
  size_t packed_group_stride = 0;
  std::vector<size_t> packed_block_offset;  // per oc block, within a group
};

}  // namespace tinyq::kernels
