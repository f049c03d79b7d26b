#include "kernels/int8/packing.h"

#include <cstring>

namespace tinyq::kernels::int8 {

namespace {
// Position of weight (ci, kh, kw) of one output channel in its stored row.
int64_t conv_slot(int64_t cin_g, int64_t k_h, int64_t k_w, int64_t ci, int64_t kh, int64_t kw) {
  if (conv_quad_mode(cin_g) == QuadMode::kRows) return kh * k_w + kw;
  const int64_t cq = (cin_g + 3) / 4;
  return ((kh * k_w + kw) * cq + ci / 4) * 4 + ci % 4;
}
}  // namespace

int64_t conv_quads(int64_t cin_g, int64_t k_h, int64_t k_w) {
  if (conv_quad_mode(cin_g) == QuadMode::kRows) return (k_h + 3) / 4 * k_w;
  return k_h * k_w * ((cin_g + 3) / 4);
}

int64_t conv_packed_row(int64_t cin_g, int64_t k_h, int64_t k_w) {
  return conv_quad_mode(cin_g) == QuadMode::kRows ? k_h * k_w : conv_quads(cin_g, k_h, k_w) * 4;
}

void pack_conv_weights(const int8_t* w, int64_t c_out, int64_t cin_g, int64_t k_h, int64_t k_w, int8_t* packed) {
  const int64_t row = conv_packed_row(cin_g, k_h, k_w);
  std::memset(packed, 0, static_cast<size_t>(c_out * row));
  for (int64_t oc = 0; oc < c_out; ++oc)
    for (int64_t ci = 0; ci < cin_g; ++ci)
      for (int64_t kh = 0; kh < k_h; ++kh)
        for (int64_t kw = 0; kw < k_w; ++kw)
          packed[oc * row + conv_slot(cin_g, k_h, k_w, ci, kh, kw)] = w[((oc * cin_g + ci) * k_h + kh) * k_w + kw];
}

int8_t packed_conv_weight(const int8_t* packed, int64_t cin_g, int64_t k_h, int64_t k_w, int64_t oc, int64_t ci,
                          int64_t kh, int64_t kw) {
  return packed[oc * conv_packed_row(cin_g, k_h, k_w) + conv_slot(cin_g, k_h, k_w, ci, kh, kw)];
}

void expand_row_quads(const int8_t* w, int64_t c_out, int64_t k_h, int64_t k_w, int8_t* quads) {
  const int64_t t = conv_quads(1, k_h, k_w);
  std::memset(quads, 0, static_cast<size_t>(c_out * t * 4));
  for (int64_t oc = 0; oc < c_out; ++oc)
    for (int64_t kh = 0; kh < k_h; ++kh)
      for (int64_t kw = 0; kw < k_w; ++kw)
        quads[(oc * t + (kh / 4) * k_w + kw) * 4 + kh % 4] = w[(oc * k_h + kh) * k_w + kw];
}

void expand_row_taps(const int8_t* w, int64_t c_out, int64_t k_h, int64_t k_w, int32_t* taps) {
  // Built in a register (byte stores into a word then read back would stall store forwarding);
  // byte k at bits 8k is memory order on the little-endian CPUs that run the direct form.
  for (int64_t r = 0; r < c_out * k_h; ++r) {
    uint32_t v = 0;
    for (int64_t k = 0; k < k_w; ++k) v |= static_cast<uint32_t>(static_cast<uint8_t>(w[r * k_w + k])) << (8 * k);
    taps[r] = static_cast<int32_t>(v);
  }
}

void pack_gemm_weights(const int8_t* b, bool trans_b, int64_t k, int64_t n, int8_t* packed) {
  const int64_t kq = gemm_k_quads(k), p = gemm_panel(n);
  std::memset(packed, 0, gemm_packed_bytes(k, n));
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < n; ++j)
      packed[((j / p * kq + kk / 4) * p + j % p) * 4 + kk % 4] = trans_b ? b[j * k + kk] : b[kk * n + j];
}

int8_t packed_gemm_weight(const int8_t* packed, int64_t k_total, int64_t n_total, int64_t k, int64_t n) {
  const int64_t kq = gemm_k_quads(k_total), p = gemm_panel(n_total);
  return packed[((n / p * kq + k / 4) * p + n % p) * 4 + k % 4];
}

}  // namespace tinyq::kernels::int8
