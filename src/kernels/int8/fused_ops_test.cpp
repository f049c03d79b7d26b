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

// The zero point's rounding shortcut equals quantize_saturate on ties, edges and specials.
TEST(Int8Engine, ZeroPointRoundingMatchesQuantizeSaturate) {
  std::vector<float> v = {0.0f, -0.0f, 0.5f, 1.5f, 2.5f, 254.5f, 255.0f, 255.49998f, 255.5f, 256.0f, 1e30f,
                          -1.0f, -0.5f, std::nanf(""), std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(), 0.49999997f, 0.50000006f, 127.5f, 128.5f};
  std::mt19937 rng(kSeed + 9);
  std::uniform_real_distribution<float> u(-10.0f, 300.0f);
  for (int i = 0; i < 100000; ++i) v.push_back(u(rng));
  for (int i = 0; i <= 600; ++i) v.push_back(static_cast<float>(i) * 0.5f);
  for (float x : v) ASSERT_EQ(saturate_u8_round_half_even(x), quantize_saturate(x, 0, 0, 255)) << x;
}

// Quantisation and range scans: every ISA equals DynamicQuantizeLinear's scalar arithmetic,
// including ties, NaN, infinities and values far outside the range.
TEST(Int8Engine, QuantizeMatchesScalarOnEveryIsa) {
  std::mt19937 rng(kSeed + 7);
  std::vector<float> x(1000);
  std::uniform_real_distribution<float> u(-300.0f, 300.0f);
  for (auto& v : x) v = u(rng);
  for (int i = 0; i < 40; ++i) x[i] = static_cast<float>(i) * 0.5f - 10.0f;  // exact ties at scale 1
  x[50] = std::nanf("");
  x[51] = std::numeric_limits<float>::infinity();
  x[52] = -std::numeric_limits<float>::infinity();
  x[53] = 3e30f;
  x[54] = -0.0f;
  for (float scale : {1.0f, 0.37f, 2.5f}) {
    std::vector<uint8_t> want(x.size());
    quantize_u8(Isa::kScalar, x.data(), static_cast<int64_t>(x.size()), scale, 17, want.data());
    for (int64_t n : {int64_t{1000}, int64_t{997}, int64_t{5}}) {
      for (Isa isa : runnable_isas()) {
        std::vector<uint8_t> got(x.size(), 0);
        quantize_u8(isa, x.data(), n, scale, 17, got.data());
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " at " << i << " scale " << scale;
        float lo, hi, rlo, rhi;
        bool bad, rbad;
        range_f32(isa, x.data() + 60, n - 60 > 0 ? n - 60 : 0, &lo, &hi, &bad);
        range_f32(Isa::kScalar, x.data() + 60, n - 60 > 0 ? n - 60 : 0, &rlo, &rhi, &rbad);
        EXPECT_EQ(lo, rlo);
        EXPECT_EQ(hi, rhi);
        EXPECT_FALSE(bad);
        EXPECT_FALSE(rbad);
        range_f32(isa, x.data(), n, &lo, &hi, &bad);
        EXPECT_EQ(bad, n > 50) << isa_name(isa);  // x[50] is NaN
        // Finite inputs within the range take the bounded path, which must agree too.
        std::vector<float> finite(x.begin() + 60, x.end());
        std::vector<uint8_t> a(finite.size()), b(finite.size());
        const float s = 600.0f / 255.0f;
        quantize_u8(Isa::kScalar, finite.data(), static_cast<int64_t>(finite.size()), s, 128, a.data());
        quantize_u8(isa, finite.data(), static_cast<int64_t>(finite.size()), s, 128, b.data(), true);
        EXPECT_EQ(a, b) << isa_name(isa);
      }
    }
  }
}

