// Conv: convolution of float32 N x C x spatial tensors (1 to 3 spatial dims) with groups, strides,
// dilations, explicit or automatic padding and an optional bias.
// Reference: plain loops. Fast: DirectConv (1-D and 2-D, weights and bias known at plan time), or
// XNNPACK's NCHW depthwise kernels where they apply.
// Fusion hooks, set only by tinyq's graph passes: the node's fused output clamp (output_clamp.h,
// from a following Relu or Clip), and an optional 4th input Z shaped like Y that is added before
// the clamp (a following residual Add, as in ONNX Runtime's FusedConv; not ONNX).
#include <array>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/direct_conv.h"
#include "kernels/kernel.h"
#include "kernels/output_clamp.h"
#include "kernels/window.h"
#include "kernels/xnn.h"

namespace tinyq::kernels {
namespace {

using Dims3 = std::array<int64_t, window::kMaxSpatial>;

struct ConvDims {
  int64_t batch = 0, c_in = 0, c_out = 0, groups = 1;
  Dims3 in{}, out{}, k{}, s{}, d{}, pb{};
  OutputClamp clamp;
};

int64_t volume(const Dims3& v) { return v[0] * v[1] * v[2]; }

void conv_reference(const ConvDims& c, const float* x, const float* w, const float* b, const float* z, float* y) {
  const int64_t cin_g = c.c_in / c.groups, cout_g = c.c_out / c.groups;
  const int64_t in_sz = volume(c.in), out_sz = volume(c.out), k_sz = volume(c.k);
  for (int64_t n = 0; n < c.batch; ++n) {
    for (int64_t oc = 0; oc < c.c_out; ++oc) {
      const int64_t g = oc / cout_g;
      float* yc = y + (n * c.c_out + oc) * out_sz;
      const float* zc = z ? z + (n * c.c_out + oc) * out_sz : nullptr;
      for (int64_t od = 0; od < c.out[0]; ++od)
        for (int64_t oh = 0; oh < c.out[1]; ++oh)
          for (int64_t ow = 0; ow < c.out[2]; ++ow) {
            float acc = b ? b[oc] : 0.0f;
            for (int64_t ci = 0; ci < cin_g; ++ci) {
              const float* xc = x + (n * c.c_in + g * cin_g + ci) * in_sz;
              const float* wc = w + (oc * cin_g + ci) * k_sz;
              for (int64_t kd = 0; kd < c.k[0]; ++kd) {
                const int64_t id = od * c.s[0] - c.pb[0] + kd * c.d[0];
                if (id < 0 || id >= c.in[0]) continue;
                for (int64_t kh = 0; kh < c.k[1]; ++kh) {
                  const int64_t ih = oh * c.s[1] - c.pb[1] + kh * c.d[1];
                  if (ih < 0 || ih >= c.in[1]) continue;
                  for (int64_t kw = 0; kw < c.k[2]; ++kw) {
                    const int64_t iw = ow * c.s[2] - c.pb[2] + kw * c.d[2];
                    if (iw < 0 || iw >= c.in[2]) continue;
                    acc += xc[(id * c.in[1] + ih) * c.in[2] + iw] * wc[(kd * c.k[1] + kh) * c.k[2] + kw];
                  }
                }
              }
            }
            const int64_t o = (od * c.out[1] + oh) * c.out[2] + ow;
            yc[o] = c.clamp(zc ? acc + zc[o] : acc);
          }
    }
  }
}

DirectConvParams direct_params(const ConvDims& c) {
  DirectConvParams p;
  p.batch = c.batch;
  p.groups = c.groups;
  p.cin_g = c.c_in / c.groups;
  p.cout_g = c.c_out / c.groups;
  p.in_h = c.in[1];
  p.in_w = c.in[2];
  p.out_h = c.out[1];
  p.out_w = c.out[2];
  p.k_h = c.k[1];
  p.k_w = c.k[2];
  p.stride_h = c.s[1];
  p.stride_w = c.s[2];
  p.dil_h = c.d[1];
  p.dil_w = c.d[2];
  p.pad_top = c.pb[1];
  p.pad_left = c.pb[2];
  p.out_min = c.clamp.lo;
  p.out_max = c.clamp.hi;
  return p;
}

// XNNPACK's NCHW depthwise kernels (3x3 with pad 1 or 5x5 with pad 2, stride 1 or 2) read the
// input in place, where DirectConv stages a padded copy: 2-4x faster at stride 2, on par at 1.
// They read up to 16 bytes past each channel plane, which is only safe when another plane
// follows; so the tensor's very last plane goes through DirectConv instead. Their min/max clamp
// turns NaN into +-inf (DirectConv and the reference propagate it).
class XnnDepthwiseConv final : public Kernel {
 public:
  // nullptr when the shape is not one XNNPACK's NCHW depthwise path takes.
  static std::unique_ptr<XnnDepthwiseConv> create(const ConvDims& c, const float* w, const float* b) {
    const int64_t k = c.k[1], s = c.s[1], pad = (k - 1) / 2;
    constexpr int64_t kOverreadFloats = 4;  // XNN_EXTRA_BYTES
    const bool fits = c.groups == c.c_in && c.c_out == c.c_in && c.in[0] == 1 && c.k[2] == k &&
                      (k == 3 || k == 5) && c.s[2] == s && (s == 1 || s == 2) && c.d[1] == 1 && c.d[2] == 1 &&
                      c.pb[1] == pad && c.pb[2] == pad &&
                      // The bottom/right padding must also be `pad`: XNNPACK derives the output size.
                      c.out[1] == (c.in[1] + 2 * pad - k) / s + 1 && c.out[2] == (c.in[2] + 2 * pad - k) / s + 1 &&
                      c.in[1] * c.in[2] >= kOverreadFloats;
    if (!fits || !xnn_ready()) return nullptr;
    const std::vector<float> bias = b ? std::vector<float>(b, b + c.c_out) : std::vector<float>(c.c_out, 0.0f);
    auto kernel = std::unique_ptr<XnnDepthwiseConv>(new XnnDepthwiseConv);
    kernel->c_ = c;
    const int64_t taps = k * k;
    // Every image but the last, all channels; then the last image's channels but its last one.
    if (c.batch > 1 && !(kernel->all_.op = create_op(c, c.c_in, w, bias.data()))) return nullptr;
    if (c.c_in > 1 && !(kernel->head_.op = create_op(c, c.c_in - 1, w, bias.data()))) return nullptr;
    DirectConvParams tail = direct_params(c);
    tail.batch = tail.groups = 1;
    kernel->tail_ = DirectConv::create(tail, w + (c.c_in - 1) * taps, bias.data() + c.c_in - 1);
    if (!kernel->tail_) return nullptr;
    return kernel;
  }

