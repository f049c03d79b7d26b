// Fast fused int8 kernels against their scalar reference, bit for bit, on every instruction set
// this CPU runs; and the references against the unfused ONNX ops they replace.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "kernels/int8/engine.h"
#include "kernels/int8/fused_common.h"
#include "kernels/int8/fused_test_util.h"
#include "kernels/testing.h"

namespace tinyq::kernels::int8 {
namespace {

using testing::FusedCall;
using testing::run_fused;
using testing::same_bytes;
using testing::scalar;

constexpr uint32_t kSeed = 20261127;

// Full-range int8 weights, biased towards the extremes that overflow 16-bit pair sums.
std::vector<int8_t> random_weights(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> any(-128, 127), pick(0, 7);
  std::vector<int8_t> w(n);
  for (auto& v : w) {
    const int p = pick(rng);
    v = static_cast<int8_t>(p == 0 ? -128 : (p == 1 ? 127 : any(rng)));
  }
  return w;
}

Tensor random_floats(std::mt19937& rng, Shape shape, float lo, float hi) {
  Tensor t(DType::kFloat32, std::move(shape));
  std::uniform_real_distribution<float> u(lo, hi);
  std::uniform_int_distribution<int> pick(0, 15);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = pick(rng) == 0 ? 0.0f : u(rng);
  return t;
}

Tensor random_bytes(std::mt19937& rng, DType type, Shape shape) {
  Tensor t(type, std::move(shape));
  std::uniform_int_distribution<int> any(0, 255), pick(0, 7);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int p = pick(rng);
    t.data<uint8_t>()[i] = static_cast<uint8_t>(p == 0 ? 0 : (p == 1 ? 255 : (p == 2 ? 128 : any(rng))));
  }
  return t;
}

// Runs the call with the reference kernel and with the fast kernel on every runnable ISA; every
// output must agree bit for bit.
void expect_fast_matches_reference(const FusedCall& call, const std::string& what) {
  auto ref = testing::run_fused_all(call, KernelImpl::kReference, std::nullopt);
  ASSERT_TRUE(ref.is_ok()) << what << ": " << ref.status().message();
  for (Isa isa : runnable_isas()) {
    auto fast = testing::run_fused_all(call, KernelImpl::kFast, isa);
    ASSERT_TRUE(fast.is_ok()) << what << " [" << isa_name(isa) << "]: " << fast.status().message();
    for (size_t i = 0; i < ref->size(); ++i)
      ASSERT_TRUE(same_bytes((*ref)[i], (*fast)[i]))
          << what << " [" << isa_name(isa) << "] output " << i << " differs from the reference";
  }
}

struct ConvCase {
  int64_t batch, c_in, c_out, groups, h, w, k_h, k_w, stride, pad, dil;
  bool one_d = false;
};

std::string describe(const ConvCase& c) {
  return "conv n" + std::to_string(c.batch) + " " + std::to_string(c.c_in) + "->" + std::to_string(c.c_out) + " g" +
         std::to_string(c.groups) + " " + std::to_string(c.h) + "x" + std::to_string(c.w) + " k" +
         std::to_string(c.k_h) + "x" + std::to_string(c.k_w) + " s" + std::to_string(c.stride) + " p" +
         std::to_string(c.pad) + " d" + std::to_string(c.dil) + (c.one_d ? " 1-D" : "");
}

std::map<std::string, ir::Attribute> conv_attrs(const ConvCase& c) {
  using kernels::testing::attr_int;
  using kernels::testing::attr_ints;
  std::map<std::string, ir::Attribute> a;
  if (c.one_d) {
    a["kernel_shape"] = attr_ints({c.k_w});
    a["strides"] = attr_ints({c.stride});
    a["pads"] = attr_ints({c.pad, c.pad});
    a["dilations"] = attr_ints({c.dil});
  } else {
    a["kernel_shape"] = attr_ints({c.k_h, c.k_w});
    a["strides"] = attr_ints({c.stride, c.stride});
    a["pads"] = attr_ints({c.pad, c.pad, c.pad, c.pad});
    a["dilations"] = attr_ints({c.dil, c.dil});
  }
  a["group"] = attr_int(c.groups);
  return a;
}

Shape x_shape(const ConvCase& c) {
  return c.one_d ? Shape{c.batch, c.c_in, c.w} : Shape{c.batch, c.c_in, c.h, c.w};
}

Shape y_shape(const ConvCase& c) {
  const int64_t oh = (c.h + 2 * c.pad - c.dil * (c.k_h - 1) - 1) / c.stride + 1;
  const int64_t ow = (c.w + 2 * c.pad - c.dil * (c.k_w - 1) - 1) / c.stride + 1;
  return c.one_d ? Shape{c.batch, c.c_out, ow} : Shape{c.batch, c.c_out, oh, ow};
}

const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> cases = {
      {1, 16, 16, 1, 9, 37, 3, 3, 1, 1, 1},    // learned_filter's body conv, odd width
      {1, 1, 16, 1, 11, 20, 3, 3, 1, 1, 1},    // single input channel (entry)
      {1, 16, 1, 1, 10, 19, 3, 3, 1, 1, 1},    // single output channel (exit)
      {1, 1, 16, 1, 24, 24, 3, 3, 2, 1, 1},    // strided stem
      {1, 1, 16, 1, 9, 100, 3, 3, 2, 1, 1},    // strided stem, full channel blocks (8 x 3 vectors) and a rest
      {1, 1, 12, 1, 5, 70, 3, 3, 1, 1, 1},     // stem, stride 1: blocks of 8 and 4 channels, 3 and 2 vectors
      {2, 16, 16, 16, 14, 14, 3, 3, 2, 1, 1},  // depthwise, stride 2, batch 2
      {1, 32, 32, 32, 13, 13, 3, 3, 1, 1, 1},  // depthwise, stride 1
      {1, 16, 32, 1, 7, 9, 1, 1, 1, 0, 1},     // pointwise
      {2, 10, 8, 2, 6, 9, 1, 1, 1, 0, 1},      // pointwise, grouped (5 channels a group), batch 2
      {1, 64, 128, 1, 3, 5, 1, 1, 1, 0, 1},    // pointwise, wide
      {1, 32, 16, 1, 7, 8, 1, 1, 1, 0, 1},     // pointwise, 8 quads, full blocks (8 x 3 vectors) and a rest
      {1, 64, 12, 1, 5, 10, 1, 1, 1, 0, 1},    // pointwise, 16 quads, blocks of 8 and 4 channels
      {1, 3, 5, 1, 8, 17, 3, 3, 1, 1, 1},      // channels not a multiple of 4
      {1, 6, 4, 2, 9, 9, 3, 3, 1, 0, 2},       // grouped, dilated, no padding
      {1, 5, 7, 1, 6, 11, 5, 2, 3, 2, 1},      // 5x2 kernel, stride 3
      {1, 4, 8, 1, 7, 150, 3, 3, 1, 1, 1},     // wide rows (several staging vectors)
      {1, 2, 3, 1, 5, 301, 3, 3, 2, 1, 1},     // wide strided rows, odd width
      {1, 8, 8, 8, 9, 70, 3, 3, 2, 0, 1},      // depthwise, stride 2, no padding
      {1, 1, 3, 1, 1, 40, 1, 5, 2, 2, 1, true},  // 1-D, single channel
      {1, 8, 9, 1, 1, 33, 1, 3, 1, 1, 1, true},  // 1-D
      {1, 8, 8, 8, 11, 23, 3, 3, 1, 2, 2},     // depthwise, dilated (direct form, row by row)
      {1, 4, 4, 4, 7, 150, 3, 3, 3, 1, 1},     // depthwise, stride 3, rows wider than a window
      {1, 4, 8, 4, 9, 40, 3, 3, 1, 1, 1},      // two output channels per input channel
      {1, 4, 4, 4, 20, 50, 3, 3, 1, 1, 1},     // depthwise, full-height blocks of 4 vectors, padded rows
      {1, 4, 4, 4, 27, 61, 3, 3, 2, 1, 1},     // depthwise, stride 2, full-height blocks of 2 vectors
  };
  return cases;
}

