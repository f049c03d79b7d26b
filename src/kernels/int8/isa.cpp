#include "kernels/int8/isa.h"

#include <cstdlib>
#include <cstring>

namespace tinyq::kernels::int8 {

namespace {

bool cpu_has(Isa isa) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return __builtin_cpu_supports("avx2");
    // libgcc's checks include the OS's XSAVE support for the ZMM state.
    case Isa::kAvx512Vnni:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  }
  return false;
#else
  return isa == Isa::kScalar;
#endif
}

Isa detect() {
  // TINYQ_INT8_ISA=avx2|scalar caps the level (to try the AVX2 path on an AVX-512 machine).
  Isa cap = Isa::kAvx512Vnni;
  if (const char* env = std::getenv("TINYQ_INT8_ISA")) {
    if (std::strcmp(env, "scalar") == 0) cap = Isa::kScalar;
    else if (std::strcmp(env, "avx2") == 0) cap = Isa::kAvx2;
  }
  for (Isa isa : {Isa::kAvx512Vnni, Isa::kAvx2})
    if (isa <= cap && cpu_has(isa)) return isa;
  return Isa::kScalar;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512Vnni: return "avx512vnni";
  }
  return "?";
}

Isa best_isa() {
  static const Isa isa = detect();
  return isa;
}

std::vector<Isa> runnable_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512Vnni})
    if (cpu_has(isa)) out.push_back(isa);
  return out;
}

}  // namespace tinyq::kernels::int8
