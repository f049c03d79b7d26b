// QAT's libtorch graph against tinyq's fp32 Session: the zoo's fp32 models on their fixture
// rows, and small graphs for each op family (attributes that change the arithmetic: groups,
// strides, asymmetric pads, transposes, axes as inputs...). To add an op case, add a row to
// op_cases() with a model built by GraphBuilder.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <numeric>

#include "onnx/onnx_io.h"
#include "qat/qat_model.h"
#include "qat/qat_test_util.h"
#include "qat/trainer.h"
#include "tinyq/session.h"

namespace fs = std::filesystem;
using namespace tinyq;
using namespace tinyq::qat::testing;

namespace {

// Both sides are fp32; they differ in summation order (blocked GEMM/conv vs libtorch's) and in
// erf/exp approximations. Measured against the largest |value| of the output.
constexpr double kZooTorchRtol = 2e-5;
constexpr double kOpTorchRtol = 1e-5;

Tensor run_rows_in_session(Session& s, const std::vector<Tensor>& inputs, int64_t rows, size_t output) {
  std::vector<Tensor> parts;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<Tensor> feed;
    for (const auto& t : inputs) feed.push_back(qat::gather_rows(t, {r}));
    auto out = s.run(feed);
    EXPECT_TRUE(out.is_ok()) << out.status().to_string();
    if (!out.is_ok()) return {};
    parts.push_back((*out)[output]);
  }
  Shape shape = parts[0].shape();
  shape[0] = rows;
  Tensor all(DType::kFloat32, shape);
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(all.data<float>() + r * parts[0].numel(), parts[static_cast<size_t>(r)].raw(), parts[0].nbytes());
  return all;
}

struct ZooCase {
  std::string model;
  int64_t rows;  // fixture rows compared (the CNNs are slow in the reference build)
};
void PrintTo(const ZooCase& c, std::ostream* os) { *os << c.model; }

class TorchGraphZoo : public ::testing::TestWithParam<ZooCase> {};

TEST_P(TorchGraphZoo, MatchesSessionOnFixtureRows) {
  const ZooCase& c = GetParam();
  const fs::path model_file = zoo_dir() / "models" / (c.model + ".onnx");
  if (!fs::exists(model_file)) GTEST_SKIP() << "no zoo at " << model_file;
  auto model = onnx_io::load_model(model_file.string());
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  auto session = Session::from_ir(*model, c.model);
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  auto torch_model = qat::QatModel::create_fp32(*model);
  ASSERT_TRUE(torch_model.is_ok()) << torch_model.status().to_string();
  auto data = io::read_npz((zoo_dir() / "fixtures" / (c.model + ".fixtures.npz")).string());
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();

  std::vector<int64_t> rows(static_cast<size_t>(c.rows));
  std::iota(rows.begin(), rows.end(), 0);
  std::vector<Tensor> inputs;
  for (const auto& name : torch_model->input_names()) {
    const Tensor* a = find_array(*data, name);
    ASSERT_NE(a, nullptr) << name;
    inputs.push_back(qat::gather_rows(*a, rows));
  }
  // libtorch runs all rows as one batch; the session one row at a time, as the references were made.
  auto got = torch_model->predict(inputs, false);
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  for (size_t o = 0; o < got->size(); ++o) {
    Tensor want = run_rows_in_session(**session, inputs, c.rows, o);
    ASSERT_EQ((*got)[o].numel(), want.numel()) << torch_model->output_names()[o];
    EXPECT_LE(max_rel_diff((*got)[o], want), kZooTorchRtol) << torch_model->output_names()[o];
  }
}

INSTANTIATE_TEST_SUITE_P(Fp32Models, TorchGraphZoo,
                         ::testing::Values(ZooCase{"vmaf_tiny_v2", 64}, ZooCase{"vmaf_tiny_v3", 64},
                                           ZooCase{"vmaf_tiny_v4", 64}, ZooCase{"fr_regressor_v1", 64},
                                           ZooCase{"nr_metric_v1", 4}, ZooCase{"learned_filter_v1", 2},
                                           ZooCase{"smoke_v0", 8}),
                         [](const auto& info) { return info.param.model; });

// ---- small graphs, op by op ----

struct OpCase {
  std::string name;
  std::function<ir::Model()> model;
  std::vector<Shape> inputs;
};
void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