struct ConvInputs {
  Tensor w_packed, w_scale_tensor, w_scale_channel, bias_f, bias_i, residual;
};

ConvInputs conv_inputs(std::mt19937& rng, const ConvCase& c) {
  ConvInputs in;
  const int64_t cin_g = c.c_in / c.groups;
  const int64_t k_h = c.one_d ? 1 : c.k_h;
  in.w_packed = testing::pack_conv(random_weights(rng, c.c_out * cin_g * k_h * c.k_w), c.c_out, cin_g, k_h, c.k_w);
  in.w_scale_tensor = Tensor::from_vector<float>({}, {0.0123f});
  std::vector<float> ws(c.c_out), bf(c.c_out);
  std::vector<int32_t> bi(c.c_out);
  std::uniform_real_distribution<float> u(0.001f, 0.05f), b(-2.0f, 2.0f);
  std::uniform_int_distribution<int32_t> ib(-50000, 50000);
  for (int64_t i = 0; i < c.c_out; ++i) {
    ws[i] = u(rng);
    bf[i] = b(rng);
    bi[i] = ib(rng);
  }
  in.w_scale_channel = Tensor::from_vector<float>({c.c_out}, ws);
  in.bias_f = Tensor::from_vector<float>({c.c_out}, bf);
  in.bias_i = Tensor::from_vector<int32_t>({c.c_out}, bi);
  in.residual = random_floats(rng, y_shape(c), -3.0f, 3.0f);
  return in;
}

