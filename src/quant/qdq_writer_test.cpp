#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "quant/plan.h"
#include "quant/ptq_test_models.h"
#include "tinyq/session.h"

namespace tinyq::quant {
namespace {

using testing::conv_model;
using testing::make;
using testing::mlp_model;

// Float sums in a different order than the test's loops.
constexpr float kSumTol = 1e-5f;

const ir::Node* find_node(const ir::Graph& g, const std::string& op, const std::string& first_input) {
  for (const auto& n : g.nodes)
    if (n.op_type == op && !n.inputs.empty() && n.inputs[0] == first_input) return &n;
  return nullptr;
}

int count_ops(const ir::Graph& g, const std::string& op) {
  return static_cast<int>(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const ir::Node& n) { return n.op_type == op; }));
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

QdqParams mlp_static_params(ActivationType type = ActivationType::kU8Asymmetric) {
  QdqParams p;
  const int32_t zx = type == ActivationType::kU8Asymmetric ? 128 : 0;
  p.activations["x"] = {0.02f, zx, type};
  p.activations["r"] = {0.01f, 0, type};
  return p;
}

Result<ir::Model> write_mlp(const ir::Model& m, const QdqParams& params, PlacementOptions o = {}) {
  TINYQ_ASSIGN_OR_RETURN(QuantPlan plan, plan_quantization(m.graph, o));
  return write_qdq(m, plan, params);
}

TEST(QdqWriterTest, StaticFileHasTheAgreedLayout) {
  const ir::Model fp32 = mlp_model();
  auto q = write_mlp(fp32, mlp_static_params());
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  const ir::Graph& g = q->graph;
  EXPECT_EQ(count_ops(g, "QuantizeLinear"), 2);
  EXPECT_EQ(count_ops(g, "DequantizeLinear"), 4);  // two activations, two weights
  EXPECT_EQ(g.nodes.size(), 9u);

  // Activation x: Q/DQ with a float scalar scale and a uint8 zero point.
  const ir::Node* qx = find_node(g, "QuantizeLinear", "x");
  ASSERT_NE(qx, nullptr);
  EXPECT_EQ(qx->inputs, (std::vector<std::string>{"x", "x_s", "x_z"}));
  EXPECT_EQ(qx->outputs, std::vector<std::string>{"x_q"});
  const ir::Node* dqx = find_node(g, "DequantizeLinear", "x_q");
  ASSERT_NE(dqx, nullptr);
  EXPECT_EQ(dqx->inputs, (std::vector<std::string>{"x_q", "x_s", "x_z"}));
  EXPECT_EQ(dqx->outputs, std::vector<std::string>{"x_dq"});
  EXPECT_EQ(g.initializers.at("x_s").shape(), Shape{});
  EXPECT_EQ(values<float>(g.initializers.at("x_s")), std::vector<float>{0.02f});
  EXPECT_EQ(g.initializers.at("x_z").dtype(), DType::kUInt8);
  EXPECT_EQ(values<uint8_t>(g.initializers.at("x_z")), std::vector<uint8_t>{128});

  // Weight w1: int8 rows at scales 0.01 / 0.02 / 0.001, no zero point, axis 0; the DQ output
  // takes the weight's name, so the Gemm reads "w1" as before.
  EXPECT_FALSE(g.is_initializer("w1"));
  const Tensor& w1q = g.initializers.at("w1_q");
  EXPECT_EQ(w1q.dtype(), DType::kInt8);
  EXPECT_EQ(values<int8_t>(w1q), (std::vector<int8_t>{127, -50, 25, 2, -127, 50, 2, 0, 127, -63, 0, 1}));
  const std::vector<float> s1 = values<float>(g.initializers.at("w1_s"));
  ASSERT_EQ(s1.size(), 3u);
  EXPECT_FLOAT_EQ(s1[0], 0.01f);
  EXPECT_FLOAT_EQ(s1[1], 0.02f);
  EXPECT_FLOAT_EQ(s1[2], 0.001f);
  const ir::Node* dqw1 = find_node(g, "DequantizeLinear", "w1_q");
  ASSERT_NE(dqw1, nullptr);
  EXPECT_EQ(dqw1->inputs, (std::vector<std::string>{"w1_q", "w1_s"}));
  EXPECT_EQ(dqw1->outputs, std::vector<std::string>{"w1"});
  ASSERT_NE(dqw1->attr("axis"), nullptr);
  EXPECT_EQ(dqw1->attr("axis")->i, 0);

  // Weight w2 (MatMul): per column, axis 1.
  EXPECT_EQ(values<int8_t>(g.initializers.at("w2_q")), (std::vector<int8_t>{127, -57, 76, 32, -32, 127}));
  const ir::Node* dqw2 = find_node(g, "DequantizeLinear", "w2_q");
  ASSERT_NE(dqw2, nullptr);
  EXPECT_EQ(dqw2->attr("axis")->i, 1);

  // The quantised nodes keep their outputs; the bias stays fp32 and untouched.
  const ir::Node* gemm = find_node(g, "Gemm", "x_dq");
  ASSERT_NE(gemm, nullptr);
  EXPECT_EQ(gemm->inputs, (std::vector<std::string>{"x_dq", "w1", "b1"}));
  EXPECT_EQ(gemm->outputs, std::vector<std::string>{"h"});
  EXPECT_EQ(values<float>(g.initializers.at("b1")), values<float>(fp32.graph.initializers.at("b1")));
  const ir::Node* mm = find_node(g, "MatMul", "r_dq");
  ASSERT_NE(mm, nullptr);
  EXPECT_EQ(mm->outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.outputs[0].name, "y");
  EXPECT_EQ(q->opset(), 17);  // already past 13: unchanged
}

TEST(QdqWriterTest, StaticFileRunsAsTheQuantisedArithmeticSays) {
  auto q = write_mlp(mlp_model(), mlp_static_params());
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  auto session = Session::from_ir(std::move(q).value(), "mlp.int8", SessionOptions{.reference_kernels = true, .graph_passes = false});
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  // x on the grid of scale 0.02, zero point 128: Q/DQ reproduces it.
  const std::vector<int> xq = {178, 103, 141, 228};
  std::vector<float> x;
  for (int v : xq) x.push_back(static_cast<float>(v - 128) * 0.02f);
  auto out = (*session)->run(std::vector<Tensor>{Tensor::from_vector<float>({1, 4}, x)});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();

  const int w1q[3][4] = {{127, -50, 25, 2}, {-127, 50, 2, 0}, {127, -63, 0, 1}};
  const float s1[3] = {1.27f / 127, 2.54f / 127, 0.127f / 127};
  const float b1[3] = {0.5f, -0.25f, 1.0f};
  const int w2q[3][2] = {{127, -57}, {76, 32}, {-32, 127}};
  const float s2[2] = {0.5f / 127, 2.0f / 127};
  float rd[3];
  for (int j = 0; j < 3; ++j) {
    float h = b1[j];
    for (int k = 0; k < 4; ++k) h += x[k] * (static_cast<float>(w1q[j][k]) * s1[j]);
    const float r = std::max(h, 0.0f);
    rd[j] = std::min(std::nearbyint(r / 0.01f), 255.0f) * 0.01f;
  }
  for (int n = 0; n < 2; ++n) {
    float y = 0.0f;
    for (int j = 0; j < 3; ++j) y += rd[j] * (static_cast<float>(w2q[j][n]) * s2[n]);
    EXPECT_NEAR((*out)[0].data<float>()[n], y, kSumTol) << "output " << n;
  }
}

TEST(QdqWriterTest, SymmetricActivationsUseAnInt8ZeroPoint) {
  auto q = write_mlp(mlp_model(), mlp_static_params(ActivationType::kS8Symmetric));
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  const Tensor& z = q->graph.initializers.at("x_z");
  EXPECT_EQ(z.dtype(), DType::kInt8);
  EXPECT_EQ(values<int8_t>(z), std::vector<int8_t>{0});
}

TEST(QdqWriterTest, DynamicActivationsUseDynamicQuantizeLinear) {
  QdqParams p;
  p.dynamic = true;
  auto q = write_mlp(mlp_model(), p);
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  const ir::Graph& g = q->graph;
  EXPECT_EQ(count_ops(g, "QuantizeLinear"), 0);
  EXPECT_EQ(count_ops(g, "DynamicQuantizeLinear"), 2);
  const ir::Node* d = find_node(g, "DynamicQuantizeLinear", "x");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->outputs, (std::vector<std::string>{"x_q", "x_s", "x_z"}));
  const ir::Node* dq = find_node(g, "DequantizeLinear", "x_q");
  ASSERT_NE(dq, nullptr);
  EXPECT_EQ(dq->inputs, (std::vector<std::string>{"x_q", "x_s", "x_z"}));
  EXPECT_FALSE(g.is_initializer("x_s"));
}

