// Float32 GEMM with a pre-packed right-hand side, tuned for the small problems of tiny MLPs:
// Y[M][N] = clamp(A[M][K] * Bp + bias[N]). Bp holds alpha * op(B) in lane-wide column panels.
// It has no per-call setup, so a 1-row product costs little more than its FMAs, and it matches
// XNNPACK's fully-connected operator from batch 64 up (which would also clamp NaN to +-inf).
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace tinyq::kernels {

// Floats per column panel on this CPU (the SIMD width chosen at run time).
int64_t packed_gemm_lanes();
// Size of a packed B (bias included) for a K x N product.
size_t packed_gemm_floats(int64_t k, int64_t n);
// Packs alpha * B (B is [K][N], or [N][K] when trans_b) and bias (N values, or nullptr for zeros)
// into `packed`, which holds packed_gemm_floats(k, n) floats.
void packed_gemm_pack(const float* b, bool trans_b, int64_t k, int64_t n, float alpha, const float* bias,
                      float* packed);
// Y = clamp(A * Bp + bias, lo, hi); A rows are lda floats apart, Y rows ldy floats apart. Large
// M is split over `pool`'s threads when one is given.
void packed_gemm_run(const float* a, int64_t lda, int64_t m, const float* packed, int64_t k, int64_t n, float* y,
                     int64_t ldy, float lo = -std::numeric_limits<float>::infinity(),
                     float hi = std::numeric_limits<float>::infinity(), pthreadpool_t pool = nullptr);

}  // namespace tinyq::kernels