TEST(FusedInt8Conv, DynamicFastMatchesReference) {
  std::mt19937 rng(kSeed);
  for (const ConvCase& c : conv_cases()) {
    ConvInputs in = conv_inputs(rng, c);
    for (int variant = 0; variant < 6; ++variant) {
      FusedCall call;
      call.op_type = "ConvIntegerFused";
      call.attributes = conv_attrs(c);
      // variant 0: plain; 1: per-channel scale, bias, clamp; 2: bias, residual, Relu; 3: already
      // quantised x (run-time scale and zero point) with weight zero points; 4 and 5: float x
      // quantised with constant parameters (a static QDQ chain with a float output), s8
      // symmetric and u8 asymmetric, per-channel scale, bias, clamp.
      Tensor x = random_floats(rng, x_shape(c), variant == 2 ? 0.0f : -1.5f, 4.0f);
      Tensor xs, xz;
      if (variant == 3) {
        x = random_bytes(rng, DType::kUInt8, x_shape(c));
        xs = scalar<float>(0.031f);
        xz = scalar<uint8_t>(131);
      }
      if (variant >= 4) {
        xs = scalar<float>(variant == 4 ? 0.029f : 0.017f);
        xz = variant == 4 ? scalar<int8_t>(0) : scalar<uint8_t>(90);
      }
      Tensor wz;
      if (variant == 3) {
        std::vector<int8_t> z(c.c_out);
        for (int64_t i = 0; i < c.c_out; ++i) z[i] = static_cast<int8_t>(i % 5 - 2);
        wz = Tensor::from_vector<int8_t>({c.c_out}, z);
      }
      call.inputs = {x, xs, xz, in.w_packed, (variant == 1 || variant >= 4) ? in.w_scale_channel : in.w_scale_tensor,
                     wz, variant >= 1 ? in.bias_f : Tensor(), variant == 2 ? in.residual : Tensor()};
      call.run_time = {true, variant < 4, variant < 4};
      call.num_outputs = variant == 3 ? 1 : 2;  // with the output's range (y_range)
      if (variant == 1 || variant >= 4) {
        call.clamp_lo = 0.0f;
        call.clamp_hi = 6.0f;
      }
      if (variant == 2) call.clamp_lo = 0.0f;
      expect_fast_matches_reference(call, describe(c) + " dynamic variant " + std::to_string(variant));
    }
  }
}