  size_t scratch_bytes() const override { return tail_->scratch_bytes(); }
  // XNNPACK's operators pack every channel's bias and k x k taps (f32 CHW depthwise packing), so
  // they keep at least that many floats; plus the last channel's DirectConv copy.
  size_t resident_bytes() const override {
    const size_t per_channel = static_cast<size_t>(c_.k[1] * c_.k[2] + 1) * sizeof(float);
    size_t channels = 0;
    if (all_.op) channels += static_cast<size_t>(c_.c_in);
    if (head_.op) channels += static_cast<size_t>(c_.c_in - 1);
    return channels * per_channel + tail_->packed_bytes();
  }

  void run(const KernelArgs& a) override {
    const float* x = static_cast<const float*>(a.inputs[0]);
    float* y = static_cast<float*>(a.outputs[0]);
    const int64_t in_image = c_.c_in * c_.in[1] * c_.in[2], out_image = c_.c_out * c_.out[1] * c_.out[2];
    const float* x_last = x + (c_.batch - 1) * in_image;
    float* y_last = y + (c_.batch - 1) * out_image;
    all_.run(c_, c_.batch - 1, x, y, a.threadpool);
    head_.run(c_, 1, x_last, y_last, a.threadpool);
    tail_->run(x_last + in_image - c_.in[1] * c_.in[2], y_last + out_image - c_.out[1] * c_.out[2], a.scratch);
  }

