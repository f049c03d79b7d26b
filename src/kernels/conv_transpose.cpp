// ConvTranspose (float32, 1 to 3 spatial dims): the gradient of Conv with respect to its input,
// with groups, strides, dilations, pads or auto_pad, output_padding and output_shape.
// Plain loops serve both kernel kinds: no model tinyq targets spends its time here.
#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/output_clamp.h"
#include "kernels/window.h"

namespace tinyq::kernels {
namespace {

using Dims3 = std::array<int64_t, window::kMaxSpatial>;

struct ConvTDims {
  int64_t batch = 0, c_in = 0, c_out = 0, groups = 1;
  Dims3 in{}, out{}, k{}, s{}, d{}, pb{};
  OutputClamp clamp;  // fused by passes/fuse_activation
};

int64_t volume(const Dims3& v) { return v[0] * v[1] * v[2]; }

// Scatters every input element times every kernel tap to output position i*s + k*d - pad.
void conv_transpose_reference(const ConvTDims& c, const float* x, const float* w, const float* b, float* y) {
  const int64_t cin_g = c.c_in / c.groups, cout_g = c.c_out / c.groups;
  const int64_t in_sz = volume(c.in), out_sz = volume(c.out), k_sz = volume(c.k);
  for (int64_t n = 0; n < c.batch; ++n)
    for (int64_t oc = 0; oc < c.c_out; ++oc) {
      float* yc = y + (n * c.c_out + oc) * out_sz;
      for (int64_t i = 0; i < out_sz; ++i) yc[i] = b ? b[oc] : 0.0f;
    }
  for (int64_t n = 0; n < c.batch; ++n)
    for (int64_t g = 0; g < c.groups; ++g)
      for (int64_t ci = 0; ci < cin_g; ++ci) {
        const float* xc = x + (n * c.c_in + g * cin_g + ci) * in_sz;
        for (int64_t m = 0; m < cout_g; ++m) {
          const float* wc = w + ((g * cin_g + ci) * cout_g + m) * k_sz;
          float* yc = y + (n * c.c_out + g * cout_g + m) * out_sz;
          for (int64_t id = 0; id < c.in[0]; ++id)
            for (int64_t ih = 0; ih < c.in[1]; ++ih)
              for (int64_t iw = 0; iw < c.in[2]; ++iw) {
                const float xv = xc[(id * c.in[1] + ih) * c.in[2] + iw];
                for (int64_t kd = 0; kd < c.k[0]; ++kd) {
                  const int64_t od = id * c.s[0] + kd * c.d[0] - c.pb[0];
                  if (od < 0 || od >= c.out[0]) continue;
                  for (int64_t kh = 0; kh < c.k[1]; ++kh) {
                    const int64_t oh = ih * c.s[1] + kh * c.d[1] - c.pb[1];
                    if (oh < 0 || oh >= c.out[1]) continue;
                    for (int64_t kw = 0; kw < c.k[2]; ++kw) {
                      const int64_t ow = iw * c.s[2] + kw * c.d[2] - c.pb[2];
                      if (ow < 0 || ow >= c.out[2]) continue;
                      yc[(od * c.out[1] + oh) * c.out[2] + ow] += xv * wc[(kd * c.k[1] + kh) * c.k[2] + kw];
                    }
                  }
                }
              }
        }
      }
  if (c.clamp.active())
    for (int64_t i = 0; i < c.batch * c.c_out * out_sz; ++i) y[i] = c.clamp(y[i]);
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_conv_transpose(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"auto_pad", "dilations", "group", "kernel_shape", "output_padding",
                                         "output_shape", "pads", "strides"}));
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("needs inputs X and W");
  for (int i = 0; i < 3; ++i)
    if (ctx.has_input(i) && ctx.input(i).dtype != DType::kFloat32)
      return ctx.unsupported("input " + std::to_string(i) + " has dtype " + dtype_name(ctx.input(i).dtype) +
                             " (only float32 is supported)");
  const Shape& xs = ctx.input(0).shape;
  const Shape& ws = ctx.input(1).shape;
  const bool has_bias = ctx.has_input(2);
  const int64_t rank = static_cast<int64_t>(xs.size());
  if (rank < 3) return ctx.error("X must have rank >= 3, got " + shape_str(xs));
  if (rank - 2 > window::kMaxSpatial) return ctx.unsupported("more than 3 spatial dims");
  if (static_cast<int64_t>(ws.size()) != rank)
    return ctx.error("W " + shape_str(ws) + " must have the rank of X " + shape_str(xs));
  const int spatial = static_cast<int>(rank - 2);