TEST(FusedInt8Conv, StaticFastMatchesReference) {
  std::mt19937 rng(kSeed + 1);
  for (const ConvCase& c : conv_cases()) {
    ConvInputs in = conv_inputs(rng, c);
    for (int variant = 0; variant < 9; ++variant) {
      FusedCall call;
      call.op_type = "QLinearConvFused";
      call.attributes = conv_attrs(c);
      // variant 0: uint8 in and out; 1: int8 in and out, per-channel, bias, Relu; 2: float x
      // quantised to int8, Clip, dequantised output; 3: uint8 -> int8 with weight zero points;
      // 4: a tiny y_scale, so that requantisation needs its range guards (mostly saturating);
      // 5: a float bias (added after the scale), int8 in, Relu; 6: a float bias with float x
      // quantised to int8, Clip, dequantised output; 7, 8: outputs around and past int16's range
      // (about +-1e5 steps, still bounded) with a zero point that would carry them over it,
      // uint8 (zero point 200) and int8 (-100).
      const DType xt = (variant == 1 || variant == 2 || (variant >= 5 && variant <= 6)) ? DType::kInt8 : DType::kUInt8;
      const DType yt = (variant == 0 || variant == 7) ? DType::kUInt8 : DType::kInt8;
      Tensor x = (variant == 2 || variant == 6) ? random_floats(rng, x_shape(c), -2.0f, 2.0f)
                                                 : random_bytes(rng, xt, x_shape(c));
      Tensor xz = xt == DType::kInt8 ? scalar<int8_t>(-7) : scalar<uint8_t>(121);
      Tensor yz = variant == 7   ? scalar<uint8_t>(200)
                  : variant == 8 ? scalar<int8_t>(-100)
                                 : (yt == DType::kInt8 ? scalar<int8_t>(3) : scalar<uint8_t>(100));
      const float y_scale = variant == 0 ? 1.7f : (variant == 4 ? 1e-7f : (variant >= 7 ? 1.2e-4f : 0.9f));
      Tensor wz;
      if (variant == 3) wz = scalar<int8_t>(-3);
      call.inputs = {x, scalar<float>(0.02f), xz, in.w_packed, variant == 0 ? in.w_scale_tensor : in.w_scale_channel,
                     wz, (variant >= 5 && variant <= 6) ? in.bias_f : (variant >= 1 ? in.bias_i : Tensor()),
                     scalar<float>(y_scale), yz};
      if (variant == 1 || variant == 5) call.clamp_lo = 0.0f;
      if (variant == 2 || variant == 6) {
        call.clamp_lo = -1.0f;
        call.clamp_hi = 2.5f;
        call.attributes[kDequantizeOutputAttr] = kernels::testing::attr_int(1);
      }
      expect_fast_matches_reference(call, describe(c) + " static variant " + std::to_string(variant));
    }
  }
}

// A producer's range output fed to the next op (x_range) gives the same results as the next op's
// own scan of x; with and without NaN/infinity in x.
TEST(FusedInt8Conv, RangeHandOffMatchesOwnScan) {
  std::mt19937 rng(kSeed + 8);
  const ConvCase c{1, 8, 8, 1, 6, 21, 3, 3, 1, 1, 1};
  ConvInputs in = conv_inputs(rng, c);
  for (int special = 0; special < 3; ++special) {
    FusedCall first;
    first.op_type = "ConvIntegerFused";
    first.attributes = conv_attrs(c);
    Tensor x = random_floats(rng, x_shape(c), -2.0f, 2.0f);
    if (special == 1) x.data<float>()[17] = std::nanf("");
    if (special == 2) x.data<float>()[5] = -std::numeric_limits<float>::infinity();
    first.inputs = {x, {}, {}, in.w_packed, in.w_scale_tensor, {}, in.bias_f};
    first.num_outputs = 2;
    auto a = testing::run_fused_all(first, KernelImpl::kFast, std::nullopt);
    ASSERT_TRUE(a.is_ok()) << a.status().message();
    expect_fast_matches_reference(first, "range producer, case " + std::to_string(special));
    FusedCall next = first;
    next.inputs[0] = (*a)[0];
    next.num_outputs = 1;
    auto own = run_fused(next, KernelImpl::kFast, std::nullopt);
    next.inputs.resize(9);
    next.inputs[8] = (*a)[1];
    auto handed = run_fused(next, KernelImpl::kFast, std::nullopt);
    ASSERT_TRUE(own.is_ok() && handed.is_ok()) << handed.status().message();
    EXPECT_TRUE(same_bytes(*own, *handed)) << "case " << special;
    expect_fast_matches_reference(next, "range consumer, case " + std::to_string(special));
  }
}

// learned_filter_v1's body: 16 -> 16 channels, 3x3, at the model's full 224x224.
TEST(FusedInt8Conv, LearnedFilterBodyAtFullSize) {
  std::mt19937 rng(kSeed + 2);
  const ConvCase c{1, 16, 16, 1, 224, 224, 3, 3, 1, 1, 1};
  ConvInputs in = conv_inputs(rng, c);
  FusedCall call;
  call.op_type = "ConvIntegerFused";
  call.attributes = conv_attrs(c);
  call.inputs = {random_floats(rng, x_shape(c), -1.0f, 3.0f), {}, {}, in.w_packed, in.w_scale_tensor, {}, in.bias_f};
  expect_fast_matches_reference(call, describe(c));
}

