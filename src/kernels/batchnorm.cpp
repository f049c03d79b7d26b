// BatchNormalization (float32): y = (x - mean) / sqrt(var + epsilon) * scale + B per channel (axis 1).
// Inference mode uses the given mean and var. Training mode (opset 14+, training_mode=1) normalises
// with the batch's own statistics and also outputs the updated running mean and variance.
// Reference: the formula as written. Fast: y = x * a + b with a and b folded per channel, at plan
// time when the parameters are constant, else at the start of each run (C values, no allocation).
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "kernels/kernel.h"

namespace tinyq::kernels {
namespace {

struct BnDims {
  int64_t batch = 0, channels = 0, plane = 0;
  float epsilon = 1e-5f;
};

void batchnorm_reference(const BnDims& d, const float* x, const float* scale, const float* bias, const float* mean,
                         const float* var, float* y) {
  for (int64_t n = 0; n < d.batch; ++n)
    for (int64_t c = 0; c < d.channels; ++c) {
      const int64_t base = (n * d.channels + c) * d.plane;
      for (int64_t i = 0; i < d.plane; ++i)
        y[base + i] = (x[base + i] - mean[c]) / std::sqrt(var[c] + d.epsilon) * scale[c] + bias[c];
    }
}

float folded_scale(const BnDims& d, float scale, float var) { return scale / std::sqrt(var + d.epsilon); }

void scale_shift(const BnDims& d, const float* x, float* y, int64_t c, float a, float b) {
  for (int64_t n = 0; n < d.batch; ++n) {
    const int64_t base = (n * d.channels + c) * d.plane;
    for (int64_t i = 0; i < d.plane; ++i) y[base + i] = x[base + i] * a + b;
  }
}

// Training mode: batch statistics (population variance, accumulated in double), then the running
// statistics input * momentum + batch * (1 - momentum), as the ONNX reference computes them.
void batchnorm_training(const BnDims& d, float momentum, const float* x, const float* scale, const float* bias,
                        const float* mean, const float* var, float* y, float* running_mean, float* running_var) {
  const double count = static_cast<double>(d.batch * d.plane);
  for (int64_t c = 0; c < d.channels; ++c) {
    double sum = 0.0, sq = 0.0;
    for (int64_t n = 0; n < d.batch; ++n)
      for (int64_t i = 0; i < d.plane; ++i) sum += x[(n * d.channels + c) * d.plane + i];
    const double m = count > 0 ? sum / count : 0.0;
    for (int64_t n = 0; n < d.batch; ++n)
      for (int64_t i = 0; i < d.plane; ++i) {
        const double dev = x[(n * d.channels + c) * d.plane + i] - m;
        sq += dev * dev;
      }
    const float batch_mean = static_cast<float>(m);
    const float batch_var = static_cast<float>(count > 0 ? sq / count : 0.0);
    if (running_mean) running_mean[c] = mean[c] * momentum + batch_mean * (1.0f - momentum);
    if (running_var) running_var[c] = var[c] * momentum + batch_var * (1.0f - momentum);
    for (int64_t n = 0; n < d.batch; ++n) {
      const int64_t base = (n * d.channels + c) * d.plane;
      for (int64_t i = 0; i < d.plane; ++i)
        y[base + i] = (x[base + i] - batch_mean) / std::sqrt(batch_var + d.epsilon) * scale[c] + bias[c];
    }
  }
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_batch_normalization(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"epsilon", "momentum", "training_mode", "spatial", "is_test"}));
  const bool training = ctx.attr_int("training_mode", 0) != 0;
  if (training && ctx.opset() < 14) return ctx.error("training_mode exists only from opset 14");
  if (ctx.attr_int("spatial", 1) != 1) return ctx.unsupported("spatial=0 is not supported");
  if (!training)
    for (int i = 1; i < ctx.num_outputs(); ++i)
      if (ctx.has_output(i))
        return ctx.unsupported("outputs beyond Y (pre-opset-14 training statistics) need training_mode=1");
  if (training && ctx.num_outputs() > 3) return ctx.unsupported("opset 14+ training mode has at most 3 outputs");
  for (int i = 0; i < 5; ++i) {
    if (!ctx.has_input(i)) return ctx.error("needs 5 inputs: X, scale, B, input_mean, input_var");
    if (ctx.input(i).dtype != DType::kFloat32)
      return ctx.unsupported("input " + std::to_string(i) + " has dtype " + dtype_name(ctx.input(i).dtype) +
                             " (only float32 is supported)");
  }
  const Shape& xs = ctx.input(0).shape;
  if (xs.size() < 2) return ctx.error("X must have rank >= 2, got " + shape_str(xs));
  BnDims d;
  d.batch = xs[0];
  d.channels = xs[1];
  d.plane = shape_numel(xs) / std::max<int64_t>(1, d.batch * d.channels);
  d.epsilon = ctx.attr_float("epsilon", 1e-5f);
  for (int i = 1; i < 5; ++i)
    if (ctx.input(i).shape != Shape{d.channels})
      return ctx.error("input " + std::to_string(i) + " " + shape_str(ctx.input(i).shape) + " must have shape [" +
                       std::to_string(d.channels) + "]");
  ctx.set_output(0, DType::kFloat32, xs);

