#include "kernels/quant_params.h"

#include <limits>

namespace tinyq::kernels {

bool is_quant_type(DType t) { return t == DType::kUInt8 || t == DType::kInt8; }

int32_t quant_min(DType t) {
  switch (t) {
    case DType::kUInt8: return 0;
    case DType::kInt8: return -128;
    default: return std::numeric_limits<int32_t>::min();
  }
}

int32_t quant_max(DType t) {
  switch (t) {
    case DType::kUInt8: return 255;
    case DType::kInt8: return 127;
    default: return std::numeric_limits<int32_t>::max();
  }
}

Status check_scale(const PrepareContext& ctx, const std::string& role, float scale) {
  if (!std::isfinite(scale) || !(scale > 0.0f))
    return ctx.error(role + "_scale must be finite and > 0, got " + std::to_string(scale));
  return Status::ok();
}

namespace {

Status check_zero_point(const PrepareContext& ctx, const std::string& role, int64_t zp, DType type) {
  if (type == DType::kInt32 && zp != 0)
    return ctx.error(role + "_zero_point must be 0 for int32 data, got " + std::to_string(zp));
  if (zp < quant_min(type) || zp > quant_max(type))
    return ctx.error(role + "_zero_point " + std::to_string(zp) + " is out of range for " + dtype_name(type));
  return Status::ok();
}

// Reads integer values of a zero point tensor whose dtype must be `type`.
Result<std::vector<int32_t>> zero_point_values(const PrepareContext& ctx, const std::string& role,
                                               const Tensor& zp, DType type) {
  if (zp.dtype() != type)
    return ctx.error(role + "_zero_point has dtype " + dtype_name(zp.dtype()) + " but the quantised tensor is " +
                     dtype_name(type));
  std::vector<int32_t> out;
  for (int64_t v : zp.to_int64()) {
    TINYQ_RETURN_IF_ERROR(check_zero_point(ctx, role, v, type));
    out.push_back(static_cast<int32_t>(v));
  }
  return out;
}

// Entry count of a scale/zero point tensor that must be a scalar or 1-D.
Result<int64_t> param_len(const PrepareContext& ctx, const std::string& name, const Tensor& t) {
  if (t.rank() > 1)
    return ctx.unsupported(name + " has shape " + shape_str(t.shape()) +
                           " (only scalar or 1-D quantisation parameters are supported; no blocked quantisation)");
  return t.numel();
}

}  // namespace

Status validate_quant_params(const PrepareContext& ctx, const std::string& role, const QuantParams& q,
                             const Shape& data_shape) {
  if (q.type != DType::kUInt8 && q.type != DType::kInt8 && q.type != DType::kInt32)
    return ctx.unsupported(role + " has quantised dtype " + dtype_name(q.type));
  if (q.scales.empty() || q.scales.size() != q.zero_points.size())
    return ctx.error(role + "_scale has " + std::to_string(q.scales.size()) + " entries but " + role +
                     "_zero_point has " + std::to_string(q.zero_points.size()));
  if (q.per_axis()) {
    if (q.axis >= static_cast<int>(data_shape.size()))
      return ctx.error("axis " + std::to_string(q.axis) + " is out of range for " + role + " " +
                       shape_str(data_shape));
    if (static_cast<int64_t>(q.scales.size()) != data_shape[q.axis])
      return ctx.error(role + "_scale has " + std::to_string(q.scales.size()) + " entries but " + role +
                       " dimension " + std::to_string(q.axis) + " of " + shape_str(data_shape) + " has " +
                       std::to_string(data_shape[q.axis]));
  } else if (q.scales.size() != 1) {
    return ctx.error(role + "_scale must have 1 entry for per-tensor quantisation, got " +
                     std::to_string(q.scales.size()));
  }
  for (float s : q.scales) TINYQ_RETURN_IF_ERROR(check_scale(ctx, role, s));
  for (int32_t z : q.zero_points) TINYQ_RETURN_IF_ERROR(check_zero_point(ctx, role, z, q.type));
  return Status::ok();
}

Result<QuantParams> make_quant_params(const PrepareContext& ctx, const std::string& role, const Tensor& scale,
                                      const Tensor* zero_point, DType type, const Shape& data_shape,
                                      int64_t axis) {
  if (scale.dtype() != DType::kFloat32)
    return ctx.unsupported(role + "_scale has dtype " + dtype_name(scale.dtype()) + " (only float32)");
  TINYQ_ASSIGN_OR_RETURN(int64_t n, param_len(ctx, role + "_scale", scale));
  if (n == 0) return ctx.error(role + "_scale is empty");
  QuantParams q;
  q.type = type;
  const float* s = scale.data<float>();
  q.scales.assign(s, s + n);
  if (zero_point) {
    TINYQ_ASSIGN_OR_RETURN(int64_t nz, param_len(ctx, role + "_zero_point", *zero_point));
    if (nz != n)
      return ctx.error(role + "_zero_point has " + std::to_string(nz) + " entries but " + role + "_scale has " +
                       std::to_string(n));
    TINYQ_ASSIGN_OR_RETURN(q.zero_points, zero_point_values(ctx, role, *zero_point, type));
  } else {
    q.zero_points.assign(n, 0);
  }
  // A 1-D scale with one entry is per tensor whatever the axis says (as ONNX Runtime reads it).
  if (n > 1) {
    const int64_t rank = static_cast<int64_t>(data_shape.size());
    if (axis < -rank || axis >= rank)
      return ctx.error("axis " + std::to_string(axis) + " is out of range for " + role + " " +
                       shape_str(data_shape));
    q.axis = static_cast<int>(axis < 0 ? axis + rank : axis);
  }
  TINYQ_RETURN_IF_ERROR(validate_quant_params(ctx, role, q, data_shape));
  return q;
}

Result<QuantParams> read_quant_params(PrepareContext& ctx, const std::string& role, int scale_input,
                                      int zero_point_input, DType type, const Shape& data_shape, int64_t axis) {
  TINYQ_ASSIGN_OR_RETURN(const Tensor* scale, ctx.const_input(scale_input));
  const Tensor* zp = nullptr;
  if (zero_point_input >= 0 && ctx.has_input(zero_point_input)) {
    TINYQ_ASSIGN_OR_RETURN(zp, ctx.const_input(zero_point_input));
  }
  return make_quant_params(ctx, role, *scale, zp, type, data_shape, axis);
}

Result<std::vector<int32_t>> read_zero_points(const PrepareContext& ctx, const std::string& role,
                                              const Tensor* zero_point, DType type, int64_t per_axis_len) {
  if (!zero_point) return std::vector<int32_t>{0};
  TINYQ_ASSIGN_OR_RETURN(int64_t n, param_len(ctx, role + "_zero_point", *zero_point));
  if (n != 1 && !(per_axis_len > 0 && n == per_axis_len && zero_point->rank() == 1))
    return ctx.error(role + "_zero_point has shape " + shape_str(zero_point->shape()) + "; expected 1 entry" +
                     (per_axis_len > 0 ? " or " + std::to_string(per_axis_len) : std::string()));
  return zero_point_values(ctx, role, *zero_point, type);
}

Result<int64_t> zero_point_input_count(const PrepareContext& ctx, const std::string& role, int input, DType type,
                                       int64_t per_axis_len) {
  if (!ctx.has_input(input)) return int64_t{0};
  const TensorInfo& z = ctx.input(input);
  if (z.dtype != type)
    return ctx.error(role + "_zero_point has dtype " + dtype_name(z.dtype) + " but " + role + " is " + dtype_name(type));
  const int64_t n = shape_numel(z.shape);
  if (n == 1) return n;
  if (per_axis_len > 0 && z.shape.size() == 1 && n == per_axis_len) return n;
  if (z.shape.size() > 1 && n != 1)
    return ctx.unsupported(role + "_zero_point has shape " + shape_str(z.shape) + " (only scalar or 1-D zero points)");
  return ctx.error(role + "_zero_point has shape " + shape_str(z.shape) + "; expected 1 entry" +
                   (per_axis_len > 0 ? " or " + std::to_string(per_axis_len) : std::string()));
}

Result<int64_t> read_qdq_axis(const PrepareContext& ctx) {
  if (ctx.attr_int("block_size", 0) != 0) return ctx.unsupported("blocked quantisation (block_size != 0)");
  if (ctx.opset() < 13 && ctx.has_attr("axis")) return ctx.error("attribute 'axis' needs opset 13 or later");
  return ctx.attr_int("axis", 1);
}

Result<QuantLayout> quant_layout(const PrepareContext& ctx, const std::string& role, int scale_input,
                                 int zero_point_input, const Shape& data_shape, int64_t axis) {
  const TensorInfo& s = ctx.input(scale_input);
  if (s.shape.size() > 1)
    return ctx.unsupported(role + "_scale has shape " + shape_str(s.shape) +
                           " (only scalar or 1-D quantisation parameters are supported; no blocked quantisation)");
  const int64_t n = shape_numel(s.shape);
  if (n == 0) return ctx.error(role + "_scale is empty");
  if (zero_point_input >= 0 && ctx.has_input(zero_point_input)) {
    const Shape& zs = ctx.input(zero_point_input).shape;
    if (zs.size() > 1 || shape_numel(zs) != n)
      return ctx.error(role + "_zero_point has shape " + shape_str(zs) + " but " + role + "_scale has " +
                       shape_str(s.shape));
  }
  QuantLayout l;
  l.inner = shape_numel(data_shape);
  if (n == 1) return l;
  const int64_t rank = static_cast<int64_t>(data_shape.size());
  if (axis < -rank || axis >= rank)
    return ctx.error("axis " + std::to_string(axis) + " is out of range for " + role + " " + shape_str(data_shape));
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (data_shape[a] != n)
    return ctx.error(role + "_scale has " + std::to_string(n) + " entries but " + role + " dimension " +
                     std::to_string(a) + " of " + shape_str(data_shape) + " has " + std::to_string(data_shape[a]));
  l.outer = 1;
  for (int64_t i = 0; i < a; ++i) l.outer *= data_shape[i];
  l.channels = n;
  l.inner = 1;
  for (int64_t i = a + 1; i < rank; ++i) l.inner *= data_shape[i];
  return l;
}

}  // namespace tinyq::kernels
