// ONNX backend node tests (Debian's libonnx-testdata): every test whose ops are all in tinyq's
// fp32 op list runs its model on test_data_set_*/input_*.pb and must match output_*.pb.
// The required ops are kInScopeOps; every other registered op is tested too, for free.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "kernels/kernel.h"
#include "onnx/onnx_io.h"
#include "tinyq/session.h"

namespace fs = std::filesystem;
using namespace tinyq;

namespace {

// ONNX's backend-test defaults (onnx/backend/test/runner: rtol=1e-3, atol=1e-7).
constexpr double kNodeTestRtol = 1e-3;
constexpr double kNodeTestAtol = 1e-7;

const std::set<std::string> kInScopeOps = {
    "Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "Clip", "Sigmoid", "Tanh",
    "Erf", "Sqrt", "Pow", "Exp", "Log", "Abs", "Neg", "LeakyRelu", "HardSigmoid", "Softmax", "MaxPool",
    "AveragePool", "GlobalAveragePool", "ReduceMean", "ReduceSum", "Concat", "Reshape", "Flatten", "Squeeze",
    "Unsqueeze", "Transpose", "Shape", "Gather", "Slice", "Resize", "Pad", "Identity", "Cast", "Constant",
    "BatchNormalization",
    // int8
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul", "MatMulInteger",
    "ConvInteger",
    // used by DynamicQuantizeLinear's expanded form
    "Min", "Max", "ReduceMin", "ReduceMax", "Round"};

// Required ops plus whatever else tinyq registers.
const std::set<std::string>& tested_ops() {
  static const std::set<std::string> ops = [] {
    std::set<std::string> s = kInScopeOps;
    for (const auto& op : kernels::registered_ops()) s.insert(op);
    return s;
  }();
  return ops;
}

// Element types the issue leaves out of scope.
bool out_of_scope_dtype(DType t) {
  return t == DType::kFloat16 || t == DType::kString || t == DType::kUInt32 || t == DType::kUInt64 ||
         static_cast<int>(t) == 16 /* bfloat16 */;
}

std::string testdata_dir() {
  if (const char* env = std::getenv("TINYQ_ONNX_TESTDATA")) return env;
  return "/usr/share/libonnx-testdata/data/node";
}

std::vector<fs::path> sorted_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
    auto num = [](const fs::path& p) {
      std::string s = p.stem().string();
      return std::stoi(s.substr(s.find('_') + 1));
    };
    return num(a) < num(b);
  });
  return out;
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what << ": dtype " << dtype_name(got.dtype()) << " vs " << dtype_name(want.dtype());
  ASSERT_EQ(got.shape(), want.shape()) << what << ": shape " << shape_str(got.shape()) << " vs " << shape_str(want.shape());
  if (got.dtype() == DType::kFloat32 || got.dtype() == DType::kFloat64) {
    std::vector<double> g = got.to_double(), w = want.to_double();
    int bad = 0;
    for (size_t i = 0; i < g.size(); ++i) {
      if (std::isnan(w[i]) && std::isnan(g[i])) continue;
      if (std::isinf(w[i]) && g[i] == w[i]) continue;
      if (!(std::fabs(g[i] - w[i]) <= kNodeTestAtol + kNodeTestRtol * std::fabs(w[i]))) {
        if (++bad <= 5) ADD_FAILURE() << what << "[" << i << "]: got " << g[i] << ", want " << w[i];
      }
    }
    EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << g.size() << " values differ";
  } else {
    ASSERT_EQ(got.nbytes(), want.nbytes());
    EXPECT_EQ(std::memcmp(got.raw(), want.raw(), got.nbytes()), 0) << what << ": values differ";
  }
}

class NodeTest : public ::testing::Test {
 public:
  explicit NodeTest(fs::path dir) : dir_(std::move(dir)) {}
  void TestBody() override {
    auto session = Session::open((dir_ / "model.onnx").string());
    ASSERT_TRUE(session.is_ok()) << session.status().to_string();
    for (const auto& set : sorted_files(dir_, "test_data_set_")) {
      std::vector<Tensor> inputs;
      for (const auto& f : sorted_files(set, "input_")) {
        auto t = onnx_io::load_tensor_pb(f.string());
        ASSERT_TRUE(t.is_ok()) << t.status().to_string();
        inputs.push_back(t->second);
      }
      auto outputs = (*session)->run(inputs);
      ASSERT_TRUE(outputs.is_ok()) << set.filename() << ": " << outputs.status().to_string();
      auto expected = sorted_files(set, "output_");
      ASSERT_EQ(outputs->size(), expected.size());
      for (size_t i = 0; i < expected.size(); ++i) {
        auto want = onnx_io::load_tensor_pb(expected[i].string());
        ASSERT_TRUE(want.is_ok()) << want.status().to_string();
        expect_close((*outputs)[i], want->second, set.filename().string() + " output " + std::to_string(i));
      }
    }
  }

 private:
  fs::path dir_;
};

// True when every op is in scope and no tensor uses an out-of-scope element type.
bool in_scope(const fs::path& dir, std::string* why) {
  auto model = onnx_io::load_model((dir / "model.onnx").string());
  if (!model.is_ok()) {
    *why = model.status().to_string();
    return model.status().code() != StatusCode::kUnsupported;  // a loader bug must show up as a failure
  }
  for (const auto& n : model->graph.nodes) {
    if (!tested_ops().count(n.op_type) || !(n.domain.empty() || n.domain == "ai.onnx")) return false;
    if (n.op_type == "Resize") {
      const auto* mode = n.attr("mode");
      if (mode && mode->s == "cubic") return false;
    }
    if (n.op_type == "Cast" || n.op_type == "Constant")
      for (const auto& [k, a] : n.attributes)
        if ((k == "to" && out_of_scope_dtype(static_cast<DType>(a.i))) || (a.kind == ir::Attribute::Kind::kTensor && out_of_scope_dtype(a.t.dtype())))
          return false;
  }
  for (const auto& v : model->graph.inputs)
    if (out_of_scope_dtype(v.dtype)) return false;
  for (const auto& v : model->graph.outputs)
    if (out_of_scope_dtype(v.dtype)) return false;
  return true;
}

int register_node_tests() {
  fs::path root = testdata_dir();
  if (!fs::is_directory(root)) return 0;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory() && fs::exists(e.path() / "model.onnx")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  int n = 0;
  for (const auto& d : dirs) {
    std::string why;
    if (!in_scope(d, &why)) continue;
    ::testing::RegisterTest("NodeTest", d.filename().string().c_str(), nullptr, nullptr, __FILE__, __LINE__,
                            [d]() -> ::testing::Test* { return new NodeTest(d); });
    ++n;
  }
  return n;
}

const int kRegistered = register_node_tests();

// The suite must actually run: ~245 in-scope tests in Debian 12's libonnx-testdata 1.12.
constexpr int kMinNodeTests = 200;

TEST(NodeTestSuite, FindsTheInScopeTests) {
  ASSERT_TRUE(fs::is_directory(testdata_dir())) << testdata_dir() << " is missing: install libonnx-testdata";
  EXPECT_GE(kRegistered, kMinNodeTests);
}

}  // namespace