TEST(QdqWriterTest, PerTensorWeightsHaveAScalarScaleAndNoAxis) {
  PlacementOptions o;
  o.per_channel = false;
  auto q = write_mlp(mlp_model(), mlp_static_params(), o);
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  const Tensor& s = q->graph.initializers.at("w1_s");
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_FLOAT_EQ(values<float>(s)[0], 2.54f / 127);
  EXPECT_EQ(find_node(q->graph, "DequantizeLinear", "w1_q")->attr("axis"), nullptr);
  // Row 0 at the tensor's scale 0.02: -0.5 -> -25.
  EXPECT_EQ(values<int8_t>(q->graph.initializers.at("w1_q"))[1], -25);
}

TEST(QdqWriterTest, ActivationReadByAnFp32NodeKeepsItsFloatValueThere) {
  QdqParams p;
  p.activations["x"] = {0.01f, 0, ActivationType::kU8Asymmetric};
  auto plan = plan_quantization(conv_model().graph, {});
  ASSERT_TRUE(plan.is_ok());
  auto q = write_qdq(conv_model(), *plan, p);
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  EXPECT_EQ(find_node(q->graph, "Conv", "x_dq")->outputs, std::vector<std::string>{"c"});
  EXPECT_NE(find_node(q->graph, "Add", "x"), nullptr);  // Add still reads the float input
}