// Values on, just beside and between the half steps of several scales quantise as the scalar
// x / scale does on every ISA, on the bounded path and (with large values and NaN) the guarded one.
TEST(Int8Engine, QuantizeMatchesScalarAtHalfSteps) {
  for (float scale : {1.0f / 255, 6.0f / 255, 0.37f, 0.0123f, 3.0f, 1.0f}) {
    std::vector<float> x;
    for (int k = -256; k <= 255; ++k) {
      const float t = (static_cast<float>(k) + 0.5f) * scale;  // near k + 0.5 after dividing
      x.push_back(t);
      x.push_back(std::nextafter(t, 1e9f));
      x.push_back(std::nextafter(t, -1e9f));
      x.push_back(std::nextafter(std::nextafter(t, 1e9f), 1e9f));
      x.push_back(static_cast<float>(k) * scale);
    }
    // The bounded contract: |x / scale| < 256; the unbounded path also sees lanes past 512 and NaN.
    std::vector<float> all = x;
    std::erase_if(x, [&](float v) { return !(std::fabs(v / scale) < 255.9f); });
    for (float v : {600.0f * scale, -1e4f * scale, std::nanf(""), 511.5f * scale, -511.5f * scale}) all.push_back(v);
    for (bool bounded : {true, false}) {
      const std::vector<float>& in = bounded ? x : all;
      for (int zp : {0, 128, 255}) {
        std::vector<uint8_t> want(in.size());
        quantize_u8(Isa::kScalar, in.data(), static_cast<int64_t>(in.size()), scale, zp, want.data());
        for (Isa isa : runnable_isas()) {
          std::vector<uint8_t> got(in.size());
          quantize_u8(isa, in.data(), static_cast<int64_t>(in.size()), scale, zp, got.data(), bounded);
          for (size_t i = 0; i < in.size(); ++i)
            ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " x " << in[i] << " scale " << scale << " zp " << zp
                                       << (bounded ? " bounded" : "");
        }
      }
    }
  }
}

// dynamic_params_fast (the zero point without waiting for the scale) equals dynamic_params on
// random ranges over many magnitudes, on ranges whose zero point is a tie or next to one, and on
// the edge cases (zero and one-sided ranges, equal bounds, extreme and non-finite bounds).
TEST(Int8Engine, DynamicParamsFastMatchesDivision) {
  std::mt19937 rng(kSeed + 13);
  std::uniform_real_distribution<float> expo(-30.0f, 30.0f), unit(0.0f, 1.0f);
  std::vector<std::pair<float, float>> ranges = {
      {0.0f, 0.0f},  {0.0f, 1.0f},   {-1.0f, 0.0f},   {-0.0f, 3.0f},    {-1e-45f, 0.0f}, {-1e-45f, 1e-45f},
      {-3e38f, 3e38f}, {-1.0f, 2.0f}, {-2.0f, 1.0f},  {-0x1p-101f, 1.0f}, {-1.0f, 0x1p101f},
      {-std::numeric_limits<float>::infinity(), 1.0f}, {-1.0f, std::numeric_limits<float>::infinity()},
      {std::nanf(""), 1.0f}};
  for (int i = 0; i < 20000; ++i) {
    const float m = std::exp2(expo(rng));
    ranges.push_back({-unit(rng) * m, unit(rng) * m});
    // A zero point at or beside a tie: lo = -(k + 0.5) * scale, nudged by a few ulps.
    const float scale = m / 255.0f;
    const float k = static_cast<float>(rng() % 255);
    float lo = -(k + 0.5f) * scale;
    for (int step = static_cast<int>(rng() % 7) - 3; step != 0; step += step > 0 ? -1 : 1)
      lo = std::nextafter(lo, step > 0 ? 1e30f : -1e30f);
    ranges.push_back({std::min(lo, 0.0f), std::min(lo, 0.0f) + 255.0f * scale});
  }
  for (auto [lo, hi] : ranges) {
    float s1, s2;
    int32_t z1, z2;
    dynamic_params(lo, hi, &s1, &z1);
    dynamic_params_fast(lo, hi, &s2, &z2);
    ASSERT_EQ(z2, z1) << "lo " << lo << " hi " << hi;
    if (std::isnan(s1)) ASSERT_TRUE(std::isnan(s2)) << "lo " << lo << " hi " << hi;
    else ASSERT_EQ(s2, s1) << "lo " << lo << " hi " << hi;
  }
}

