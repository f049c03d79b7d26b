// Linear quantisation parameters (real = (q - zero_point) * scale) and the plan-time checks every
// int8 factory runs on them, plus QuantizeLinear's exact rounding. Shared by the reference int8
// kernels and the fast ones (src/kernels/int8/); keep the API stable.
//
// Contracts:
//  - A valid QuantParams has 1 (per tensor, axis == -1) or dim(axis) (per axis) entries in both
//    `scales` and `zero_points`; every scale is finite and > 0; every zero point lies within
//    [quant_min(type), quant_max(type)] (0 for kInt32, as DequantizeLinear requires).
//  - Validation failures are load-time errors (Status kInvalidArgument) naming the node (through
//    PrepareContext::error) and the tensor role ("x_scale", "w_zero_point", ...).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel.h"

namespace tinyq::kernels {

struct QuantParams {
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
  int axis = -1;               // -1: per tensor; otherwise the non-negative axis of the quantised tensor
  DType type = DType::kUInt8;  // kUInt8 or kInt8 (kInt32 only as DequantizeLinear's input)

  bool per_axis() const { return axis >= 0; }
  size_t size() const { return scales.size(); }
  // Entry for slice c along the axis; any c for a per-tensor QuantParams.
  float scale(size_t c) const { return scales[per_axis() ? c : 0]; }
  int32_t zero_point(size_t c) const { return zero_points[per_axis() ? c : 0]; }
};

// True for the types an int8 tensor may have (kUInt8, kInt8).
bool is_quant_type(DType t);
// The representable range of a quantised type: [0,255], [-128,127], or int32's range.
int32_t quant_min(DType t);
int32_t quant_max(DType t);

// Round half to even (QuantizeLinear's rounding), independent of the FP environment's rounding
// mode. Values with |v| >= 2^23 are already integers and come back unchanged, as do NaN and inf.
inline float round_half_even(float v) {
  if (!(std::fabs(v) < 8388608.0f)) return v;
  float r = std::floor(v);
  const float diff = v - r;  // exact: v and r are within 1 of each other
  if (diff > 0.5f || (diff == 0.5f && std::fmod(r, 2.0f) != 0.0f)) r += 1.0f;
  return r;
}

// saturate(round_half_even(v) + zero_point) to [qmin, qmax]: QuantizeLinear's formula once v =
// x / scale. NaN maps to the zero point (ONNX leaves it undefined); +-inf saturate.
inline int32_t quantize_saturate(float v, int32_t zero_point, int32_t qmin, int32_t qmax) {
  if (std::isnan(v)) v = 0.0f;
  const float r = round_half_even(v);
  // Clamp in float first so the conversion is defined; 2^30 exceeds every int8/uint8 span.
  const float lim = 1073741824.0f;
  const int64_t q = static_cast<int64_t>(r < -lim ? -lim : (r > lim ? lim : r)) + zero_point;
  return q < qmin ? qmin : (q > qmax ? qmax : static_cast<int32_t>(q));
}

// Checks a QuantParams built by hand (e.g. by a graph pass): entry counts, axis against
// `data_shape`, scales finite and > 0, zero points in range. `role` names the tensor ("w").
Status validate_quant_params(const PrepareContext& ctx, const std::string& role, const QuantParams& q,
                             const Shape& data_shape);

// Builds QuantParams from a scale tensor (float32, scalar or 1-D) and an optional zero point
// tensor (nullptr: 0) for data of dtype `type` and shape `data_shape`. A scale with one element
// is per tensor; a 1-D scale with more is per axis along `axis` (may be negative; normalised
// against data_shape), and must have dim(axis) entries. The zero point must have dtype `type`
// and the scale's shape. `role` is the tensor's name prefix in errors ("x" -> "x_scale").
Result<QuantParams> make_quant_params(const PrepareContext& ctx, const std::string& role, const Tensor& scale,
                                      const Tensor* zero_point, DType type, const Shape& data_shape,
                                      int64_t axis);

// make_quant_params on the node's inputs `scale_input` and `zero_point_input` (-1 or omitted:
// no zero point), which must be known at plan time (otherwise the const_input error propagates).
Result<QuantParams> read_quant_params(PrepareContext& ctx, const std::string& role, int scale_input,
                                      int zero_point_input, DType type, const Shape& data_shape, int64_t axis);

// Zero points alone (MatMulInteger, ConvInteger): a tensor of dtype `type` with 1 element, or a
// 1-D tensor of `per_axis_len` elements when per_axis_len > 0 (per row, column or channel).
// Returns one entry per element; nullptr gives {0}.
Result<std::vector<int32_t>> read_zero_points(const PrepareContext& ctx, const std::string& role,
                                              const Tensor* zero_point, DType type, int64_t per_axis_len);

// How a quantisation along one axis walks a tensor: `outer` blocks of `channels` runs of `inner`
// elements, channel c using entry c of the scale/zero point (channels == 1: per tensor).
struct QuantLayout {
  int64_t outer = 1, channels = 1, inner = 1;
};

// Shape-only validation of QuantizeLinear/DequantizeLinear's scale (input scale_input) and
// optional zero point (zero_point_input) against data of `data_shape` quantised along `axis`:
// scalar or one-element scale means per tensor; a longer 1-D scale needs dim(axis) entries; the
// zero point must match the scale's length. For parameters that are only known at run time.
Result<QuantLayout> quant_layout(const PrepareContext& ctx, const std::string& role, int scale_input,
                                 int zero_point_input, const Shape& data_shape, int64_t axis);

// Shape-only check of the node's zero point input `input` (possibly a run-time value) of dtype
// `type`: 1 element, or a 1-D tensor of per_axis_len (> 0) elements. Returns its element count,
// 0 when the input is omitted.
Result<int64_t> zero_point_input_count(const PrepareContext& ctx, const std::string& role, int input, DType type,
                                       int64_t per_axis_len);

// QuantizeLinear/DequantizeLinear's `axis` (default 1; opset 13+) after rejecting a non-zero
// `block_size` (opset 21 blocked quantisation) as unsupported.
Result<int64_t> read_qdq_axis(const PrepareContext& ctx);

// Checks that a scale value is finite and > 0 ("<role>_scale" in the message).
Status check_scale(const PrepareContext& ctx, const std::string& role, float scale);

}  // namespace tinyq::kernels
