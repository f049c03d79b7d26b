// The output clamp that passes/fuse_activation folds into Conv, ConvTranspose, Gemm and MatMul
// from a following Relu or Clip (ir::Node::clamp_min/clamp_max). Both kernel kinds apply it last,
// so fused and unfused graphs compute the same values.
#pragma once

#include <limits>

#include "kernels/kernel.h"

namespace tinyq::kernels {

struct OutputClamp {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
  bool active() const { return lo > -std::numeric_limits<float>::infinity() || hi < std::numeric_limits<float>::infinity(); }
  // NaN passes through, as it does through Relu and Clip.
  float operator()(float v) const { return v < lo ? lo : (v > hi ? hi : v); }
};

// The node's fused clamp; tells the planner this kernel applies it.
inline Result<OutputClamp> read_output_clamp(PrepareContext& ctx) {
  OutputClamp c{ctx.node().clamp_min, ctx.node().clamp_max};
  if (!(c.lo <= c.hi)) return ctx.error("fused clamp has min > max");
  ctx.accept_fused_clamp();
  return c;
}

}  // namespace tinyq::kernels
