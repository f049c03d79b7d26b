// Shared by QAT's tests: small hand-built models, the zoo's location, and row helpers.
// To add a graph-builder case, build its model with GraphBuilder in torch_graph_test.cpp.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "io/npy.h"
#include "ir/builder.h"
#include "tinyq/tensor.h"

namespace tinyq::qat::testing {

inline std::filesystem::path zoo_dir() {
  if (const char* env = std::getenv("TINYQ_SHARED_DIR"); env && *env) return std::filesystem::path(env) / "zoo";
  return std::filesystem::path(TINYQ_TEST_SHARED_DIR) / "zoo";
}

inline ir::Attribute attr_i(int64_t v) { return ir::int_attr(v); }
inline ir::Attribute attr_f(float v) { return ir::float_attr(v); }
inline ir::Attribute attr_ints(std::vector<int64_t> v) { return ir::ints_attr(std::move(v)); }
inline ir::Attribute attr_s(std::string v) { return ir::string_attr(std::move(v)); }

// Uniform values in [lo, hi) from a fixed seed.
inline Tensor random_tensor(Shape shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(DType::kFloat32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

// Builds a model node by node; dims < 0 are the symbolic batch dimension.
class GraphBuilder {
 public:
  explicit GraphBuilder(int64_t opset = 17) { m_.opset_imports[""] = opset; }
  GraphBuilder& input(const std::string& name, const std::vector<int64_t>& dims) {
    m_.graph.inputs.push_back(value(name, dims));
    return *this;
  }
  GraphBuilder& output(const std::string& name, const std::vector<int64_t>& dims) {
    m_.graph.outputs.push_back(value(name, dims));
    return *this;
  }
  GraphBuilder& init(const std::string& name, Tensor t) {
    m_.graph.initializers[name] = std::move(t);
    return *this;
  }
  GraphBuilder& node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                     std::map<std::string, ir::Attribute> attrs = {}) {
    ir::Node n = ir::make_node(op + "_" + std::to_string(m_.graph.nodes.size()), op, std::move(inputs),
                               std::move(outputs), std::move(attrs));
    n.index = static_cast<int>(m_.graph.nodes.size());
    m_.graph.nodes.push_back(std::move(n));
    return *this;
  }
  ir::Model build() const { return m_; }

 private:
  static ir::ValueInfo value(const std::string& name, const std::vector<int64_t>& dims) {
    std::vector<ir::Dim> ds;
    for (int64_t d : dims) ds.push_back(d < 0 ? ir::Dim{-1, "batch"} : ir::Dim{d, ""});
    return ir::make_value(name, DType::kFloat32, std::move(ds));
  }
  ir::Model m_;
};

// The largest |a - b| relative to the largest |b| (1 when b is all zeros).
inline double max_rel_diff(const Tensor& a, const Tensor& b) {
  double diff = 0.0, scale = 0.0;
  for (int64_t i = 0; i < b.numel(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a.data<float>()[i] - b.data<float>()[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b.data<float>()[i])));
  }
  return diff / (scale > 0.0 ? scale : 1.0);
}

// A two-layer MLP x[N,8] -> Gemm -> Relu -> Gemm -> y[N,1] whose first layer's rows span
// `decades` decades of magnitude: one weight scale per tensor then rounds the small rows to a
// few levels (or to 0), which is what static per-tensor PTQ loses and QAT can win back.
inline ir::Model spread_mlp(uint32_t seed, float decades = 3.0f) {
  constexpr int64_t kIn = 8, kHidden = 16;
  Tensor w1 = random_tensor({kHidden, kIn}, seed);
  for (int64_t r = 0; r < kHidden; ++r) {
    const float gain = std::pow(10.0f, decades * (static_cast<float>(r) / (kHidden - 1) - 1.0f));  // 10^-decades .. 1
    for (int64_t c = 0; c < kIn; ++c) w1.data<float>()[r * kIn + c] *= gain;
  }
  // The second layer undoes the gains, so every hidden unit matters to the output.
  Tensor w2 = random_tensor({1, kHidden}, seed + 1, 0.5f, 1.0f);
  for (int64_t r = 0; r < kHidden; ++r)
    w2.data<float>()[r] /= std::pow(10.0f, decades * (static_cast<float>(r) / (kHidden - 1) - 1.0f));
  return GraphBuilder()
      .input("x", {-1, kIn})
      .output("y", {-1, 1})
      .init("w1", w1)
      .init("b1", random_tensor({kHidden}, seed + 2, -0.01f, 0.01f))
      .init("w2", w2)
      .init("b2", Tensor::from_vector<float>({1}, {0.5f}))
      .node("Gemm", {"x", "w1", "b1"}, {"h"}, {{"transB", attr_i(1)}})
      .node("Relu", {"h"}, {"r"})
      .node("Gemm", {"r", "w2", "b2"}, {"y"}, {{"transB", attr_i(1)}})
      .build();
}

// A folder under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  explicit TempDir(const std::string& tag)
      : path_(std::filesystem::temp_directory_path() / ("tinyq_qat_" + tag + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline const Tensor* find_array(const io::NamedArrays& arrays, const std::string& name) {
  for (const auto& [n, t] : arrays)
    if (n == name) return &t;
  return nullptr;
}

}  // namespace tinyq::qat::testing