// The worst case for 16-bit pair sums: every product -128 * 255 (and 127 * 255).
TEST(FusedInt8Conv, ExtremeProductsDoNotSaturate) {
  for (int8_t wv : {int8_t{-128}, int8_t{127}}) {
    const ConvCase c{1, 16, 8, 1, 5, 21, 3, 3, 1, 0, 1};
    FusedCall call;
    call.op_type = "QLinearConvFused";
    call.attributes = conv_attrs(c);
    std::vector<int8_t> w(8 * 16 * 9, wv);
    Tensor x(DType::kUInt8, x_shape(c));
    std::memset(x.raw(), 255, x.nbytes());
    call.inputs = {x, scalar<float>(1.0f), scalar<uint8_t>(0), testing::pack_conv(w, 8, 16, 3, 3),
                   scalar<float>(1.0f), {}, {}, scalar<float>(1.0f), {}};
    // The dynamic op with unit scales outputs float(sum): the exact sum, checked by hand.
    FusedCall dyn;
    dyn.op_type = "ConvIntegerFused";
    dyn.attributes = conv_attrs(c);
    dyn.inputs = {x, scalar<float>(1.0f), scalar<uint8_t>(0), testing::pack_conv(w, 8, 16, 3, 3), scalar<float>(1.0f)};
    for (Isa isa : runnable_isas()) {
      auto y = run_fused(dyn, KernelImpl::kFast, isa);
      ASSERT_TRUE(y.is_ok()) << y.status().message();
      const float expected = 255.0f * static_cast<float>(wv) * 16 * 9;  // exact in float
      for (int64_t i = 0; i < y->numel(); ++i)
        ASSERT_EQ(y->data<float>()[i], expected) << isa_name(isa) << " element " << i;
    }
    expect_fast_matches_reference(call, "extreme products");
  }
}

// The dynamic reference equals the unfused QOperator chain run through the ONNX ops.
TEST(FusedInt8Conv, DynamicReferenceMatchesUnfusedOps) {
  using kernels::testing::OpCall;
  using kernels::testing::run_op;
  std::mt19937 rng(kSeed + 3);
  const ConvCase c{1, 4, 6, 1, 7, 9, 3, 3, 1, 1, 1};
  const std::vector<int8_t> w = random_weights(rng, 6 * 4 * 9);
  Tensor x = random_floats(rng, x_shape(c), -1.0f, 2.0f);
  const float w_scale = 0.0173f;
  std::vector<float> bias(6);
  for (auto& b : bias) b = std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng);

  auto dql = run_op(OpCall{"DynamicQuantizeLinear", {}, {x}, {}, 3});
  ASSERT_TRUE(dql.is_ok()) << dql.status().message();
  OpCall conv{"ConvInteger", conv_attrs(c), {(*dql)[0], Tensor::from_vector<int8_t>({6, 4, 3, 3}, w), (*dql)[2]}};
  conv.attributes.erase("kernel_shape");
  auto acc = run_op(conv);
  ASSERT_TRUE(acc.is_ok()) << acc.status().message();
  auto cast = run_op(OpCall{"Cast", {{"to", kernels::testing::attr_int(1)}}, {(*acc)[0]}});
  auto s = run_op(OpCall{"Mul", {}, {(*dql)[1], scalar<float>(w_scale)}});
  ASSERT_TRUE(cast.is_ok() && s.is_ok());
  auto scaled = run_op(OpCall{"Mul", {}, {(*cast)[0], (*s)[0]}});
  ASSERT_TRUE(scaled.is_ok());
  auto biased = run_op(OpCall{"Add", {}, {(*scaled)[0], Tensor::from_vector<float>({1, 6, 1, 1}, bias)}});
  ASSERT_TRUE(biased.is_ok());
  auto relu = run_op(OpCall{"Relu", {}, {(*biased)[0]}});
  ASSERT_TRUE(relu.is_ok());

  FusedCall call;
  call.op_type = "ConvIntegerFused";
  call.attributes = conv_attrs(c);
  call.clamp_lo = 0.0f;
  call.inputs = {x, {}, {}, testing::pack_conv(w, 6, 4, 3, 3), scalar<float>(w_scale), {},
                 Tensor::from_vector<float>({6}, bias)};
  auto fused = run_fused(call, KernelImpl::kReference, std::nullopt);
  ASSERT_TRUE(fused.is_ok()) << fused.status().message();
  EXPECT_TRUE(same_bytes(*fused, (*relu)[0]));
  expect_fast_matches_reference(call, "dynamic vs unfused");
}

