// Weight layouts of the fast int8 kernels. The reduction dimension K is cut into quads: four int8
// weights that one 32-bit SIMD lane multiplies with four activation bytes at once. The graph pass
// packs constant weights once (src/passes/quant_fusion.cpp), so a session keeps only these bytes;
// the fused ops' reference kernels read them back through packed_*_weight().
#pragma once

#include <cstddef>
#include <cstdint>

namespace tinyq::kernels::int8 {

// Convolution weights [C_out][cin_g][k_h][k_w] in quads: T = conv_quads(...) quads per channel.
// cin_g >= 2: a quad is 4 input channels at one tap; taps in (kh, kw) order, channels padded
// with zero weights to a multiple of 4; stored packed as [C_out][T][4].
// cin_g == 1 (depthwise, single-channel input): a quad is 4 kernel rows at one column (rows
// padded to a multiple of 4), ordered (row quad, kw). These are stored in their original order
// [C_out][k_h][k_w] (padding them would cost a third more bytes for 3x3 kernels) and expanded
// into quads per run by expand_row_quads().
enum class QuadMode : int { kChannels = 0, kRows = 1 };
inline QuadMode conv_quad_mode(int64_t cin_g) { return cin_g == 1 ? QuadMode::kRows : QuadMode::kChannels; }
int64_t conv_quads(int64_t cin_g, int64_t k_h, int64_t k_w);
// Bytes per output channel of the stored (packed) weights.
int64_t conv_packed_row(int64_t cin_g, int64_t k_h, int64_t k_w);
void pack_conv_weights(const int8_t* w, int64_t c_out, int64_t cin_g, int64_t k_h, int64_t k_w, int8_t* packed);
int8_t packed_conv_weight(const int8_t* packed, int64_t cin_g, int64_t k_h, int64_t k_w, int64_t oc, int64_t ci,
                          int64_t kh, int64_t kw);
// kRows weights [c_out][k_h][k_w] as quads [c_out][T][4].
void expand_row_quads(const int8_t* w, int64_t c_out, int64_t k_h, int64_t k_w, int8_t* quads);
// kRows weights [c_out][k_h][k_w] (k_w <= 4) as one 32-bit word per kernel row: [c_out][k_h], the
// row's weights in bytes 0..k_w-1 (little-endian) and zeros after (the direct convolution's taps).
void expand_row_taps(const int8_t* w, int64_t c_out, int64_t k_h, int64_t k_w, int32_t* taps);

// GEMM right-hand side B [K][N] packed as [panels][ceil(K/4)][P][4] with P = gemm_panel(N)
// columns per panel (16, or N when narrower, so a 1-column head keeps no padding): for each
// panel and K quad, P*4 contiguous bytes (one 512-bit vector for P = 16).
inline constexpr int64_t kGemmPanel = 16;
inline int64_t gemm_panel(int64_t n) { return n >= kGemmPanel ? kGemmPanel : n; }
inline int64_t gemm_k_quads(int64_t k) { return (k + 3) / 4; }
inline int64_t gemm_panels(int64_t n) { return (n + gemm_panel(n) - 1) / gemm_panel(n); }
inline size_t gemm_packed_bytes(int64_t k, int64_t n) {
  return static_cast<size_t>(gemm_panels(n) * gemm_k_quads(k) * gemm_panel(n) * 4);
}
// b is [K][N], or [N][K] when trans_b.
void pack_gemm_weights(const int8_t* b, bool trans_b, int64_t k, int64_t n, int8_t* packed);
int8_t packed_gemm_weight(const int8_t* packed, int64_t k_total, int64_t n_total, int64_t k, int64_t n);

}  // namespace tinyq::kernels::int8