std::vector<OpCase> op_cases() {
  using A = std::map<std::string, ir::Attribute>;
  std::vector<OpCase> cases;
  cases.push_back({"DepthwiseConvStride2", [] {
                     return GraphBuilder()
                         .input("x", {-1, 4, 9, 9})
                         .output("y", {-1, 4, 5, 5})
                         .init("w", random_tensor({4, 1, 3, 3}, 1))
                         .init("b", random_tensor({4}, 2))
                         .node("Conv", {"x", "w", "b"}, {"y"},
                               A{{"group", attr_i(4)}, {"strides", attr_ints({2, 2})}, {"pads", attr_ints({1, 1, 1, 1})}})
                         .build();
                   }, {{2, 4, 9, 9}}});
  cases.push_back({"ConvAsymmetricPadsDilated", [] {
                     return GraphBuilder()
                         .input("x", {-1, 3, 8, 7})
                         .output("y", {-1, 2, 5, 4})
                         .init("w", random_tensor({2, 3, 3, 3}, 3))
                         .node("Conv", {"x", "w"}, {"y"},
                               A{{"dilations", attr_ints({2, 2})}, {"pads", attr_ints({0, 1, 1, 0})}})
                         .build();
                   }, {{2, 3, 8, 7}}});
  cases.push_back({"ConvSameUpperGrouped", [] {
                     return GraphBuilder()
                         .input("x", {-1, 4, 7, 7})
                         .output("y", {-1, 6, 4, 4})
                         .init("w", random_tensor({6, 2, 3, 3}, 4))
                         .node("Conv", {"x", "w"}, {"y"},
                               A{{"auto_pad", attr_s("SAME_UPPER")}, {"group", attr_i(2)}, {"strides", attr_ints({2, 2})}})
                         .build();
                   }, {{1, 4, 7, 7}}});
  cases.push_back({"Conv1d", [] {
                     return GraphBuilder()
                         .input("x", {-1, 2, 10})
                         .output("y", {-1, 3, 10})
                         .init("w", random_tensor({3, 2, 3}, 5))
                         .node("Conv", {"x", "w"}, {"y"}, A{{"pads", attr_ints({1, 1})}})
                         .build();
                   }, {{2, 2, 10}}});
  cases.push_back({"Conv1dNoAttributes", [] {  // the spatial rank comes from the weight
                     return GraphBuilder()
                         .input("x", {-1, 2, 10})
                         .output("y", {-1, 3, 8})
                         .init("w", random_tensor({3, 2, 3}, 18))
                         .node("Conv", {"x", "w"}, {"y"})
                         .build();
                   }, {{2, 2, 10}}});
  cases.push_back({"ConvTransposeStride2Cropped", [] {
                     return GraphBuilder()
                         .input("x", {-1, 2, 4, 4})
                         .output("y", {-1, 3, 7, 10})
                         .init("w", random_tensor({2, 3, 3, 3}, 6))
                         .init("b", random_tensor({3}, 7))
                         .node("ConvTranspose", {"x", "w", "b"}, {"y"},
                               A{{"strides", attr_ints({2, 2})}, {"pads", attr_ints({1, 0, 1, 0})}, {"output_padding", attr_ints({0, 1})}})
                         .build();
                   }, {{2, 2, 4, 4}}});
  cases.push_back({"GemmTransAAlphaBeta", [] {
                     return GraphBuilder()
                         .input("x", {5, -1})
                         .output("y", {-1, 4})
                         .init("w", random_tensor({5, 4}, 8))
                         .init("c", random_tensor({4}, 9))
                         .node("Gemm", {"x", "w", "c"}, {"y"},
                               A{{"transA", attr_i(1)}, {"alpha", attr_f(0.5f)}, {"beta", attr_f(2.0f)}})
                         .build();
                   }, {{5, 3}}});
  cases.push_back({"MatMulBatchedThenActivations", [] {
                     return GraphBuilder()
                         .input("x", {-1, 3, 4})
                         .output("y", {-1, 3, 5})
                         .init("w", random_tensor({4, 5}, 10))
                         .init("lo", Tensor::from_vector<float>({}, {-0.3f}))
                         .init("hi", Tensor::from_vector<float>({}, {0.4f}))
                         .node("MatMul", {"x", "w"}, {"m"})
                         .node("Erf", {"m"}, {"e"})
                         .node("Tanh", {"e"}, {"t"})
                         .node("Sigmoid", {"t"}, {"s"})
                         .node("LeakyRelu", {"m"}, {"l"}, A{{"alpha", attr_f(0.2f)}})
                         .node("Add", {"s", "l"}, {"a"})
                         .node("Clip", {"a", "lo", "hi"}, {"y"})
                         .build();
                   }, {{2, 3, 4}}});
  cases.push_back({"BroadcastArithmetic", [] {
                     return GraphBuilder()
                         .input("x", {-1, 3, 4})
                         .output("y", {-1, 3, 4})
                         .init("a", random_tensor({4}, 11))
                         .init("b", random_tensor({3, 1}, 12, 0.5f, 2.0f))
                         .node("Sub", {"x", "a"}, {"s"})
                         .node("Div", {"s", "b"}, {"d"})
                         .node("Mul", {"d", "a"}, {"m"})
                         .node("Relu", {"m"}, {"y"})
                         .build();
                   }, {{2, 3, 4}}});
  cases.push_back({"SqueezeUnsqueezeAxesInputs", [] {
                     return GraphBuilder(13)
                         .input("x", {-1, 1, 4, 1})
                         .output("y", {-1, 4, 1, 1})
                         .init("sq", Tensor::from_vector<int64_t>({2}, {1, -1}))
                         .init("un", Tensor::from_vector<int64_t>({2}, {-1, 2}))
                         .node("Squeeze", {"x", "sq"}, {"s"})
                         .node("Unsqueeze", {"s", "un"}, {"y"})
                         .build();
                   }, {{3, 1, 4, 1}}});
  cases.push_back({"SqueezeUnsqueezeAxesAttributes", [] {
                     return GraphBuilder(11)
                         .input("x", {-1, 1, 4})
                         .output("y", {1, -1, 4})
                         .node("Squeeze", {"x"}, {"s"}, A{{"axes", attr_ints({1})}})
                         .node("Unsqueeze", {"s"}, {"y"}, A{{"axes", attr_ints({0})}})
                         .build();
                   }, {{3, 1, 4}}});
  cases.push_back({"ReshapeZeroMinusOneFlatten", [] {
                     return GraphBuilder()
                         .input("x", {-1, 2, 3, 4})
                         .output("y", {-1, 12})
                         .init("shape", Tensor::from_vector<int64_t>({3}, {0, -1, 4}))
                         .node("Reshape", {"x", "shape"}, {"r"})
                         .node("Flatten", {"r"}, {"y"}, A{{"axis", attr_i(1)}})
                         .build();
                   }, {{2, 2, 3, 4}}});
  cases.push_back({"ShapeConcatReshapeAsExported", [] {
                     // nr_metric_v1's head: Shape -> Gather the batch -> Concat with -1 -> Reshape.
                     return GraphBuilder(18)
                         .input("x", {-1, 4, 3, 3})
                         .output("y", {-1, 4})
                         .init("axes", Tensor::from_vector<int64_t>({2}, {-1, -2}))
                         .init("zero", Tensor::from_vector<int64_t>({1}, {0}))
                         .init("minus1", Tensor::from_vector<int64_t>({1}, {-1}))
                         .node("ReduceMean", {"x", "axes"}, {"m"}, A{{"keepdims", attr_i(1)}})
                         .node("Shape", {"x"}, {"s"})
                         .node("Gather", {"s", "zero"}, {"n"})
                         .node("Concat", {"n", "minus1"}, {"shape"}, A{{"axis", attr_i(0)}})
                         .node("Reshape", {"m", "shape"}, {"y"})
                         .build();
                   }, {{3, 4, 3, 3}}});
  cases.push_back({"ReduceMeanAxesAttributeNoKeepdims", [] {
                     return GraphBuilder(13)
                         .input("x", {-1, 3, 4})
                         .output("y", {-1})
                         .node("ReduceMean", {"x"}, {"y"}, A{{"axes", attr_ints({1, 2})}, {"keepdims", attr_i(0)}})
                         .build();
                   }, {{2, 3, 4}}});
  cases.push_back({"SoftmaxTransposeConstant", [] {
                     ir::Attribute value;
                     value.kind = ir::Attribute::Kind::kTensor;
                     value.t = random_tensor({4, 3}, 13);
                     return GraphBuilder()
                         .input("x", {-1, 3, 4})
                         .output("y", {-1, 4, 3})
                         .node("Transpose", {"x"}, {"t"}, A{{"perm", attr_ints({0, 2, 1})}})
                         .node("Constant", {}, {"c"}, A{{"value", value}})
                         .node("Add", {"t", "c"}, {"a"})
                         .node("Softmax", {"a"}, {"y"}, A{{"axis", attr_i(1)}})
                         .build();
                   }, {{2, 3, 4}}});
  cases.push_back({"PoolsAndBatchNorm", [] {
                     return GraphBuilder()
                         .input("x", {-1, 2, 7, 7})
                         .output("y", {-1, 2, 1, 1})
                         .init("scale", random_tensor({2}, 14, 0.5f, 1.5f))
                         .init("bias", random_tensor({2}, 15))
                         .init("mean", random_tensor({2}, 16))
                         .init("var", random_tensor({2}, 17, 0.5f, 1.5f))
                         .node("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, {"b"}, A{{"epsilon", attr_f(1e-3f)}})
                         .node("MaxPool", {"b"}, {"m"}, A{{"kernel_shape", attr_ints({2, 2})}, {"strides", attr_ints({2, 2})}})
                         .node("AveragePool", {"m"}, {"a"},
                               A{{"kernel_shape", attr_ints({3, 3})}, {"pads", attr_ints({1, 1, 1, 1})}, {"count_include_pad", attr_i(1)}})
                         .node("GlobalAveragePool", {"a"}, {"y"})
                         .build();
                   }, {{2, 2, 7, 7}}});
  cases.push_back({"SlicePad", [] {
                     return GraphBuilder()
                         .input("x", {-1, 6, 5})
                         .output("y", {-1, 3, 5})
                         .init("starts", Tensor::from_vector<int64_t>({2}, {1, -4}))
                         .init("ends", Tensor::from_vector<int64_t>({2}, {100, 4}))
                         .init("axes", Tensor::from_vector<int64_t>({2}, {1, 2}))
                         .init("steps", Tensor::from_vector<int64_t>({2}, {2, 1}))
                         .init("pads", Tensor::from_vector<int64_t>({6}, {0, 0, 1, 0, 0, 1}))
                         .init("value", Tensor::from_vector<float>({}, {0.5f}))
                         .node("Slice", {"x", "starts", "ends", "axes", "steps"}, {"s"})
                         .node("Pad", {"s", "pads", "value"}, {"y"})
                         .build();
                   }, {{2, 6, 5}}});
  return cases;
}

class TorchGraphOps : public ::testing::TestWithParam<OpCase> {};

TEST_P(TorchGraphOps, MatchesReferenceKernels) {
  const OpCase& c = GetParam();
  ir::Model model = c.model();
  SessionOptions so;
  so.reference_kernels = true;
  auto session = Session::from_ir(model, c.name, so);
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  auto torch_model = qat::QatModel::create_fp32(model);
  ASSERT_TRUE(torch_model.is_ok()) << torch_model.status().to_string();
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < c.inputs.size(); ++i) inputs.push_back(random_tensor(c.inputs[i], 100 + static_cast<uint32_t>(i), -2.0f, 2.0f));
  auto want = (*session)->run(inputs);
  ASSERT_TRUE(want.is_ok()) << want.status().to_string();
  auto got = torch_model->predict(inputs, false);
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  ASSERT_EQ(got->size(), want->size());
  for (size_t o = 0; o < got->size(); ++o) {
    EXPECT_EQ((*got)[o].shape(), (*want)[o].shape()) << "output " << o;
    if ((*got)[o].shape() == (*want)[o].shape()) EXPECT_LE(max_rel_diff((*got)[o], (*want)[o]), kOpTorchRtol) << "output " << o;
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, TorchGraphOps, ::testing::ValuesIn(op_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(TorchGraph, UnsupportedOpNamesTheNode) {
  ir::Model m = GraphBuilder().input("x", {-1, 4}).output("y", {-1, 4}).node("Hardmax", {"x"}, {"y"}).build();
  auto built = qat::QatModel::create_fp32(m);
  ASSERT_FALSE(built.is_ok());
  EXPECT_EQ(built.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(built.status().message().find("Hardmax 'Hardmax_0'"), std::string::npos) << built.status().message();
  EXPECT_NE(built.status().message().find("supported: "), std::string::npos) << built.status().message();
}

TEST(TorchGraph, UnknownAttributeIsRefused) {
  ir::Model m = GraphBuilder()
                    .input("x", {-1, 4})
                    .output("y", {-1, 4})
                    .node("Relu", {"x"}, {"y"}, {{"mystery", attr_i(1)}})
                    .build();
  auto built = qat::QatModel::create_fp32(m);
  ASSERT_FALSE(built.is_ok());
  EXPECT_NE(built.status().message().find("attribute 'mystery'"), std::string::npos) << built.status().message();
}

TEST(TorchGraph, ShapeMismatchAtRunTimeNamesTheNode) {
  ir::Model m = GraphBuilder()
                    .input("x", {-1, 4})
                    .output("y", {-1, 3})
                    .init("w", random_tensor({4, 3}, 1))
                    .node("MatMul", {"x", "w"}, {"y"})
                    .build();
  auto built = qat::QatModel::create_fp32(m);
  ASSERT_TRUE(built.is_ok()) << built.status().to_string();
  std::vector<Tensor> wrong{random_tensor({2, 5}, 2)};
  auto out = built->predict(wrong, false);
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("MatMul 'MatMul_0'"), std::string::npos) << out.status().message();
}

}  // namespace
