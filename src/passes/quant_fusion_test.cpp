// The int8 fusion pass on hand-built graphs in ONNX Runtime's forms (QOperator dynamic, static
// QDQ): which subgraphs become fused nodes (node counts before/after), and that a session with the
// pass gives bit-identical outputs to the same graph run unfused. The QDQ forms tinyq's quantiser
// writes are in quant_fusion_qdq_test.cpp, the zoo's files in quant_fusion_zoo_test.cpp.
#include "passes/quant_fusion.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "../../bench/qdq_stand_in.h"
#include "io/npy.h"
#include "kernels/kernel.h"
#include "onnx/onnx_io.h"
#include "passes/quant_fusion_test_util.h"
#include "tinyq/session.h"

namespace tinyq::passes {
namespace {

namespace fs = std::filesystem;
using namespace fusion_test;

ir::Graph dynamic_conv_graph(std::mt19937& rng, bool scale_also_output) {
  ir::Graph g;
  g.inputs.push_back(value("x", DType::kFloat32, {1, 3, 12, 10}));
  g.initializers["w"] = Tensor::from_vector<int8_t>({8, 3, 3, 3}, random_weights(rng, 8 * 3 * 9));
  g.initializers["wz"] = Tensor::from_vector<int8_t>({}, {0});
  g.initializers["ws"] = Tensor::from_vector<float>({}, {0.0123f});
  g.initializers["b"] = random_floats(rng, {8}, -1.0f, 1.0f);
  g.initializers["bshape"] = Tensor::from_vector<int64_t>({4}, {1, -1, 1, 1});
  g.nodes.push_back(node("Reshape", {"b", "bshape"}, {"b4"}));
  g.nodes.push_back(node("DynamicQuantizeLinear", {"x"}, {"xq", "xs", "xz"}));
  g.nodes.push_back(node("Mul", {"xs", "ws"}, {"s"}));
  g.nodes.push_back(node("ConvInteger", {"xq", "w", "xz", "wz"}, {"acc"}, {{"pads", ints({1, 1, 1, 1})}}));
  g.nodes.push_back(node("Cast", {"acc"}, {"accf"}, {{"to", integer(1)}}));
  g.nodes.push_back(node("Mul", {"accf", "s"}, {"scaled"}));
  g.nodes.push_back(node("Add", {"scaled", "b4"}, {"biased"}));
  g.nodes.push_back(node("Relu", {"biased"}, {"y"}));
  g.outputs.push_back(value("y", DType::kFloat32, {1, 8, 12, 10}));
  if (scale_also_output) g.outputs.push_back(value("xs", DType::kFloat32, {}));
  return g;
}

TEST(QuantFusion, DynamicConvChainBecomesOneNode) {
  std::mt19937 rng(kSeed);
  ir::Graph g = dynamic_conv_graph(rng, false);
  EXPECT_EQ(g.nodes.size(), 8u);
  ir::Graph fused = g;
  const QuantFusionCounts counts = fuse_quantized(fused, 17);
  EXPECT_EQ(counts.dynamic_nodes, 1);
  EXPECT_EQ(counts.static_nodes, 0);
  ASSERT_EQ(fused.nodes.size(), 1u);  // the DynamicQuantizeLinear and the bias Reshape fold in
  EXPECT_EQ(fused.nodes[0].op_type, "ConvIntegerFused");
  EXPECT_EQ(fused.nodes[0].domain, kernels::kInternalDomain);
  EXPECT_EQ(fused.nodes[0].inputs[0], "x");
  EXPECT_FALSE(fused.is_initializer("w"));  // only the packed copy stays
  expect_fused_equals_unfused(model_of(g), {random_floats(rng, {1, 3, 12, 10}, -2.0f, 3.0f)}, "dynamic conv");
}

TEST(QuantFusion, DynamicQuantizeLinearStaysWhenItsScaleIsReadElsewhere) {
  std::mt19937 rng(kSeed + 1);
  ir::Graph g = dynamic_conv_graph(rng, true);
  ir::Graph fused = g;
  EXPECT_EQ(fuse_quantized(fused, 17).dynamic_nodes, 1);
  EXPECT_EQ(count_op(fused, "DynamicQuantizeLinear"), 1);
  EXPECT_EQ(count_op(fused, "ConvIntegerFused"), 1);
  expect_fused_equals_unfused(model_of(g), {random_floats(rng, {1, 3, 12, 10}, -2.0f, 3.0f)}, "dynamic conv, DQL kept");
}

// The feature MLPs' form: Sub/Div, then per layer DQL -> MatMulInteger -> Cast -> Mul -> Add -> Relu.
TEST(QuantFusion, DynamicMlpLayersFuse) {
  std::mt19937 rng(kSeed + 2);
  ir::Graph g;
  g.inputs.push_back(value("x", DType::kFloat32, {-1, 6}));
  g.inputs[0].dims[0] = ir::Dim{-1, "N"};
  const std::vector<int64_t> widths = {6, 32, 16, 1};
  std::string cur = "x";
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    const std::string p = "l" + std::to_string(l) + "_";
    g.initializers[p + "w"] = Tensor::from_vector<int8_t>({widths[l], widths[l + 1]},
                                                          random_weights(rng, widths[l] * widths[l + 1]));
    g.initializers[p + "wz"] = Tensor::from_vector<int8_t>({}, {0});
    g.initializers[p + "ws"] = Tensor::from_vector<float>({}, {0.004f + 0.001f * l});
    g.initializers[p + "b"] = random_floats(rng, {widths[l + 1]}, -0.5f, 0.5f);
    g.nodes.push_back(node("DynamicQuantizeLinear", {cur}, {p + "q", p + "s", p + "z"}));
    g.nodes.push_back(node("Mul", {p + "s", p + "ws"}, {p + "scale"}));
    g.nodes.push_back(node("MatMulInteger", {p + "q", p + "w", p + "z", p + "wz"}, {p + "acc"}));
    g.nodes.push_back(node("Cast", {p + "acc"}, {p + "accf"}, {{"to", integer(1)}}));
    g.nodes.push_back(node("Mul", {p + "accf", p + "scale"}, {p + "mm"}));
    g.nodes.push_back(node("Add", {p + "mm", p + "b"}, {p + "lin"}));
    cur = p + "lin";
    if (l + 2 < widths.size()) {
      g.nodes.push_back(node("Relu", {cur}, {p + "relu"}));
      cur = p + "relu";
    }
  }
  g.outputs.push_back(value(cur, DType::kFloat32, {-1, 1}));
  ir::Graph fused = g;
  EXPECT_EQ(g.nodes.size(), 20u);
  EXPECT_EQ(fuse_quantized(fused, 17).dynamic_nodes, 3);
  EXPECT_EQ(fused.nodes.size(), 3u);
  EXPECT_EQ(count_op(fused, "MatMulIntegerFused"), 3);
  for (int64_t batch : {1, 7, 300})
    expect_fused_equals_unfused(model_of(g), {random_floats(rng, {batch, 6}, -3.0f, 3.0f)},
                                "dynamic MLP batch " + std::to_string(batch));
}

// QuantizeLinear -> DequantizeLinear -> Conv(DQ weights per channel, DQ int32 bias) -> Relu ->
// QuantizeLinear -> DequantizeLinear. With power-of-two scales every float step of the unfused
// graph is exact, so the fused int8 arithmetic must agree bit for bit.
ir::Graph static_conv_graph(std::mt19937& rng, bool float_bias) {
  ir::Graph g;
  g.inputs.push_back(value("x", DType::kFloat32, {1, 4, 9, 11}));
  const int64_t c = 6;
  std::vector<int8_t> w = random_weights(rng, c * 4 * 9);
  g.initializers["w"] = Tensor::from_vector<int8_t>({c, 4, 3, 3}, w);
  std::vector<float> ws(c);
  for (int64_t i = 0; i < c; ++i) ws[i] = std::ldexp(1.0f, -6 - static_cast<int>(i % 3));
  g.initializers["ws"] = Tensor::from_vector<float>({c}, ws);
  g.initializers["wz"] = Tensor(DType::kInt8, {c});
  const float xs = 1.0f / 16;
  g.initializers["xs"] = Tensor::from_vector<float>({}, {xs});
  g.initializers["xz"] = Tensor::from_vector<uint8_t>({}, {128});
  g.initializers["ys"] = Tensor::from_vector<float>({}, {1.0f / 8});
  g.initializers["yz"] = Tensor::from_vector<uint8_t>({}, {3});
  std::vector<int32_t> bq(c);
  std::vector<float> bs(c), bf(c);
  for (int64_t i = 0; i < c; ++i) {
    bq[i] = static_cast<int32_t>(i * 37) - 100;
    bs[i] = xs * ws[i];
    bf[i] = static_cast<float>(bq[i]) * bs[i];
  }
  g.nodes.push_back(node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"}));
  g.nodes.push_back(node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"}));
  g.nodes.push_back(node("DequantizeLinear", {"w", "ws", "wz"}, {"wd"}, {{"axis", integer(0)}}));
  if (float_bias) {
    g.initializers["bf"] = Tensor::from_vector<float>({c}, bf);
  } else {
    g.initializers["bq"] = Tensor::from_vector<int32_t>({c}, bq);
    g.initializers["bs"] = Tensor::from_vector<float>({c}, bs);
    g.nodes.push_back(node("DequantizeLinear", {"bq", "bs"}, {"bd"}, {{"axis", integer(0)}}));
  }
  g.nodes.push_back(node("Conv", {"xd", "wd", float_bias ? "bf" : "bd"}, {"conv"}, {{"pads", ints({1, 1, 1, 1})}}));
  g.nodes.push_back(node("Relu", {"conv"}, {"relu"}));
  g.nodes.push_back(node("QuantizeLinear", {"relu", "ys", "yz"}, {"yq"}));
  g.nodes.push_back(node("DequantizeLinear", {"yq", "ys", "yz"}, {"y"}));
  g.outputs.push_back(value("y", DType::kFloat32, {1, c, 9, 11}));
  return g;
}

TEST(QuantFusion, StaticQdqConvBecomesOneNode) {
  std::mt19937 rng(kSeed + 3);
  ir::Graph g = static_conv_graph(rng, false);
  EXPECT_EQ(g.nodes.size(), 8u);
  ir::Graph fused = g;
  const QuantFusionCounts counts = fuse_quantized(fused, 17);
  EXPECT_EQ(counts.static_nodes, 1);
  ASSERT_EQ(fused.nodes.size(), 1u);  // input Q, all DQs, Relu and output Q/DQ fold in
  EXPECT_EQ(fused.nodes[0].op_type, "QLinearConvFused");
  EXPECT_EQ(fused.nodes[0].inputs[0], "x");
  // Inputs with exact float arithmetic: multiples of the input scale within range.
  Tensor x(DType::kFloat32, {1, 4, 9, 11});
  std::uniform_int_distribution<int> q(-128, 127);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(q(rng)) / 16;
  expect_fused_equals_unfused(model_of(g), {x}, "static conv");
}

// A float bias fuses too (added after the scale). With power-of-two scales every float step is
// exact on both sides, so fused and unfused agree bit for bit.
TEST(QuantFusion, StaticQdqWithFloatBiasFuses) {
  std::mt19937 rng(kSeed + 4);
  ir::Graph g = static_conv_graph(rng, true);
  ir::Graph fused = g;
  EXPECT_EQ(fuse_quantized(fused, 17).static_nodes, 1);
  ASSERT_EQ(fused.nodes.size(), 1u);
  EXPECT_EQ(fused.nodes[0].op_type, "QLinearConvFused");
  Tensor x(DType::kFloat32, {1, 4, 9, 11});
  std::uniform_int_distribution<int> q(-128, 127);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(q(rng)) / 16;
  expect_fused_equals_unfused(model_of(g), {x}, "static conv, float bias");
}

// QDQ MatMul with its bias as a following Add, and QDQ Gemm with transB, outputs kept int8.
TEST(QuantFusion, StaticQdqMatMulAndGemm) {
  std::mt19937 rng(kSeed + 5);
  ir::Graph g;
  g.inputs.push_back(value("xq", DType::kInt8, {5, 12}));
  g.initializers["xs"] = Tensor::from_vector<float>({}, {0.25f});
  g.initializers["xz"] = Tensor::from_vector<int8_t>({}, {-3});
  g.initializers["w1"] = Tensor::from_vector<int8_t>({12, 20}, random_weights(rng, 12 * 20));
  g.initializers["w1s"] = Tensor::from_vector<float>({}, {0.5f});
  g.initializers["b1"] = Tensor::from_vector<int32_t>({20}, std::vector<int32_t>(20, 77));
  g.initializers["b1s"] = Tensor::from_vector<float>({}, {0.125f});
  g.initializers["hs"] = Tensor::from_vector<float>({}, {4.0f});
  g.initializers["hz"] = Tensor::from_vector<uint8_t>({}, {10});
  g.initializers["w2"] = Tensor::from_vector<int8_t>({7, 20}, random_weights(rng, 7 * 20));
  std::vector<float> w2s(7, 0.25f);
  g.initializers["w2s"] = Tensor::from_vector<float>({7}, w2s);
  g.initializers["ys"] = Tensor::from_vector<float>({}, {64.0f});
  g.initializers["yz"] = Tensor::from_vector<int8_t>({}, {0});
  g.nodes.push_back(node("DequantizeLinear", {"xq", "xs", "xz"}, {"x"}));
  g.nodes.push_back(node("DequantizeLinear", {"w1", "w1s"}, {"w1d"}));
  g.nodes.push_back(node("DequantizeLinear", {"b1", "b1s"}, {"b1d"}));
  g.nodes.push_back(node("MatMul", {"x", "w1d"}, {"mm"}));
  g.nodes.push_back(node("Add", {"b1d", "mm"}, {"h"}));
  g.nodes.push_back(node("QuantizeLinear", {"h", "hs", "hz"}, {"hq"}));
  g.nodes.push_back(node("DequantizeLinear", {"hq", "hs", "hz"}, {"hd"}));
  g.nodes.push_back(node("DequantizeLinear", {"w2", "w2s"}, {"w2d"}, {{"axis", integer(0)}}));
  g.nodes.push_back(node("Gemm", {"hd", "w2d"}, {"gemm"}, {{"transB", integer(1)}}));
  g.nodes.push_back(node("QuantizeLinear", {"gemm", "ys", "yz"}, {"y"}));
  g.outputs.push_back(value("y", DType::kInt8, {5, 7}));
  ir::Graph fused = g;
  EXPECT_EQ(fuse_quantized(fused, 17).static_nodes, 2);
  EXPECT_EQ(count_op(fused, "QLinearMatMulFused"), 2);
  EXPECT_EQ(fused.nodes.size(), 2u);
  Tensor x(DType::kInt8, {5, 12});
  std::uniform_int_distribution<int> q(-128, 127);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<int8_t>()[i] = static_cast<int8_t>(q(rng));
  expect_fused_equals_unfused(model_of(g), {x}, "static matmul + gemm");
}

}  // namespace
}  // namespace tinyq::passes