// The fast ISAs quantise by the reciprocal with a tie check (quantize_impl): random scales over
// many magnitudes (and the extremes that keep the division), random values in and past the
// range, every length and offset around the four-vector blocks, both paths.
// range_f32 on every ISA finds the minimum, the maximum and a non-finite value wherever it lies:
// in any of the vector scan's accumulators, in its single-vector remainder or in the scalar tail.
TEST(Int8Engine, RangeFindsExtremesAnywhere) {
  std::mt19937 rng(kSeed + 13);
  std::uniform_real_distribution<float> u(-5.0f, 5.0f);
  const float specials[] = {std::nanf(""), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), -1e30f, 1e30f};
  for (int64_t n : {int64_t{5}, int64_t{16}, int64_t{63}, int64_t{64}, int64_t{100}, int64_t{257}}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = u(rng);
    for (int64_t pos = 0; pos < n; ++pos)
      for (float special : specials) {
        const float keep = x[pos];
        x[pos] = special;
        float rlo, rhi;
        bool rbad;
        range_f32(Isa::kScalar, x.data(), n, &rlo, &rhi, &rbad);
        for (Isa isa : runnable_isas()) {
          float lo, hi;
          bool bad;
          range_f32(isa, x.data(), n, &lo, &hi, &bad);
          ASSERT_EQ(bad, rbad) << isa_name(isa) << " n " << n << " at " << pos << " " << special;
          ASSERT_EQ(lo, rlo) << isa_name(isa) << " n " << n << " at " << pos << " " << special;
          ASSERT_EQ(hi, rhi) << isa_name(isa) << " n " << n << " at " << pos << " " << special;
        }
        x[pos] = keep;
      }
  }
}

// quantize_quads(isa, ...) equals quantize_u8(Isa::kScalar, ...) laid out in quads: channels
// past the last and pixels past the plane hold the zero point.
void expect_quads_match(const std::vector<float>& x, float scale, int32_t zp, bool bounded) {
  for (int64_t channels : {int64_t{1}, int64_t{3}, int64_t{4}, int64_t{6}}) {
    const int64_t n = static_cast<int64_t>(x.size());
    const int64_t pixels = n / channels, plen = (pixels + 15) / 16 * 16, planes = (channels + 3) / 4;
    const int64_t plane_bytes = 4 * plen + 8;
    std::vector<uint8_t> q(x.size()), want(static_cast<size_t>(planes * plane_bytes), 0xA5);
    quantize_u8(Isa::kScalar, x.data(), n, scale, zp, q.data());
    for (int64_t k = 0; k < planes; ++k)
      for (int64_t i = 0; i < plen; ++i)
        for (int64_t j = 0; j < 4; ++j) {
          const int64_t c = 4 * k + j;
          want[k * plane_bytes + 4 * i + j] = c < channels && i < pixels ? q[c * pixels + i] : zp;
        }
    for (Isa isa : runnable_isas()) {
      std::vector<uint8_t> got(want.size(), 0xA5);
      quantize_quads(isa, x.data(), channels, pixels, plen, scale, zp, bounded, got.data(), plane_bytes);
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " quads, " << channels << " channels, byte " << i << " scale "
                                   << scale << " zp " << zp << (bounded ? " bounded" : "");
    }
  }
}

