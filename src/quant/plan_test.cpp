#include "quant/plan.h"

#include <gtest/gtest.h>

#include "quant/ptq_test_models.h"

namespace tinyq::quant {
namespace {

using testing::conv_model;
using testing::make;
using testing::mlp_model;

bool mentions(const Status& st, const std::string& s) { return st.message().find(s) != std::string::npos; }

TEST(QuantPlanTest, DefaultPlacementQuantisesGemmAndMatMulWithTheirChannelAxes) {
  auto plan = plan_quantization(mlp_model().graph, {});
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  ASSERT_EQ(plan->nodes.size(), 2u);
  EXPECT_EQ(plan->nodes[0].node, "fc1");
  EXPECT_EQ(plan->nodes[0].activations, std::vector<std::string>{"x"});
  ASSERT_EQ(plan->nodes[0].weights.size(), 1u);
  EXPECT_EQ(plan->nodes[0].weights[0].initializer, "w1");
  EXPECT_EQ(plan->nodes[0].weights[0].axis, 0);  // Gemm transB=1: B is [N, K]
  EXPECT_EQ(plan->nodes[1].node, "mm");
  EXPECT_EQ(plan->nodes[1].weights[0].axis, 1);  // MatMul B [K, N]: columns
  EXPECT_EQ(plan->activations, (std::vector<std::string>{"x", "r"}));
  EXPECT_TRUE(plan->skipped.empty());
}

TEST(QuantPlanTest, GemmWithoutTransBUsesAxisOne) {
  ir::Model m = mlp_model();
  m.graph.nodes[0].attributes.erase("transB");
  m.graph.initializers["w1"] = Tensor(DType::kFloat32, {4, 3});
  auto plan = plan_quantization(m.graph, {});
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_EQ(plan->nodes[0].weights[0].axis, 1);
}

TEST(QuantPlanTest, PerTensorWeightsHaveNoAxis) {
  PlacementOptions o;
  o.per_channel = false;
  auto plan = plan_quantization(conv_model().graph, o);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  ASSERT_EQ(plan->nodes.size(), 1u);
  EXPECT_EQ(plan->nodes[0].weights[0].axis, -1);
  o.per_channel = true;
  plan = plan_quantization(conv_model().graph, o);
  ASSERT_TRUE(plan.is_ok());
  EXPECT_EQ(plan->nodes[0].weights[0].axis, 0);  // Conv: output channels
}

TEST(QuantPlanTest, IncludeAndExcludeSelectNodes) {
  PlacementOptions o;
  o.include_nodes = {"mm"};
  auto plan = plan_quantization(mlp_model().graph, o);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  ASSERT_EQ(plan->nodes.size(), 1u);
  EXPECT_EQ(plan->nodes[0].node, "mm");
  EXPECT_EQ(plan->activations, std::vector<std::string>{"r"});

  o = {};
  o.exclude_nodes = {"mm"};
  plan = plan_quantization(mlp_model().graph, o);
  ASSERT_TRUE(plan.is_ok());
  ASSERT_EQ(plan->nodes.size(), 1u);
  EXPECT_EQ(plan->nodes[0].node, "fc1");

  o = {};
  o.exclude_op_types = {"Gemm"};
  plan = plan_quantization(mlp_model().graph, o);
  ASSERT_TRUE(plan.is_ok());
  ASSERT_EQ(plan->nodes.size(), 1u);
  EXPECT_EQ(plan->nodes[0].node, "mm");

  o = {};
  o.op_types = {"MatMul"};
  plan = plan_quantization(mlp_model().graph, o);
  ASSERT_TRUE(plan.is_ok());
  ASSERT_EQ(plan->nodes.size(), 1u);
  EXPECT_EQ(plan->nodes[0].node, "mm");
}

TEST(QuantPlanTest, NamesThatMatchNoNodeAreErrorsNamingThem) {
  PlacementOptions o;
  o.include_nodes = {"fc9"};
  auto plan = plan_quantization(mlp_model().graph, o);
  ASSERT_FALSE(plan.is_ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(mentions(plan.status(), "include node 'fc9'")) << plan.status().message();

  o = {};
  o.exclude_nodes = {"nope"};
  plan = plan_quantization(mlp_model().graph, o);
  ASSERT_FALSE(plan.is_ok());
  EXPECT_TRUE(mentions(plan.status(), "exclude node 'nope'")) << plan.status().message();

  o = {};
  o.exclude_op_types = {"Conv"};
  plan = plan_quantization(mlp_model().graph, o);
  ASSERT_FALSE(plan.is_ok());
  EXPECT_TRUE(mentions(plan.status(), "exclude op type 'Conv'")) << plan.status().message();

  o = {};
  o.op_types = {"Relu"};
  plan = plan_quantization(mlp_model().graph, o);
  ASSERT_FALSE(plan.is_ok());
  EXPECT_TRUE(mentions(plan.status(), "'Relu'")) << plan.status().message();

  o = {};
  o.include_nodes = {"relu"};  // exists, but is not a quantised op type
  plan = plan_quantization(mlp_model().graph, o);
  ASSERT_FALSE(plan.is_ok());
  EXPECT_TRUE(mentions(plan.status(), "'relu'")) << plan.status().message();
}

TEST(QuantPlanTest, UnquantisableNodesStayFp32WithAReason) {
  ir::Model m = mlp_model();
  // fc1's weight becomes a run-time value: Gemm needs a constant weight.
  m.graph.initializers.erase("w1");
  m.graph.inputs.push_back(testing::f32("w1", {ir::Dim{3, ""}, ir::Dim{4, ""}}));
  auto plan = plan_quantization(m.graph, {});
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  ASSERT_EQ(plan->nodes.size(), 1u);
  EXPECT_EQ(plan->nodes[0].node, "mm");
  ASSERT_EQ(plan->skipped.size(), 1u);
  EXPECT_EQ(plan->skipped[0].node, "fc1");
  EXPECT_NE(plan->skipped[0].reason.find("not an initializer"), std::string::npos) << plan->skipped[0].reason;
}

TEST(QuantPlanTest, ModelWithNothingToQuantiseIsAnError) {
  ir::Model m = mlp_model();
  m.graph.nodes = {make("relu", "Relu", {"x"}, {"y"})};
  auto plan = plan_quantization(m.graph, {});
  ASSERT_FALSE(plan.is_ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(mentions(plan.status(), "no node can be quantised")) << plan.status().message();
}

TEST(QuantPlanTest, ActivationReadByTwoNodesIsListedOnce) {
  ir::Model m = mlp_model();
  m.graph.initializers["w3"] = Tensor(DType::kFloat32, {4, 2});
  m.graph.nodes.push_back(make("mm2", "MatMul", {"x", "w3"}, {"z"}));
  m.graph.outputs.push_back(testing::f32("z", {ir::Dim{-1, "N"}, ir::Dim{2, ""}}));
  auto plan = plan_quantization(m.graph, {});
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_EQ(plan->nodes.size(), 3u);
  EXPECT_EQ(plan->activations, (std::vector<std::string>{"x", "r"}));
}

TEST(QuantPlanTest, MatMulOfTwoRunTimeValuesQuantisesBoth) {
  ir::Model m = mlp_model();
  m.graph.initializers.erase("w2");
  m.graph.inputs.push_back(testing::f32("w2", {ir::Dim{3, ""}, ir::Dim{2, ""}}));
  auto plan = plan_quantization(m.graph, {});
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  ASSERT_EQ(plan->nodes.size(), 2u);
  EXPECT_EQ(plan->nodes[1].activations, (std::vector<std::string>{"r", "w2"}));
  EXPECT_TRUE(plan->nodes[1].weights.empty());
}

}  // namespace
}  // namespace tinyq::quant
