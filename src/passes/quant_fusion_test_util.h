// Shared by the quant_fusion tests: graph builders, random int8 weights, and the check that a
// fused session gives bit-identical outputs to the unfused graph (and to the reference kernels).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "ir/builder.h"
#include "tinyq/session.h"

namespace tinyq::passes::fusion_test {

inline constexpr uint32_t kSeed = 4242;

// A node named "<first output>_node".
inline ir::Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
              std::map<std::string, ir::Attribute> attrs = {}) {
  const std::string name = out[0] + "_node";  // before `out` is moved from
  return ir::make_node(name, op, std::move(in), std::move(out), std::move(attrs));
}

inline ir::Attribute ints(std::vector<int64_t> v) { return ir::ints_attr(std::move(v)); }
inline ir::Attribute integer(int64_t v) { return ir::int_attr(v); }

inline ir::ValueInfo value(const std::string& name, DType t, std::vector<int64_t> dims) {
  return ir::make_value(name, t, ir::fixed_dims(dims));
}

inline ir::Model model_of(ir::Graph g, int64_t opset = 17) { return ir::make_model(std::move(g), opset); }

inline int count_op(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node.op_type == op;
  return n;
}

inline std::vector<int8_t> random_weights(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> any(-128, 127);
  std::vector<int8_t> w(n);
  for (auto& v : w) v = static_cast<int8_t>(any(rng));
  return w;
}

inline Tensor random_floats(std::mt19937& rng, Shape shape, float lo, float hi) {
  Tensor t(DType::kFloat32, std::move(shape));
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

// Runs the model fused (default options) and unfused (graph_passes off), both with the fast
// kernels, and (with_reference) with the reference kernels; all must agree bit for bit. Models
// with reductions skip the reference run: fast and reference ReduceMean may sum in other orders.
inline void expect_fused_equals_unfused(const ir::Model& m, const std::vector<Tensor>& inputs, const std::string& what,
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

}  // namespace tinyq::passes::fusion_test
