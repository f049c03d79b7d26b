// The int8 fusion pass: which subgraphs become fused nodes (node counts before/after), and that
// a session with the pass gives bit-identical outputs to the same graph run unfused.
#include "passes/quant_fusion.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "../../bench/qdq_stand_in.h"
#include "io/npy.h"
#include "kernels/kernel.h"
#include "onnx/onnx_io.h"
#include "tinyq/session.h"

namespace tinyq::passes {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kSeed = 4242;

ir::Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
              std::map<std::string, ir::Attribute> attrs = {}) {
  ir::Node n;
  n.op_type = op;
  n.name = out[0] + "_node";
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attributes = std::move(attrs);
  return n;
}

ir::Attribute ints(std::vector<int64_t> v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInts;
  a.ints = std::move(v);
  return a;
}
ir::Attribute integer(int64_t v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInt;
  a.i = v;
  return a;
}

ir::ValueInfo value(const std::string& name, DType t, std::vector<int64_t> dims) {
  ir::ValueInfo v;
  v.name = name;
  v.dtype = t;
  v.has_shape = true;
  for (int64_t d : dims) v.dims.push_back(ir::Dim{d, ""});
  return v;
}

ir::Model model_of(ir::Graph g, int64_t opset = 17) {
  ir::Model m;
  m.graph = std::move(g);
  m.opset_imports[""] = opset;
  return m;
}

int count_op(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node.op_type == op;
  return n;
}

std::vector<int8_t> random_weights(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> any(-128, 127);
  std::vector<int8_t> w(n);
  for (auto& v : w) v = static_cast<int8_t>(any(rng));
  return w;
}

Tensor random_floats(std::mt19937& rng, Shape shape, float lo, float hi) {
  Tensor t(DType::kFloat32, std::move(shape));
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

// Runs the model fused (default options) and unfused (graph_passes off), both with the fast
// kernels, and (with_reference) with the reference kernels; all must agree bit for bit. Models
// with reductions skip the reference run: fast and reference ReduceMean may sum in other orders.
void expect_fused_equals_unfused(const ir::Model& m, const std::vector<Tensor>& inputs, const std::string& what,
                                 bool with_reference = true) {
  SessionOptions off;
  off.graph_passes = false;
  SessionOptions ref;
  ref.reference_kernels = true;
  auto fused = Session::from_ir(m, what);
  auto unfused = Session::from_ir(m, what, off);
  auto reference = Session::from_ir(with_reference ? m : ir::Model{}, what, ref);
  ASSERT_TRUE(fused.is_ok()) << fused.status().message();
  ASSERT_TRUE(unfused.is_ok()) << unfused.status().message();
  ASSERT_TRUE(reference.is_ok()) << reference.status().message();
  auto a = (*fused)->run(inputs);
  auto b = (*unfused)->run(inputs);
  auto c = with_reference ? (*reference)->run(inputs) : Result<std::vector<Tensor>>(std::vector<Tensor>{});
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  ASSERT_TRUE(b.is_ok()) << b.status().message();
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    const Tensor& x = (*a)[i];
    ASSERT_EQ(x.shape(), (*b)[i].shape()) << what;
    ASSERT_EQ(0, std::memcmp(x.raw(), (*b)[i].raw(), x.nbytes())) << what << ": fused differs from unfused";
    if (with_reference)
      ASSERT_EQ(0, std::memcmp(x.raw(), (*c)[i].raw(), x.nbytes())) << what << ": fused differs from reference";
  }
}

// DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul -> Add(Reshape(bias)) -> Relu, as ONNX
// Runtime's quantize_dynamic writes it.
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

