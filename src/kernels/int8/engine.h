// The fast int8 engine: exact u8 x s8 -> int32 convolution and GEMM, plus the vectorised
// quantisation they need, compiled once per instruction set (engine-inl.h) and picked at run time.
//
// Convolution is direct, with output pixels as SIMD lanes: the input is quantised to uint8 and
// staged once per image in "quad" layout (four bytes per pixel: four channels, or four kernel rows
// when there is one input channel per group; see packing.h), with padding filled with the input
// zero point, so each kernel tap is one unaligned vector load, and every quad of weights is one
// broadcast multiply-accumulate into a block of output channels x pixel vectors held in registers.
// GEMM has output columns as lanes and broadcasts four activation bytes at a time.
// Activations are always unsigned in the engine: int8 inputs are staged as x + 128 with the zero
// point moved by 128, which leaves every (x - zero point) difference unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/int8/epilogue.h"
#include "kernels/int8/isa.h"
#include "kernels/int8/packing.h"

namespace tinyq::kernels::int8 {

struct ConvShape {
  int64_t batch = 1, groups = 1, cin_g = 1, cout_g = 1;
  int64_t in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  int64_t k_h = 1, k_w = 1, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  int64_t pad_top = 0, pad_left = 0;  // bottom/right padding follows from the output size
  int64_t c_in() const { return groups * cin_g; }
  int64_t c_out() const { return groups * cout_g; }
};

// Everything shape-dependent about one convolution, for one instruction set.
struct ConvPlan {
  ConvShape s;
  Isa isa = Isa::kScalar;
  int64_t lanes = 1;
  QuadMode mode = QuadMode::kChannels;
  int64_t quads = 0;                    // T: weight quads per output channel
  int64_t planes = 0, stage_rows = 0;   // staged image: [planes][stage_rows][row_bytes]
  int64_t plen = 0;                     // staged pixels per stride phase in a row
  int64_t row_bytes = 0, plane_bytes = 0, image_bytes = 0;
  int64_t ystride = 0;                  // bytes between the staged origins of two output rows
  int64_t x_vectors = 0;                // lane vectors per output row (the last may be partial)
  std::vector<int32_t> offsets;         // per quad t: byte offset from a pixel's staged origin
  std::vector<int8_t> ones;             // [T][4] weights of 1 on real slots (activation sums)
  // Per stride phase of a staged row: input columns [src_col, src_col + count * stride_w) step
  // stride_w land at byte dst (then consecutive quads); the bytes before and after are padding.
  struct Phase {
    int64_t src_col = 0, count = 0, dst = 0, pad_before = 0, pad_after = 0;
  };
  std::vector<Phase> phases;
  int ocb = 1, xv = 1;                  // register block: output channels x pixel vectors
  size_t fill_offset = 0;               // staging scratch: the image, then a row of padding bytes
  size_t scratch_bytes = 0;
  // Direct convolution (conv_image_direct) instead of staging: one input channel per group, a
  // kernel at most 4 wide whose 16-lane windows fit one 64-byte load, and AVX-512 VBMI.
  bool direct = false;
  // Direct: the byte permutation that builds the windows (lane i, byte k: input column
  // i * stride_w + k * dil_w of the load for k < k_w, else i * stride_w).
  alignas(64) uint8_t window_index[64] = {};
};

ConvPlan make_conv_plan(const ConvShape& s, Isa isa);

// Stages image (n, g) of x (uint8 NCHW after `xor_mask`, i.e. 0x80 for int8 input) into `stage`
// (scratch_bytes bytes); padding gets `fill`, the input's zero point.
void stage_conv_image(const ConvPlan& p, const uint8_t* x, int64_t n, int64_t g, uint8_t xor_mask, uint8_t fill,
                      uint8_t* stage);

// Convolves one staged image for output channels [g*cout_g, (g+1)*cout_g) of batch n.
// `packed` holds every output channel's [T][4] weights; `out` is the whole output tensor (NCHW),
// and positions p index the output plane (for Epilogue::rowsum).
void conv_image(const ConvPlan& p, const uint8_t* stage, const int8_t* packed, int64_t n, int64_t g,
                const Epilogue& e, void* out);

// The direct form for plans with `direct`: convolves image n's input plane g (uint8 NCHW x after
// `xor_mask`; padding reads `fill`) for output channels [g*cout_g, (g+1)*cout_g), with no
// staging: each lane's taps of one kernel row are gathered from one load by a byte permutation.
// taps: [C_out][k_h] words, the kernel row's k_w weights as bytes, zero-padded (expand_row_taps).
void conv_image_direct(const ConvPlan& p, const uint8_t* x, const int32_t* taps, int64_t n, int64_t g,
                       uint8_t xor_mask, uint8_t fill, const Epilogue& e, void* out);

// GEMM: out[m][n] for rows m < rows from activations a (uint8, row stride lda >= 4*ceil(K/4),
// bytes past K arbitrary) and packed weights (packing.h). Epilogue channels are columns and
// positions are rows; residual/out are [rows][n_cols] with row stride n_cols.
void gemm(Isa isa, const uint8_t* a, int64_t lda, int64_t rows, const int8_t* packed, int64_t k, int64_t n_cols,
          const Epilogue& e, void* out);

// One row of a dynamic (float-output) matmul fused end to end (engine_row-inl.h), for the
// 1-row MLP layers, whose products are so short that separate steps (range, quantisation,
// per-channel arrays, product, output range) and their memory hand-offs cost more than the
// products: x's range (given or scanned), DynamicQuantizeLinear's parameters, x quantised into
// registers' reach, the sums, the float epilogue (scale x_scale * w_scale[c], bias, clamp) and
// y's range, all as the general path computes them, bit for bit. No weight zero points, no
// residual, k <= kDynRowMaxK.
struct DynRow {
  int64_t k = 0;
  const int8_t* packed = nullptr;   // packing.h's GEMM layout for [k][n]
  int64_t n = 0;
  const int32_t* colsum = nullptr;  // n column sums of the weights
  const float* w_scale = nullptr;   // 1 entry (w_scale_stride 0) or n
  int64_t w_scale_stride = 0;
  const float* bias = nullptr;      // n entries, or null
  bool clamp = false;
  float lo = 0.0f, hi = 0.0f;       // the clamp's bounds
};
// The run's tensors: x (k floats), x's range {lo, hi, non-finite} as the producer gathered it (or
// null: scan x), y (n floats) and y's range (or null).
struct DynRowIo {
  const float* x;
  const float* x_range;
  float* y;
  float* y_range;
};
inline constexpr int64_t kDynRowMaxK = 256;
// Returns false, having written nothing, when x holds a NaN or an infinity, or the ISA has no
// fused form (scalar): the caller then takes the general path, which handles those.
bool gemm_dyn_row(Isa isa, const DynRow& r, const DynRowIo& io);

// out[r] = the sum of the len int8 values of row r of w (rows of `len` bytes, one after another).
void row_sums(Isa isa, const int8_t* w, int64_t rows, int64_t len, int32_t* out);

// reset_range (epilogue.h) with the ISA's widest stores, so that the engine's vector loads of the
// accumulator are forwarded from them rather than stalling on narrower ones.
void reset_range(Isa isa, float* acc);

// Quantisation as DynamicQuantizeLinear / QuantizeLinear compute it:
// out[i] = saturate(round_half_even(x[i] / scale) + zp) to [0, 255], NaN -> zp.
// `bounded`: the caller knows every x[i] / scale is finite and at most 256 in magnitude (x within
// a finite range around 0 that the scale maps to 255 steps), so the NaN and range guards are skipped.
void quantize_u8(Isa isa, const float* x, int64_t n, float scale, int32_t zp, uint8_t* out, bool bounded = false);
// Whether quantize_quads can stage plan p's images: a 1x1 convolution of one input row (a
// pointwise one over whole planes, see make_fused_conv), stride 1, no padding, channel quads.
bool quantize_quads_fits(const ConvPlan& p);
// quantize_u8 of `channels` planes of `pixels` floats each (x: [channels][pixels]) straight into
// the staged layout of a plan where quantize_quads_fits (pixel i of the row at byte 4i):
// plane k of `stage` (plane_bytes apart) holds pixel i of channel 4k + j at byte 4i + j for
// i < plen (a multiple of the ISA's lanes), with the zero point where i >= pixels or
// 4k + j >= channels. This replaces quantize_u8 then stage_conv_image, with the same bytes.
void quantize_quads(Isa isa, const float* x, int64_t channels, int64_t pixels, int64_t plen, float scale, int32_t zp,
                    bool bounded, uint8_t* stage, int64_t plane_bytes);
// The range DynamicQuantizeLinear scans: lo = min(0, min x), hi = max(0, max x), NaN skipped;
// *has_nonfinite says whether x holds any NaN or infinity.
void range_f32(Isa isa, const float* x, int64_t n, float* lo, float* hi, bool* has_nonfinite);

// Per-ISA entry points (engine_<isa>.cpp); callers use the dispatching functions above.
namespace avx2 {
bool dyn_row(const DynRow& r, const DynRowIo& io);
void reset_range(float* acc);
void conv_image(const ConvPlan&, const uint8_t*, const int8_t*, int64_t, int64_t, const Epilogue&, void*);
void gemm(const uint8_t*, int64_t, int64_t, const int8_t*, int64_t, int64_t, const Epilogue&, void*);
void quantize_u8(const float*, int64_t, float, int32_t, bool, uint8_t*);
void quantize_quads(const float*, int64_t, int64_t, int64_t, float, int32_t, bool, uint8_t*, int64_t);
void range_f32(const float*, int64_t, float*, float*, bool*);
}  // namespace avx2
// Row staging: dst[4 i + j] = src[j][i] ^ xor_mask for i < n (stride 1); for stride 2 the even
// bytes src[j][2 i] (i < n_even) go to dst_even and the odd ones src[j][2 i + 1] (i < n_odd) to
// dst_odd. Reads stay within the bytes those indices name.
using StageS1Fn = void (*)(const uint8_t* const src[4], int64_t n, uint8_t xor_mask, uint8_t* dst);
using StageS2Fn = void (*)(const uint8_t* const src[4], int64_t n_even, int64_t n_odd, uint8_t xor_mask,
                           uint8_t* dst_even, uint8_t* dst_odd);
namespace avx2 {
void stage_s1(const uint8_t* const src[4], int64_t n, uint8_t xor_mask, uint8_t* dst);
void stage_s2(const uint8_t* const src[4], int64_t n_even, int64_t n_odd, uint8_t xor_mask, uint8_t* dst_even,
              uint8_t* dst_odd);
}  // namespace avx2

namespace avx512 {
bool has_vbmi();
bool dyn_row(const DynRow& r, const DynRowIo& io);
void row_sums(const int8_t* w, int64_t rows, int64_t len, int32_t* out);
void reset_range(float* acc);
void conv_image_direct(const ConvPlan&, const uint8_t*, const int32_t*, int64_t, int64_t, uint8_t, uint8_t,
                       const Epilogue&, void*);
// One plane of stage_conv_image: rows, padding and interior, without per-row calls.
void stage_plane(const ConvPlan& p, const uint8_t* image, int64_t plane, uint8_t xor_mask, uint8_t fill,
                 const uint8_t* fill_row, uint8_t* dst);
void stage_s1(const uint8_t* const src[4], int64_t n, uint8_t xor_mask, uint8_t* dst);
void stage_s2(const uint8_t* const src[4], int64_t n_even, int64_t n_odd, uint8_t xor_mask, uint8_t* dst_even,
              uint8_t* dst_odd);
void conv_image(const ConvPlan&, const uint8_t*, const int8_t*, int64_t, int64_t, const Epilogue&, void*);
void gemm(const uint8_t*, int64_t, int64_t, const int8_t*, int64_t, int64_t, const Epilogue&, void*);
void quantize_u8(const float*, int64_t, float, int32_t, bool, uint8_t*);
void quantize_quads(const float*, int64_t, int64_t, int64_t, float, int32_t, bool, uint8_t*, int64_t);
void range_f32(const float*, int64_t, float*, float*, bool*);
}  // namespace avx512

}  // namespace tinyq::kernels::int8