// The static reference equals QLinearConv followed by a clamp of the quantised output.
TEST(FusedInt8Conv, StaticReferenceMatchesQLinearConv) {
  using kernels::testing::OpCall;
  using kernels::testing::run_op;
  std::mt19937 rng(kSeed + 4);
  const ConvCase c{1, 8, 4, 1, 6, 10, 3, 3, 2, 1, 1};
  const std::vector<int8_t> w = random_weights(rng, 4 * 8 * 9);
  Tensor x = random_bytes(rng, DType::kUInt8, x_shape(c));
  std::vector<float> ws = {0.01f, 0.02f, 0.005f, 0.03f};
  std::vector<int32_t> b = {100, -2000, 30000, 7};
  OpCall q{"QLinearConv", conv_attrs(c),
           {x, scalar<float>(0.05f), scalar<uint8_t>(128), Tensor::from_vector<int8_t>({4, 8, 3, 3}, w),
            Tensor::from_vector<float>({4}, ws), Tensor::from_vector<int8_t>({4}, {0, 0, 0, 0}), scalar<float>(0.3f),
            scalar<uint8_t>(20),
            Tensor::from_vector<int32_t>({4}, b)}};
  q.attributes.erase("kernel_shape");
  auto expected = run_op(q);
  ASSERT_TRUE(expected.is_ok()) << expected.status().message();
  FusedCall call;
  call.op_type = "QLinearConvFused";
  call.attributes = conv_attrs(c);
  call.inputs = {x, scalar<float>(0.05f), scalar<uint8_t>(128), testing::pack_conv(w, 4, 8, 3, 3),
                 Tensor::from_vector<float>({4}, ws), {}, Tensor::from_vector<int32_t>({4}, b), scalar<float>(0.3f),
                 scalar<uint8_t>(20)};
  auto fused = run_fused(call, KernelImpl::kReference, std::nullopt);
  ASSERT_TRUE(fused.is_ok()) << fused.status().message();
  EXPECT_TRUE(same_bytes(*fused, (*expected)[0]));
  // With a fused Relu the result is max(q, y_zero_point).
  call.clamp_lo = 0.0f;
  auto relu = run_fused(call, KernelImpl::kReference, std::nullopt);
  ASSERT_TRUE(relu.is_ok());
  for (int64_t i = 0; i < relu->numel(); ++i)
    ASSERT_EQ(relu->data<uint8_t>()[i], std::max<uint8_t>((*expected)[0].data<uint8_t>()[i], 20));
  expect_fast_matches_reference(call, "static vs QLinearConv");
}