TEST(QuantFusion, StaticQdqWithFloatBiasIsLeftUnfused) {
  std::mt19937 rng(kSeed + 4);
  ir::Graph g = static_conv_graph(rng, true);
  ir::Graph fused = g;
  EXPECT_EQ(fuse_quantized(fused, 17).static_nodes, 0);
  EXPECT_EQ(fused.nodes.size(), g.nodes.size());
  expect_fused_equals_unfused(model_of(g), {random_floats(rng, {1, 4, 9, 11}, -4.0f, 4.0f)}, "unfused QDQ");
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

// ---- The zoo's int8 models ----

fs::path zoo() { return fs::path(TINYQ_TEST_SHARED_DIR) / "zoo"; }

struct ZooInt8 {
  std::string model;
  int fused_nodes;
  int rows;
};

// Fixture rows of a model as per-row input vectors.
std::vector<std::vector<Tensor>> fixture_rows(const std::string& model, const std::string& set, int rows,
                                              const std::vector<TensorSpec>& inputs) {
  auto data = io::read_npz((zoo() / "fixtures" / (model + "." + set + ".npz")).string());
  EXPECT_TRUE(data.is_ok()) << data.status().message();
  std::vector<std::vector<Tensor>> out;
  if (!data.is_ok()) return out;
  for (int r = 0; r < rows; ++r) {
    std::vector<Tensor> row;
    for (const auto& spec : inputs)
      for (const auto& [name, t] : *data)
        if (name == spec.name) {
          Shape s = t.shape();
          const int64_t per = t.numel() / s[0];
          s[0] = 1;
          Tensor one(t.dtype(), s);
          std::memcpy(one.raw(), static_cast<const std::byte*>(t.raw()) + r * per * dtype_size(t.dtype()),
                      one.nbytes());
          row.push_back(one);
        }
    out.push_back(row);
  }
  return out;
}

TEST(QuantFusion, ZooDynamicModelsFuseAndMatchUnfused) {
  const std::vector<ZooInt8> cases = {
      {"learned_filter_v1", 10, 1}, {"nr_metric_v1", 12, 3}, {"vmaf_tiny_v3", 3, 8}, {"vmaf_tiny_v4", 4, 8}};
  for (const auto& c : cases) {
    const fs::path file = zoo() / "models" / (c.model + ".int8.onnx");
    if (!fs::exists(file)) GTEST_SKIP() << "no zoo at " << file;
    auto m = onnx_io::load_model(file.string());
    ASSERT_TRUE(m.is_ok()) << m.status().message();
    ir::Graph g = m->graph;
    const QuantFusionCounts counts = fuse_quantized(g, m->opset());
    EXPECT_EQ(counts.dynamic_nodes, c.fused_nodes) << c.model;
    EXPECT_EQ(count_op(g, "DynamicQuantizeLinear"), 0) << c.model;
    EXPECT_EQ(count_op(g, "Cast"), 0) << c.model;
    auto probe = Session::from_ir(*m, c.model);
    ASSERT_TRUE(probe.is_ok());
    for (const auto& row : fixture_rows(c.model, "fixtures", c.rows, (*probe)->inputs()))
      expect_fused_equals_unfused(*m, row, c.model, /*with_reference=*/false);
  }
}

// The weights an int8 session keeps are at most 30% of the fp32 session's for the conv models'
// int8 files (ONNX Runtime's dynamic, per-tensor ones). The static stand-ins quantise per channel:
// per output channel they keep a float scale and an int32 bias where fp32 keeps one float bias,
// and nr_metric_v1 has 545 channels for 18,018 weights, so its floor is
// (18018 + 8 * 545) / (4 * 18018 + 4 * 545) = 30.1%; they get one point of slack.
// (fp32 sessions are counted by their initializers only: the fp32 kernels' packed copies of the
// weights, which roughly double their resident bytes, are not reported, so these ratios are upper
// bounds.)
TEST(QuantFusion, Int8SessionsKeepAtMost30PercentOfFp32Weights) {
  constexpr double kMaxRatio = 0.30;
  constexpr double kMaxStaticPerChannelRatio = 0.31;
  for (const std::string model : {"learned_filter_v1", "nr_metric_v1"}) {
    const fs::path fp32_file = zoo() / "models" / (model + ".onnx");
    if (!fs::exists(fp32_file)) GTEST_SKIP() << "no zoo";
    auto fp32 = Session::open(fp32_file.string());
    auto dyn = Session::open((zoo() / "models" / (model + ".int8.onnx")).string());
    ASSERT_TRUE(fp32.is_ok() && dyn.is_ok());
    const double base = static_cast<double>((*fp32)->resident_weight_bytes());
    const double dyn_ratio = static_cast<double>((*dyn)->resident_weight_bytes()) / base;
    EXPECT_LE(dyn_ratio, kMaxRatio) << model << " dynamic: " << (*dyn)->resident_weight_bytes() << " of " << base;

    auto fp32_model = onnx_io::load_model(fp32_file.string());
    ASSERT_TRUE(fp32_model.is_ok());
    auto rows = fixture_rows(model, "calibration", 2, (*fp32)->inputs());
    auto qdq = bench::make_static_qdq(*fp32_model, rows);
    ASSERT_TRUE(qdq.is_ok()) << qdq.status().message();
    auto stat = Session::from_ir(*qdq, model + " static");
    ASSERT_TRUE(stat.is_ok()) << stat.status().message();
    const double static_ratio = static_cast<double>((*stat)->resident_weight_bytes()) / base;
    EXPECT_LE(static_ratio, kMaxStaticPerChannelRatio)
        << model << " static: " << (*stat)->resident_weight_bytes() << " of " << base;
    std::printf("%s resident weights: fp32 %.0f B, int8 dynamic %zu B (%.1f%%), static %zu B (%.1f%%)\n",
                model.c_str(), base, (*dyn)->resident_weight_bytes(), 100 * dyn_ratio,
                (*stat)->resident_weight_bytes(), 100 * static_ratio);
  }
}

// The static stand-ins fuse completely (every Conv/Gemm) and run like their unfused graphs,
// within one quantisation step of the float-accumulated unfused result.
TEST(QuantFusion, ZooStaticStandInsFuse) {
  for (const std::string model : {"nr_metric_v1", "learned_filter_v1"}) {
    const fs::path fp32_file = zoo() / "models" / (model + ".onnx");
    if (!fs::exists(fp32_file)) GTEST_SKIP() << "no zoo";
    auto fp32_model = onnx_io::load_model(fp32_file.string());
    ASSERT_TRUE(fp32_model.is_ok());
    auto probe = Session::from_ir(*fp32_model, model);
    ASSERT_TRUE(probe.is_ok());
    auto qdq = bench::make_static_qdq(*fp32_model, fixture_rows(model, "calibration", 2, (*probe)->inputs()));
    ASSERT_TRUE(qdq.is_ok()) << qdq.status().message();
    ir::Graph g = qdq->graph;
    const int convs = count_op(g, "Conv") + count_op(g, "Gemm") + count_op(g, "MatMul");
    EXPECT_EQ(fuse_quantized(g, qdq->opset()).static_nodes, convs) << model;
    EXPECT_EQ(count_op(g, "Conv") + count_op(g, "Gemm"), 0) << model;
  }
}

}  // namespace
}  // namespace tinyq::passes
