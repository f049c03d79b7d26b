// Fake quantisation for QAT: the forward pass rounds exactly as the exported QDQ file will
// (quant/plan.h's format), the backward pass lets gradients through (straight-through), and with
// LSQ the scales are learned too. Scales are learned as log(scale), so they stay positive and
// Adam moves them by relative steps. Internal to the tinyq_qat target.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "quant/plan.h"

namespace tinyq::qat {

// Shared switch: off, every fake quantiser passes its input through (the fp32 model).
struct FakeQuantSwitch {
  bool enabled = true;
};

// One activation tensor, per tensor: u8 asymmetric (0..255) or s8 symmetric (-127..127, as
// write_qdq's s8 grid), zero point fixed, scale fixed or learned.
class ActivationFakeQuant {
 public:
  ActivationFakeQuant(const quant::ActivationParams& init, bool learn, std::shared_ptr<const FakeQuantSwitch> on);
  torch::Tensor operator()(const torch::Tensor& x) const;
  // The parameters the exported file gets.
  quant::ActivationParams params() const;
  // Learned parameters (log scale); empty when the scale is fixed.
  std::vector<torch::Tensor> parameters() const;

 private:
  quant::ActivationParams init_;
  int64_t qmin_, qmax_;
  bool learn_;
  torch::Tensor log_scale_;   // [1], learned
  torch::Tensor zero_point_;  // [1] float, as the learnable op takes it
  std::shared_ptr<const FakeQuantSwitch> on_;
};

// One weight: symmetric int8 (-127..127, no zero point), per channel along `axis` or per tensor
// (axis -1), with the scales static PTQ chose (max|w| / 127 of the original weight): fixed, or
// learned from there. The file gets the same scales, so it rounds as the forward pass did.
class WeightFakeQuant {
 public:
  WeightFakeQuant(const std::vector<float>& scales, int64_t axis, bool learn, std::shared_ptr<const FakeQuantSwitch> on);
  torch::Tensor operator()(const torch::Tensor& w) const;
  std::vector<float> scales() const;  // current: fixed, or learned
  std::vector<torch::Tensor> parameters() const;
  int64_t axis() const { return axis_; }

 private:
  int64_t axis_;
  bool learn_;
  torch::Tensor scale_;       // [channels] or [1], fixed
  torch::Tensor zero_point_;  // int zeros, as the fixed per-channel op takes them
  torch::Tensor log_scale_;   // [channels] or [1], learned
  std::shared_ptr<const FakeQuantSwitch> on_;
};

}  // namespace tinyq::qat