TEST(FusedInt8Gemm, FastMatchesReference) {
  std::mt19937 rng(kSeed + 5);
  struct GemmCase { Shape x; int64_t n; };
  const std::vector<GemmCase> cases = {
      {{1, 6}, 32}, {{1, 6}, 64}, {{7, 64}, 32}, {{33, 32}, 16}, {{5, 16}, 1}, {{1, 128}, 1}, {{2, 3, 9}, 17},
      {{300, 4}, 100}, {{8, 130}, 48}, {{6}, 5}, {{257, 64}, 64}, {{300, 16}, 1}, {{70, 7}, 1},
  };
  for (const auto& gc : cases) {
    const int64_t k = gc.x.back(), n = gc.n;
    Tensor wp = testing::pack_gemm(random_weights(rng, k * n), k, n);
    std::vector<float> ws(n), bf(n);
    std::vector<int32_t> bi(n);
    std::vector<int8_t> wz(n);
    for (int64_t j = 0; j < n; ++j) {
      ws[j] = 0.001f + 0.0007f * j;
      bf[j] = 0.25f * static_cast<float>(j % 9) - 1.0f;
      bi[j] = static_cast<int32_t>(j * 997 % 4001) - 2000;
      wz[j] = static_cast<int8_t>(j % 3 - 1);
    }
    Shape y = gc.x;
    y.back() = n;
    // variants 0-2: float output (dynamic x, residual, quantised x); 3-5: requantised output
    // (uint8, int8 + Relu, float x + dequantised output with weight zero points); 6 and 7: float
    // output from float x quantised with constant parameters (s8 symmetric, u8 asymmetric);
    // 8: requantised output with a float bias.
    for (int variant = 0; variant < 9; ++variant) {
      FusedCall call;
      call.attributes["n"] = kernels::testing::attr_int(n);
      Tensor wscale = variant % 2 ? Tensor::from_vector<float>({n}, ws) : scalar<float>(0.02f);
      Tensor wzp = variant == 5 ? Tensor::from_vector<int8_t>({n}, wz) : Tensor();
      if (variant == 6 || variant == 7) {
        call.op_type = "MatMulIntegerFused";
        call.inputs = {random_floats(rng, gc.x, -3.0f, 5.0f), scalar<float>(variant == 6 ? 0.04f : 0.031f),
                       variant == 6 ? scalar<int8_t>(0) : scalar<uint8_t>(97), wp, wscale, Tensor(),
                       Tensor::from_vector<float>({n}, bf)};
        call.num_outputs = 2;
        call.clamp_lo = -0.5f;
        call.clamp_hi = 3.0f;
      } else if (variant == 8) {
        call.op_type = "QLinearMatMulFused";
        call.inputs = {random_bytes(rng, DType::kInt8, gc.x), scalar<float>(0.04f), scalar<int8_t>(0), wp, wscale,
                       Tensor(), Tensor::from_vector<float>({n}, bf), scalar<float>(0.05f), scalar<int8_t>(-2)};
        call.clamp_lo = 0.0f;
      } else if (variant < 3) {
        call.op_type = "MatMulIntegerFused";
        Tensor x = variant == 2 ? random_bytes(rng, DType::kUInt8, gc.x) : random_floats(rng, gc.x, -3.0f, 5.0f);
        Tensor xs = variant == 2 ? scalar<float>(0.1f) : Tensor(), xz = variant == 2 ? scalar<uint8_t>(77) : Tensor();
        call.inputs = {x, xs, xz, wp, wscale, wzp, Tensor::from_vector<float>({n}, bf),
                       variant == 1 ? random_floats(rng, y, -1.0f, 1.0f) : Tensor()};
        call.run_time = {true, true, true};
        call.num_outputs = variant == 2 ? 1 : 2;
        if (variant == 0) call.clamp_lo = 0.0f;
      } else {
        call.op_type = "QLinearMatMulFused";
        const DType xt = variant == 4 ? DType::kInt8 : DType::kUInt8;
        Tensor x = variant == 5 ? random_floats(rng, gc.x, -1.0f, 1.0f) : random_bytes(rng, xt, gc.x);
        Tensor xz = xt == DType::kInt8 ? scalar<int8_t>(5) : scalar<uint8_t>(130);
        Tensor yz = variant == 4 ? scalar<int8_t>(-4) : scalar<uint8_t>(9);
        call.inputs = {x, scalar<float>(0.04f), xz, wp, wscale, wzp, Tensor::from_vector<int32_t>({n}, bi),
                       scalar<float>(0.5f), yz};
        if (variant == 4) call.clamp_lo = 0.0f;
        if (variant == 5) call.attributes[kDequantizeOutputAttr] = kernels::testing::attr_int(1);
      }
      expect_fast_matches_reference(call, "gemm " + shape_str(gc.x) + " x [" + std::to_string(k) + "," +
                                              std::to_string(n) + "] variant " + std::to_string(variant));
    }
  }
}