  ConvTDims c;
  TINYQ_ASSIGN_OR_RETURN(c.clamp, read_output_clamp(ctx));
  c.batch = xs[0];
  c.c_in = xs[1];
  c.groups = ctx.attr_int("group", 1);
  if (c.groups < 1) return ctx.error("attribute 'group' must be >= 1");
  if (ws[0] != c.c_in || c.c_in % c.groups != 0)
    return ctx.error("W " + shape_str(ws) + " must have " + std::to_string(c.c_in) +
                     " input channels, a multiple of group " + std::to_string(c.groups));
  c.c_out = ws[1] * c.groups;
  if (has_bias && ctx.input(2).shape != Shape{c.c_out})
    return ctx.error("B " + shape_str(ctx.input(2).shape) + " must have shape [" + std::to_string(c.c_out) + "]");
  std::vector<int64_t> kernel(ws.begin() + 2, ws.end());
  if (ctx.has_attr("kernel_shape") && ctx.attr_ints("kernel_shape") != kernel)
    return ctx.error("attribute 'kernel_shape' disagrees with W " + shape_str(ws));

  using window::read_spatial_ints;
  TINYQ_ASSIGN_OR_RETURN(std::vector<int64_t> strides, read_spatial_ints(ctx, "strides", spatial, 1, 1));
  TINYQ_ASSIGN_OR_RETURN(std::vector<int64_t> dilations, read_spatial_ints(ctx, "dilations", spatial, 1, 1));
  TINYQ_ASSIGN_OR_RETURN(std::vector<int64_t> out_pad, read_spatial_ints(ctx, "output_padding", spatial, 0, 0));
  TINYQ_ASSIGN_OR_RETURN(std::vector<int64_t> pads, read_spatial_ints(ctx, "pads", spatial, 0, 0));
  TINYQ_ASSIGN_OR_RETURN(window::AutoPad auto_pad, window::read_auto_pad(ctx));
  std::vector<int64_t> out_shape = ctx.attr_ints("output_shape");
  if (out_shape.size() == static_cast<size_t>(rank)) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  if (!out_shape.empty() && out_shape.size() != static_cast<size_t>(spatial))
    return ctx.error("attribute 'output_shape' has " + std::to_string(out_shape.size()) + " values, expected " +
                     std::to_string(spatial));

  std::vector<int64_t> out(spatial), pad_begin(spatial);
  const bool same = auto_pad == window::AutoPad::kSameUpper || auto_pad == window::AutoPad::kSameLower;
  for (int i = 0; i < spatial; ++i) {
    const int64_t in = xs[2 + i], s = strides[i];
    // Hostile attributes near the int64 limits: the sizes are exact in 128 bits, and the full
    // extent (which bounds every index i * s + k * d the kernel computes) must fit int64.
    using window::Wide;
    const Wide dk = Wide{kernel[i] - 1} * dilations[i] + 1;
    const Wide full = Wide{s} * (in - 1) + out_pad[i] + dk;  // the output before any cropping
    if (!window::fits_int64(full + s))
      return ctx.error("kernel_shape, dilations, strides and output_padding along spatial dim " +
                       std::to_string(i) + " reach beyond int64");
    Wide wide_out;
    if (!out_shape.empty() || same) {
      wide_out = !out_shape.empty() ? Wide{out_shape[i]} : Wide{in} * s;
      if (wide_out < 1) return ctx.error("empty output along spatial dim " + std::to_string(i));
      // An output larger than the full extent gets bias-only positions at the end (as ONNX Runtime).
      const int64_t total = static_cast<int64_t>(std::max<Wide>(0, full - wide_out));
      // SAME_UPPER crops the odd element at the end; NOTSET and SAME_LOWER at the beginning.
      pad_begin[i] = auto_pad == window::AutoPad::kSameUpper ? total / 2 : total - total / 2;
    } else {
      const bool valid = auto_pad == window::AutoPad::kValid;
      pad_begin[i] = valid ? 0 : pads[i];
      wide_out = full - (valid ? 0 : Wide{pads[i]} + pads[i + spatial]);
    }
    if (wide_out < 1) return ctx.error("empty output along spatial dim " + std::to_string(i));
    if (!window::fits_int64(wide_out))
      return ctx.error("output size along spatial dim " + std::to_string(i) + " is beyond int64");
    out[i] = static_cast<int64_t>(wide_out);
  }
  Shape y_shape{c.batch, c.c_out};
  y_shape.insert(y_shape.end(), out.begin(), out.end());
  ctx.set_output(0, DType::kFloat32, y_shape);
  c.in = window::Geometry::pad3(std::vector<int64_t>(xs.begin() + 2, xs.end()), 1);
  c.out = window::Geometry::pad3(out, 1);
  c.k = window::Geometry::pad3(kernel, 1);
  c.s = window::Geometry::pad3(strides, 1);
  c.d = window::Geometry::pad3(dilations, 1);
  c.pb = window::Geometry::pad3(pad_begin, 0);
  return make_kernel([c, has_bias](const KernelArgs& a) {
    conv_transpose_reference(c, static_cast<const float*>(a.inputs[0]), static_cast<const float*>(a.inputs[1]),
                             has_bias ? static_cast<const float*>(a.inputs[2]) : nullptr,
                             static_cast<float*>(a.outputs[0]));
  });
}

}  // namespace tinyq::kernels