 private:
  // One XNNPACK operator over `groups` leading channels of each image; setup (which binds the
  // pointers) is redone only when they change.
  struct Part {
    XnnOperator op;
    const float* x = nullptr;
    float* y = nullptr;
    pthreadpool_t pool = nullptr;
    void run(const ConvDims& c, int64_t batch, const float* xp, float* yp, pthreadpool_t tp) {
      if (!op) return;
      if (xp != x || yp != y || tp != pool) {
        xnn_setup_convolution2d_nchw_f32(op.get(), batch, c.in[1], c.in[2], xp, yp, tp);
        x = xp;
        y = yp;
        pool = tp;
      }
      xnn_run_operator(op.get(), tp);
    }
  };

  static XnnOperator create_op(const ConvDims& c, int64_t groups, const float* w, const float* bias) {
    const uint32_t k = static_cast<uint32_t>(c.k[1]), s = static_cast<uint32_t>(c.s[1]), p = (k - 1) / 2;
    xnn_operator_t op = nullptr;
    // Channel strides stay c_in: `groups` may cover only the leading channels of each image.
    if (xnn_create_convolution2d_nchw_f32(p, p, p, p, k, k, s, s, 1, 1, groups, 1, 1, c.c_in, c.c_out, w, bias,
                                          c.clamp.lo, c.clamp.hi, /*flags=*/0, &op) != xnn_status_success)
      return nullptr;
    return XnnOperator(op);
  }

  ConvDims c_;
  Part all_, head_;
  std::unique_ptr<DirectConv> tail_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> make_conv(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs(
      {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}));
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("needs inputs X and W");
  const TensorInfo& x = ctx.input(0);
  const TensorInfo& w = ctx.input(1);
  const bool has_bias = ctx.has_input(2);
  // ONNX Conv has three inputs; the fused sum Z exists only on tinyq's own (domain "tinyq") nodes.
  const bool internal = ctx.node().domain == "tinyq";
  if (ctx.num_inputs() > (internal ? 4 : 3)) return ctx.error(internal ? "takes at most 4 inputs" : "takes at most 3 inputs (X, W, B)");
  const bool has_sum = internal && ctx.has_input(3);
  for (int i = 0; i < 4; ++i)
    if (ctx.has_input(i) && ctx.input(i).dtype != DType::kFloat32)
      return ctx.unsupported(std::string("input ") + std::to_string(i) + " has dtype " +
                             dtype_name(ctx.input(i).dtype) + " (only float32 is supported)");
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  if (rank < 3) return ctx.error("X must have rank >= 3, got " + shape_str(x.shape));
  if (rank - 2 > window::kMaxSpatial) return ctx.unsupported("more than 3 spatial dims");
  if (static_cast<int64_t>(w.shape.size()) != rank)
    return ctx.error("W " + shape_str(w.shape) + " must have the rank of X " + shape_str(x.shape));
  const int spatial = static_cast<int>(rank - 2);

