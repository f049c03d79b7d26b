// Symmetric int8 weight quantisation: w ~ q * scale[c], q in [-kWeightQMax, kWeightQMax], one
// scale per slice along the channel axis (or one per tensor), no zero point.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tinyq/status.h"
#include "tinyq/tensor.h"

namespace tinyq::quant {

// Symmetric range: -127..127 keeps the grid symmetric around 0, so w and -w quantise alike.
inline constexpr int32_t kWeightQMax = 127;

// How a tensor splits into channels along `axis` (-1: one channel): element (o, c, i) lives at
// (o * channels + c) * inner + i.
struct ChannelLayout {
  int64_t outer = 1, channels = 1, inner = 1;
  int64_t index(int64_t o, int64_t c, int64_t i) const { return (o * channels + c) * inner + i; }
};
ChannelLayout channel_layout(const Shape& shape, int64_t axis);

// max|w| / kWeightQMax per channel; a channel of zeros gets scale 1 (any positive scale is exact).
std::vector<float> max_abs_scales(const Tensor& w, int64_t axis);

// round_half_even(w / scale[c]) clamped to [-kWeightQMax, kWeightQMax], as int8 in w's shape.
// `scales` has one entry, or one per channel along `axis`; every scale must be finite and > 0.
Result<Tensor> round_weights(const Tensor& w, int64_t axis, std::span<const float> scales);

// round_weights, then, within every group of weights that spans dims [group_begin, group_end)
// (all other indices fixed), the cheapest +-1 moves that make the group's integer sum equal
// round(sum of w / scale). One output meets such a group across a window of one input channel
// (a Conv kernel's spatial taps, a Gemm column's K inputs): where that input is locally
// constant (smooth image regions, a feature's mean) the layer's response keeps its exact value
// up to half a step, where independent rounding errors would add up to ~sqrt(n)/2 steps. Each
// value still lies within one step of w / scale. The scale axis must lie outside the group.
Result<Tensor> round_weights_sum_preserving(const Tensor& w, int64_t axis, std::span<const float> scales,
                                           int64_t group_begin, int64_t group_end);

}  // namespace tinyq::quant
