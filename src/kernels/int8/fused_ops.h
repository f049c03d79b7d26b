// The fused int8 ops that src/passes/quant_fusion.cpp emits (domain "tinyq"; inputs as listed in
// fused_common.h):
//   QLinearConvFused / QLinearMatMulFused   static (QDQ): requantised uint8/int8 output
//   ConvIntegerFused / MatMulIntegerFused   dynamic (QOperator): float32 output
// Each has a scalar reference kernel built on int8_ref's exact sums, and a fast kernel on the
// int8 engine for one instruction set (tests pass `isa`; the registered factories use best_isa()).
#pragma once

#include <memory>
#include <optional>

#include "kernels/int8/isa.h"
#include "kernels/kernel.h"

namespace tinyq::kernels::int8 {

Result<std::unique_ptr<Kernel>> make_fused_conv(PrepareContext& ctx, bool is_static, std::optional<Isa> isa);
Result<std::unique_ptr<Kernel>> make_fused_matmul(PrepareContext& ctx, bool is_static, std::optional<Isa> isa);

}  // namespace tinyq::kernels::int8
