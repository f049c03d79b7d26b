#include "qat/fake_quant.h"

#include <cmath>

#include "quant/weights.h"

namespace tinyq::qat {

namespace {

// QuantizeLinear saturates to its output type, so the file's activation grid is the type's full
// range, whatever range the scale was chosen for.
constexpr int64_t kU8Min = 0, kU8Max = 255;
constexpr int64_t kS8Min = -128, kS8Max = 127;
// Weights are rounded offline onto the symmetric grid (quant/weights.h).
constexpr int64_t kWeightMin = -quant::kWeightQMax, kWeightMax = quant::kWeightQMax;
// LSQ's gradient scale; Adam normalises each parameter's step, so 1 (no scaling) suffices.
constexpr double kLsqGradFactor = 1.0;

std::vector<float> to_floats(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

ActivationFakeQuant::ActivationFakeQuant(const quant::ActivationParams& init, bool learn,
                                         std::shared_ptr<const FakeQuantSwitch> on)
    : init_(init), learn_(learn), on_(std::move(on)) {
  const bool u8 = init.type == quant::ActivationType::kU8Asymmetric;
  qmin_ = u8 ? kU8Min : kS8Min;
  qmax_ = u8 ? kU8Max : kS8Max;
  zero_point_ = torch::full({1}, static_cast<float>(init.zero_point));
  if (learn_) log_scale_ = torch::full({1}, std::log(init.scale)).set_requires_grad(true);
}

torch::Tensor ActivationFakeQuant::operator()(const torch::Tensor& x) const {
  if (!on_->enabled) return x;
  if (!learn_) return torch::fake_quantize_per_tensor_affine(x, init_.scale, init_.zero_point, qmin_, qmax_);
  return at::_fake_quantize_learnable_per_tensor_affine(x, log_scale_.exp(), zero_point_, qmin_, qmax_, kLsqGradFactor);
}

quant::ActivationParams ActivationFakeQuant::params() const {
  quant::ActivationParams p = init_;
  if (learn_) p.scale = to_floats(log_scale_.exp())[0];
  return p;
}

std::vector<torch::Tensor> ActivationFakeQuant::parameters() const {
  return learn_ ? std::vector<torch::Tensor>{log_scale_} : std::vector<torch::Tensor>{};
}

WeightFakeQuant::WeightFakeQuant(const std::vector<float>& scales, int64_t axis, bool learn,
                                 std::shared_ptr<const FakeQuantSwitch> on)
    : axis_(axis), learn_(learn), on_(std::move(on)) {
  scale_ = torch::tensor(scales, torch::kFloat);
  zero_point_ = torch::zeros({scale_.size(0)}, torch::kInt);
  if (learn_) log_scale_ = scale_.log().set_requires_grad(true);
}

torch::Tensor WeightFakeQuant::operator()(const torch::Tensor& w) const {
  if (!on_->enabled) return w;
  if (learn_) {
    torch::Tensor scale = log_scale_.exp();
    torch::Tensor zero = torch::zeros_like(scale);
    if (axis_ < 0)
      return at::_fake_quantize_learnable_per_tensor_affine(w, scale, zero, kWeightMin, kWeightMax, kLsqGradFactor);
    return at::_fake_quantize_learnable_per_channel_affine(w, scale, zero, axis_, kWeightMin, kWeightMax, kLsqGradFactor);
  }
  if (axis_ < 0) return torch::fake_quantize_per_tensor_affine(w, scale_.item<double>(), 0, kWeightMin, kWeightMax);
  return torch::fake_quantize_per_channel_affine(w, scale_, zero_point_, axis_, kWeightMin, kWeightMax);
}

std::vector<float> WeightFakeQuant::scales() const { return to_floats(learn_ ? log_scale_.exp() : scale_); }

std::vector<torch::Tensor> WeightFakeQuant::parameters() const {
  return learn_ ? std::vector<torch::Tensor>{log_scale_} : std::vector<torch::Tensor>{};
}

}  // namespace tinyq::qat