// Every ISA's quantize_u8 and quantize_quads against the scalar division, for scales across the
// float range (and past the reciprocal's), values in and far past the 255 steps, and values on
// and next to the half steps.
TEST(Int8Engine, QuantizeByReciprocalMatchesScalar) {
  std::mt19937 rng(kSeed + 11);
  std::uniform_real_distribution<float> expo(-20.0f, 10.0f), unit(-1.0f, 1.0f);
  std::vector<float> scales = {1e-40f, 0x1p-126f, 0x1p126f, 3e38f};
  for (int i = 0; i < 60; ++i) scales.push_back(std::exp2(expo(rng)));
  std::vector<float> x(300);
  for (float scale : scales) {
    for (int trial = 0; trial < 5; ++trial) {
      // Trials 2 and 4 put x on and next to the half steps, near 0 and up to 256 steps.
      const float span = trial == 0 ? 255.0f : trial == 1 ? 600.0f : trial == 2 ? 2.0f : trial == 3 ? 40000.0f : 256.0f;
      const bool half_steps = trial == 2 || trial == 4;
      for (auto& v : x) {
        v = unit(rng) * span * scale;
        if (half_steps) v = (std::round(v / scale * 2.0f) * 0.5f) * scale;
        if (half_steps && (rng() & 1)) v = std::nextafter(v, (rng() & 2) ? 1e30f : -1e30f);
      }
      // The bounded contract at its widest: x finite and |x / scale| <= 256, any zero point.
      const bool may_bound = scale < 1e30f && span <= 256.0f;
      for (int zp : {0, 77, 255}) {
        for (int64_t n : {int64_t{300}, int64_t{64}, int64_t{63}, int64_t{33}, int64_t{1}}) {
          const int64_t off = static_cast<int64_t>(rng() % 3);
          const float* in = x.data() + off;
          const int64_t len = std::min<int64_t>(n, 300 - off);
          std::vector<uint8_t> want(len), got(len);
          quantize_u8(Isa::kScalar, in, len, scale, zp, want.data());
          for (Isa isa : runnable_isas())
            for (bool bounded : {false, true}) {
              if (bounded && !may_bound) continue;
              quantize_u8(isa, in, len, scale, zp, got.data(), bounded);
              for (int64_t i = 0; i < len; ++i)
                ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " x " << in[i] << " scale " << scale << " zp " << zp
                                           << (bounded ? " bounded" : "");
            }
        }
        expect_quads_match(x, scale, zp, false);
        if (may_bound) expect_quads_match(x, scale, zp, true);
      }
    }
  }
}

// The bounded form (engine.h: quantize_u8) as the dynamic ops use it: x within a range [lo, hi]
// around 0, quantised with DynamicQuantizeLinear's scale and zero point for that range. Ranges of
// every sign and magnitude; every other trial moves x onto and next to the half steps (inside the
// range, whose ends stay), where the fast path must divide.
TEST(Int8Engine, QuantizeBoundedMatchesScalar) {
  std::mt19937 rng(kSeed + 12);
  std::uniform_real_distribution<float> expo(-30.0f, 30.0f), unit(0.0f, 1.0f);
  std::vector<float> x(300);
  for (int trial = 0; trial < 600; ++trial) {
    const float magnitude = std::exp2(expo(rng));
    // Trials cycle through ranges of x >= 0 (ReLU outputs), x <= 0 and both signs.
    const float below = trial % 3 == 0 ? 0.0f : trial % 3 == 1 ? 1.0f : unit(rng);
    for (auto& v : x) v = (unit(rng) - below) * magnitude;
    const auto [lo_it, hi_it] = std::minmax_element(x.begin(), x.end());
    const float lo = std::min(0.0f, *lo_it), hi = std::max(0.0f, *hi_it);
    float scale;
    int32_t zp;
    dynamic_params(lo, hi, &scale, &zp);
    if ((trial / 3) % 2)
      for (auto it = x.begin(); it != x.end(); ++it) {
        if (it == lo_it || it == hi_it) continue;
        float v = (std::round(*it / scale * 2.0f) * 0.5f) * scale;
        if (rng() & 1) v = std::nextafter(v, (rng() & 2) ? 1e30f : -1e30f);
        *it = std::clamp(v, lo, hi);
      }
    for (int64_t n : {int64_t{300}, int64_t{64}, int64_t{63}, int64_t{1}}) {
      const int64_t off = static_cast<int64_t>(rng() % 3);
      const float* in = x.data() + off;
      const int64_t len = std::min<int64_t>(n, 300 - off);
      std::vector<uint8_t> want(len), got(len);
      quantize_u8(Isa::kScalar, in, len, scale, zp, want.data());
      for (Isa isa : runnable_isas()) {
        quantize_u8(isa, in, len, scale, zp, got.data(), /*bounded=*/true);
        for (int64_t i = 0; i < len; ++i)
          ASSERT_EQ(got[i], want[i]) << isa_name(isa) << " x " << in[i] << " in [" << lo << ", " << hi << "] scale "
                                     << scale << " zp " << zp;
      }
    }
    expect_quads_match(x, scale, zp, true);
  }
}

}  // namespace
}  // namespace tinyq::kernels::int8