  if (training) {
    const float momentum = ctx.attr_float("momentum", 0.9f);
    for (int i = 1; i < 3; ++i) ctx.set_output(i, DType::kFloat32, {d.channels});
    const bool mean_out = ctx.has_output(1), var_out = ctx.has_output(2);
    return make_kernel([d, momentum, mean_out, var_out](const KernelArgs& a) {
      auto in = [&](int i) { return static_cast<const float*>(a.inputs[i]); };
      batchnorm_training(d, momentum, in(0), in(1), in(2), in(3), in(4), static_cast<float*>(a.outputs[0]),
                         mean_out ? static_cast<float*>(a.outputs[1]) : nullptr,
                         var_out ? static_cast<float*>(a.outputs[2]) : nullptr);
    });
  }

  auto param = [&](const KernelArgs& a, int i) { return static_cast<const float*>(a.inputs[i]); };
  if (ctx.impl() == KernelImpl::kReference) {
    return make_kernel([d, param](const KernelArgs& a) {
      batchnorm_reference(d, param(a, 0), param(a, 1), param(a, 2), param(a, 3), param(a, 4),
                          static_cast<float*>(a.outputs[0]));
    });
  }
  bool constant = true;
  for (int i = 1; i < 5; ++i) constant = constant && ctx.input(i).value;
  if (constant) {
    std::vector<float> mul(d.channels), add(d.channels);
    const float* s = ctx.input(1).value->data<float>();
    const float* b = ctx.input(2).value->data<float>();
    const float* m = ctx.input(3).value->data<float>();
    const float* v = ctx.input(4).value->data<float>();
    for (int64_t c = 0; c < d.channels; ++c) {
      mul[c] = folded_scale(d, s[c], v[c]);
      add[c] = b[c] - m[c] * mul[c];
    }
    return make_kernel([d, mul = std::move(mul), add = std::move(add)](const KernelArgs& a) {
      for (int64_t c = 0; c < d.channels; ++c)
        scale_shift(d, static_cast<const float*>(a.inputs[0]), static_cast<float*>(a.outputs[0]), c, mul[c], add[c]);
    });
  }
  return make_kernel([d, param](const KernelArgs& a) {
    for (int64_t c = 0; c < d.channels; ++c) {
      const float mul = folded_scale(d, param(a, 1)[c], param(a, 4)[c]);
      scale_shift(d, param(a, 0), static_cast<float*>(a.outputs[0]), c, mul, param(a, 2)[c] - param(a, 3)[c] * mul);
    }
  });
}

}  // namespace tinyq::kernels