// One-row dynamic layers (the MLPs at batch 1) take the fused row path (engine.h, DynRow): x in
// registers up to four vectors, in memory beyond; x's range handed over or scanned; per-tensor and
// per-channel scales, with and without bias and clamp; all-zero, one-signed and NaN rows (NaN
// falls back to the general path). Every output, y's range included, equals the reference.
TEST(FusedInt8Gemm, OneRowDynamicFastMatchesReference) {
  std::mt19937 rng(kSeed + 9);
  const std::vector<int64_t> ks = {1, 3, 4, 5, 6, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 128, 255, 256, 257};
  const std::vector<int64_t> ns = {1, 5, 16, 17, 32, 48, 64, 65, 100};
  int cases = 0;
  for (int64_t k : ks)
    for (int64_t n : ns) {
      const int variant = cases++ % 8;
      Tensor wp = testing::pack_gemm(random_weights(rng, k * n), k, n);
      std::vector<float> ws(n), bf(n);
      for (int64_t j = 0; j < n; ++j) {
        ws[j] = 0.002f + 0.0003f * static_cast<float>(j % 13);
        bf[j] = 0.125f * static_cast<float>(j % 11) - 0.6f;
      }
      // variants: x signed / non-negative / all zero / holding a NaN; given range or scanned.
      Tensor x = random_floats(rng, {1, k}, variant % 4 == 1 ? 0.0f : -2.5f, 3.5f);
      if (variant % 4 == 2) std::fill(x.data<float>(), x.data<float>() + k, 0.0f);
      if (variant % 4 == 3) x.data<float>()[k / 2] = std::numeric_limits<float>::quiet_NaN();
      FusedCall call;
      call.op_type = "MatMulIntegerFused";
      call.attributes["n"] = kernels::testing::attr_int(n);
      call.inputs = {x,
                     Tensor(),
                     Tensor(),
                     wp,
                     variant % 3 ? Tensor::from_vector<float>({n}, ws) : scalar<float>(0.0125f),
                     Tensor(),
                     variant % 5 ? Tensor::from_vector<float>({n}, bf) : Tensor(),
                     Tensor()};
      if (variant >= 4) {  // the producer's range of x, as scan_range gives it
        Tensor range(DType::kFloat32, {3});
        scan_range(x.data<float>(), k, range.data<float>());
        call.inputs.push_back(range);
      }
      call.run_time = {true, true, true, false, false, false, false, true, true};
      call.num_outputs = variant == 6 ? 1 : 2;
      if (variant % 2) call.clamp_lo = 0.0f;
      if (variant == 5) call.clamp_hi = 1.5f;
      expect_fast_matches_reference(call, "one-row dynamic gemm k=" + std::to_string(k) + " n=" + std::to_string(n) +
                                              " variant " + std::to_string(variant));
    }
}

// The dynamic matmul reference equals DynamicQuantizeLinear + MatMulInteger + Cast + Mul + Add.
TEST(FusedInt8Gemm, DynamicReferenceMatchesUnfusedOps) {
  using kernels::testing::OpCall;
  using kernels::testing::run_op;
  std::mt19937 rng(kSeed + 6);
  const int64_t k = 6, n = 32;
  const std::vector<int8_t> w = random_weights(rng, k * n);
  Tensor x = random_floats(rng, {5, k}, -2.0f, 3.0f);
  std::vector<float> bias(n);
  for (auto& b : bias) b = std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng);
  auto dql = run_op(OpCall{"DynamicQuantizeLinear", {}, {x}, {}, 3});
  ASSERT_TRUE(dql.is_ok());
  auto acc = run_op(OpCall{"MatMulInteger", {},
                           {(*dql)[0], Tensor::from_vector<int8_t>({k, n}, w), (*dql)[2], scalar<int8_t>(0)}});
  ASSERT_TRUE(acc.is_ok()) << acc.status().message();
  auto cast = run_op(OpCall{"Cast", {{"to", kernels::testing::attr_int(1)}}, {(*acc)[0]}});
  auto s = run_op(OpCall{"Mul", {}, {(*dql)[1], scalar<float>(0.0071f)}});
  auto scaled = run_op(OpCall{"Mul", {}, {(*cast)[0], (*s)[0]}});
  auto biased = run_op(OpCall{"Add", {}, {(*scaled)[0], Tensor::from_vector<float>({n}, bias)}});
  ASSERT_TRUE(biased.is_ok());
  FusedCall call;
  call.op_type = "MatMulIntegerFused";
  call.attributes["n"] = kernels::testing::attr_int(n);
  call.inputs = {x, {}, {}, testing::pack_gemm(w, k, n), scalar<float>(0.0071f), scalar<int8_t>(0),
                 Tensor::from_vector<float>({n}, bias)};
  auto fused = run_fused(call, KernelImpl::kReference, std::nullopt);
  ASSERT_TRUE(fused.is_ok()) << fused.status().message();
  EXPECT_TRUE(same_bytes(*fused, (*biased)[0]));
  expect_fast_matches_reference(call, "dynamic matmul vs unfused");
}

}  // namespace
}  // namespace tinyq::kernels::int8
