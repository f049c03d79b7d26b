// Instruction sets the fast int8 kernels are compiled for, and run-time selection among them.
// Every level computes the same exact int32 sums; they differ only in speed:
//   kAvx512Vnni: vpdpbusd (u8 x s8, four products summed straight into int32, no saturation);
//   kAvx2:       bytes widened to int16 pairs, vpmaddwd into int32 (exact; vpmaddubsw is never used
//                because it saturates in 16 bits with full-range weights);
//   kScalar:     plain C++ loops (any CPU).
#pragma once

#include <vector>

namespace tinyq::kernels::int8 {

enum class Isa { kScalar, kAvx2, kAvx512Vnni };

const char* isa_name(Isa isa);
// The best level this CPU (and OS) supports among those compiled in.
Isa best_isa();
// Every level that can run here, best last (tests run each one).
std::vector<Isa> runnable_isas();

}  // namespace tinyq::kernels::int8