TEST(QdqWriterTest, SharedWeightIsStoredOnceAndKeptFp32ForOtherReaders) {
  ir::Model m = mlp_model();
  m.graph.nodes.push_back(make("mm2", "MatMul", {"r", "w2"}, {"z"}));
  m.graph.nodes.push_back(make("id", "Identity", {"w2"}, {"w2copy"}));
  m.graph.outputs.push_back(testing::f32("z", {}));
  m.graph.outputs.push_back(testing::f32("w2copy", {}));
  auto q = write_mlp(m, mlp_static_params());
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  const ir::Graph& g = q->graph;
  int dq_w2 = 0;
  for (const auto& n : g.nodes) dq_w2 += n.op_type == "DequantizeLinear" && n.inputs[0] == "w2_q";
  EXPECT_EQ(dq_w2, 1);
  EXPECT_NE(find_node(g, "MatMul", "r_dq"), nullptr);
  EXPECT_EQ(find_node(g, "MatMul", "r_dq")->inputs[1], "w2_dq");
  EXPECT_TRUE(g.is_initializer("w2"));  // the Identity reads the fp32 weight
  EXPECT_EQ(find_node(g, "Identity", "w2")->outputs, std::vector<std::string>{"w2copy"});
}

TEST(QdqWriterTest, RaisesAnOldOpsetTo13) {
  auto q = write_mlp(mlp_model(11), mlp_static_params());
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  EXPECT_EQ(q->opset(), kQdqOpset);
  EXPECT_GE(q->ir_version, kQdqIrVersion);
}

TEST(QdqWriterTest, RefusesToRaiseTheOpsetPastAnOpThatChangedMeaning) {
  ir::Model m = mlp_model(11);
  ir::Node sq = make("sq", "Squeeze", {"y"}, {"ys"});
  sq.attributes["axes"] = testing::int_attr(0);
  m.graph.nodes.push_back(sq);
  auto q = write_mlp(m, mlp_static_params());
  ASSERT_FALSE(q.is_ok());
  EXPECT_EQ(q.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(q.status().message().find("Squeeze 'sq'"), std::string::npos) << q.status().message();
}

TEST(QdqWriterTest, BadParametersAreErrorsNamingTheTensor) {
  QdqParams p = mlp_static_params();
  p.activations.erase("r");
  auto q = write_mlp(mlp_model(), p);
  ASSERT_FALSE(q.is_ok());
  EXPECT_NE(q.status().message().find("'r'"), std::string::npos) << q.status().message();

  p = mlp_static_params();
  p.activations["x"].scale = 0.0f;
  q = write_mlp(mlp_model(), p);
  ASSERT_FALSE(q.is_ok());
  EXPECT_NE(q.status().message().find("'x'"), std::string::npos) << q.status().message();

  p = mlp_static_params();
  p.activations["x"].zero_point = 300;
  q = write_mlp(mlp_model(), p);
  ASSERT_FALSE(q.is_ok());
  EXPECT_NE(q.status().message().find("zero point 300"), std::string::npos) << q.status().message();

  p = mlp_static_params();
  p.weight_scales["w1"] = {0.01f, 0.02f};  // three channels
  q = write_mlp(mlp_model(), p);
  ASSERT_FALSE(q.is_ok());
  EXPECT_NE(q.status().message().find("'w1'"), std::string::npos) << q.status().message();
}

TEST(QdqWriterTest, WeightOverridesAndScalesAreUsed) {
  QdqParams p = mlp_static_params();
  p.weight_overrides["w2"] = Tensor::from_vector<float>({3, 2}, {1, 2, 3, 4, 5, 6});
  p.weight_scales["w2"] = {1.0f, 0.5f};
  auto q = write_mlp(mlp_model(), p);
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  EXPECT_EQ(values<int8_t>(q->graph.initializers.at("w2_q")), (std::vector<int8_t>{1, 4, 3, 8, 5, 12}));
  EXPECT_EQ(values<float>(q->graph.initializers.at("w2_s")), (std::vector<float>{1.0f, 0.5f}));
}

}  // namespace
}  // namespace tinyq::quant