  ConvDims c;
  TINYQ_ASSIGN_OR_RETURN(c.clamp, read_output_clamp(ctx));
  c.batch = x.shape[0];
  c.c_in = x.shape[1];
  c.c_out = w.shape[0];
  c.groups = ctx.attr_int("group", 1);
  if (c.groups < 1) return ctx.error("attribute 'group' must be >= 1");
  if (c.c_in % c.groups != 0 || c.c_out % c.groups != 0)
    return ctx.error("channels in (" + std::to_string(c.c_in) + ") and out (" + std::to_string(c.c_out) +
                     ") must be multiples of group " + std::to_string(c.groups));
  if (w.shape[1] != c.c_in / c.groups)
    return ctx.error("W " + shape_str(w.shape) + " needs " + std::to_string(c.c_in / c.groups) +
                     " input channels per group");
  if (has_bias && (ctx.input(2).shape.size() != 1 || ctx.input(2).shape[0] != c.c_out))
    return ctx.error("B " + shape_str(ctx.input(2).shape) + " must have shape [" + std::to_string(c.c_out) + "]");
  std::vector<int64_t> kernel(w.shape.begin() + 2, w.shape.end());
  if (ctx.has_attr("kernel_shape") && ctx.attr_ints("kernel_shape") != kernel)
    return ctx.error("attribute 'kernel_shape' disagrees with W " + shape_str(w.shape));
  for (int64_t k : kernel)
    if (k < 1) return ctx.error("W " + shape_str(w.shape) + " has an empty kernel");
  std::vector<int64_t> in_spatial(x.shape.begin() + 2, x.shape.end());
  TINYQ_ASSIGN_OR_RETURN(window::Geometry geo, window::forward_geometry(ctx, in_spatial, kernel,
                                                                        window::Rounding::kFloor, true));
  Shape out_shape{c.batch, c.c_out};
  out_shape.insert(out_shape.end(), geo.out.begin(), geo.out.end());
  if (has_sum && ctx.input(3).shape != out_shape)
    return ctx.error("fused sum input " + shape_str(ctx.input(3).shape) + " must have the output shape " +
                     shape_str(out_shape));
  ctx.set_output(0, DType::kFloat32, out_shape);
  c.in = geo.in3();
  c.out = geo.out3();
  c.k = geo.kernel3();
  c.s = geo.strides3();
  c.d = geo.dilations3();
  c.pb = geo.pad_begin3();

  if (shape_numel(out_shape) == 0) return make_kernel([](const KernelArgs&) {});
  if (c.c_in == 0) {  // an empty sum: the output is the bias
    const size_t plane = static_cast<size_t>(volume(c.out));
    return make_kernel([c, plane, has_bias, has_sum](const KernelArgs& a) {
      const float* b = has_bias ? static_cast<const float*>(a.inputs[2]) : nullptr;
      const float* z = has_sum ? static_cast<const float*>(a.inputs[3]) : nullptr;
      float* y = static_cast<float*>(a.outputs[0]);
      for (int64_t i = 0; i < c.batch * c.c_out; ++i)
        for (size_t j = 0; j < plane; ++j)
          y[i * plane + j] = c.clamp((b ? b[i % c.c_out] : 0.0f) + (z ? z[i * plane + j] : 0.0f));
    });
  }

  const bool constant_params = w.value && (!has_bias || ctx.input(2).value);
  if (ctx.impl() == KernelImpl::kFast && spatial <= 2 && constant_params) {
    const float* wv = w.value->data<float>();
    const float* bv = has_bias ? ctx.input(2).value->data<float>() : nullptr;
    if (spatial == 2 && !has_sum) {
      if (std::unique_ptr<XnnDepthwiseConv> k = XnnDepthwiseConv::create(c, wv, bv))
        return std::unique_ptr<Kernel>(std::move(k));
    }
    std::shared_ptr<DirectConv> conv = DirectConv::create(direct_params(c), wv, bv);
    if (conv) {
      const size_t scratch = conv->scratch_bytes();
      return make_kernel(
          [conv, has_sum](const KernelArgs& a) {
            conv->run(static_cast<const float*>(a.inputs[0]), static_cast<float*>(a.outputs[0]), a.scratch,
                      has_sum ? static_cast<const float*>(a.inputs[3]) : nullptr, a.threadpool);
          },
          scratch, conv->packed_bytes());
    }
  }
  return make_kernel([c, has_bias, has_sum](const KernelArgs& a) {
    conv_reference(c, static_cast<const float*>(a.inputs[0]), static_cast<const float*>(a.inputs[1]),
                   has_bias ? static_cast<const float*>(a.inputs[2]) : nullptr,
                   has_sum ? static_cast<const float*>(a.inputs[3]) : nullptr, static_cast<float*>(a.outputs[0]));
  });
}

}  // namespace tinyq::kernels
