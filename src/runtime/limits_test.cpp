// Session and planner resource limits (SessionOptions::limits): hostile shapes are refused with
// kLimit naming the model and the limit, at load (the batch-1 trial plan) or when a run plans new
// shapes, before the oversized tensor, fold or arena is allocated.
// To add a case: build the hostile graph with the helpers below and check the Status.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/runtime_test_util.h"
#include "tinyq/session.h"

namespace tinyq {
namespace {

constexpr const char* kName = "hostile";

using runtime_test::add_relu_model;
using runtime_test::model_of;
using runtime_test::node;
using runtime_test::value;

// y = Op(x, <initializer k>) with x fixed at `x_dims` (float32).
ir::Model unary_with_constant(const std::string& op, std::vector<ir::Dim> x_dims, Tensor k, int64_t opset = 17) {
  ir::Graph g;
  g.inputs.push_back(value("x", DType::kFloat32, std::move(x_dims)));
  g.outputs.push_back(value("y", DType::kFloat32, {}));
  g.outputs.back().has_shape = false;
  g.initializers["k"] = std::move(k);
  if (op == "Resize") g.nodes.push_back(node(op, {"x", "", "k"}, {"y"}));
  else g.nodes.push_back(node(op, {"x", "k"}, {"y"}));
  return model_of(std::move(g), opset);
}

Tensor rows(int64_t n) {
  Tensor x(DType::kFloat32, {n, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i % 7) - 3.0f;
  return x;
}

void expect_add_relu(const Tensor& x, const Tensor& y) {
  const float bias[3] = {1.0f, -2.0f, 0.5f};
  ASSERT_EQ(y.shape(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(y.data<float>()[i], std::max(0.0f, x.data<float>()[i] + bias[i % 3]));
}

// kLimit whose message names the model and the limit.
void expect_limit(const Status& st, const std::string& limit) {
  EXPECT_EQ(st.code(), StatusCode::kLimit) << st.to_string();
  EXPECT_NE(st.message().find(std::string("model '") + kName + "'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(limit), std::string::npos) << st.message();
}

Status open_status(ir::Model m, const SessionOptions& o = {}) { return Session::from_ir(std::move(m), kName, o).status(); }

TEST(SessionLimits, DefaultsAreGenerousButFinite) {
  const ResourceLimits l;
  EXPECT_GE(l.max_model_bytes, uint64_t{1} << 30);
  EXPECT_GE(l.max_tensor_elements, int64_t{1} << 28);
  EXPECT_GE(l.max_nodes, 10000);
  EXPECT_GE(l.max_session_bytes, uint64_t{1} << 30);
  EXPECT_LT(l.max_session_bytes, uint64_t{1} << 40);
}

// Resize by 1e6 along H and W of a 4x4 image: 1.6e13 elements, refused when the session opens.
TEST(SessionLimits, ResizeByAMillionIsRefusedAtLoad) {
  for (float scale : {1e6f, 1e30f}) {
    Status st = open_status(unary_with_constant("Resize", {{1, ""}, {1, ""}, {4, ""}, {4, ""}},
                                                Tensor::from_vector<float>({4}, {1.0f, 1.0f, scale, scale}), 13));
    expect_limit(st, "max_tensor_elements");
    EXPECT_NE(st.message().find("Resize"), std::string::npos) << st.message();
  }
}

TEST(SessionLimits, PadTo2To40ElementsIsRefusedAtLoad) {
  Status st = open_status(unary_with_constant("Pad", {{2, ""}}, Tensor::from_vector<int64_t>({2}, {0, int64_t{1} << 40})));
  expect_limit(st, "max_tensor_elements");
  EXPECT_NE(st.message().find("Pad"), std::string::npos) << st.message();
}

// An empty tensor reshaped to [2^40, 0] holds nothing, but kernels still walk its dimensions.
TEST(SessionLimits, ReshapeOfAnEmptyTensorToHugeDimensionsIsRefused) {
  ir::Model m = unary_with_constant("Reshape", {{0, ""}}, Tensor::from_vector<int64_t>({2}, {int64_t{1} << 40, 0}), 14);
  m.graph.nodes[0].attributes["allowzero"] = ir::int_attr(1);
  expect_limit(open_status(std::move(m)), "max_tensor_elements");
}

TEST(SessionLimits, ReshapeWhoseElementCountOverflowsInt64IsRefused) {
  Status st = open_status(
      unary_with_constant("Reshape", {{4, ""}}, Tensor::from_vector<int64_t>({3}, {int64_t{1} << 62, 4, 2})));
  expect_limit(st, "max_tensor_elements");
  EXPECT_NE(st.message().find("int64"), std::string::npos) << st.message();
}

TEST(SessionLimits, DeclaredInputShapeIsCheckedBeforeTheTrialInputIsAllocated) {
  for (const std::vector<ir::Dim>& dims :
       {std::vector<ir::Dim>{{int64_t{1} << 40, ""}}, std::vector<ir::Dim>{{int64_t{1} << 62, ""}, {8, ""}}}) {
    ir::Graph g;
    g.inputs.push_back(value("x", DType::kFloat32, dims));
    g.outputs.push_back(value("y", DType::kFloat32, dims));
    g.nodes.push_back(node("Relu", {"x"}, {"y"}));
    Status st = open_status(model_of(std::move(g)));
    expect_limit(st, "max_tensor_elements");
    EXPECT_NE(st.message().find("input 'x'"), std::string::npos) << st.message();
  }
}

TEST(SessionLimits, InputsPlannedAtRunTime) {
  SessionOptions o;
  o.limits.max_tensor_elements = 3000;
  auto s = Session::from_ir(add_relu_model(), kName, o);
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  auto over = (*s)->run(std::vector<Tensor>{rows(1001)});
  ASSERT_FALSE(over.is_ok());
  expect_limit(over.status(), "max_tensor_elements");
  EXPECT_NE(over.status().message().find("input 'x'"), std::string::npos) << over.status().message();
  const Tensor x = rows(1000);
  auto at = (*s)->run(std::vector<Tensor>{x});
  ASSERT_TRUE(at.is_ok()) << at.status().to_string();
  expect_add_relu(x, (*at)[0]);
}

// x is within the limit; Concat's output, twice as long, is not.
TEST(SessionLimits, IntermediateTensorsPlannedAtRunTime) {
  ir::Graph g;
  g.inputs.push_back(value("x", DType::kFloat32, {{-1, "N"}, {3, ""}}));
  g.outputs.push_back(value("y", DType::kFloat32, {{-1, ""}, {3, ""}}));
  ir::Node concat = node("Concat", {"x", "x"}, {"y"});
  concat.attributes["axis"] = ir::int_attr(0);
  g.nodes.push_back(concat);
  SessionOptions o;
  o.limits.max_tensor_elements = 3000;
  auto s = Session::from_ir(model_of(std::move(g)), kName, o);
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  auto over = (*s)->run(std::vector<Tensor>{rows(600)});
  ASSERT_FALSE(over.is_ok());
  expect_limit(over.status(), "max_tensor_elements");
  EXPECT_NE(over.status().message().find("Concat"), std::string::npos) << over.status().message();
  EXPECT_TRUE((*s)->run(std::vector<Tensor>{rows(500)}).is_ok());
}

TEST(SessionLimits, NodeCount) {
  SessionOptions o;
  o.limits.max_nodes = 1;
  expect_limit(open_status(add_relu_model(), o), "max_nodes");
  o.limits.max_nodes = 2;
  EXPECT_TRUE(open_status(add_relu_model(), o).is_ok());
}

TEST(SessionLimits, InitializerBytes) {
  SessionOptions o;
  o.limits.max_session_bytes = 11;  // the bias is 12 bytes
  expect_limit(open_status(add_relu_model(), o), "max_session_bytes");
}

// Each run's arena counts: a batch whose plan would not fit is refused, smaller batches still run.
TEST(SessionLimits, ArenaBytes) {
  SessionOptions o;
  o.limits.max_session_bytes = 64 << 10;
  auto s = Session::from_ir(add_relu_model(), kName, o);
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  auto over = (*s)->run(std::vector<Tensor>{rows(10000)});  // two live [10000,3] floats: 240 KB
  ASSERT_FALSE(over.is_ok());
  expect_limit(over.status(), "max_session_bytes");
  const Tensor x = rows(5);
  auto small = (*s)->run(std::vector<Tensor>{x});
  ASSERT_TRUE(small.is_ok()) << small.status().to_string();
  expect_add_relu(x, (*small)[0]);
}

// Two plans that fit the cap one at a time but not together: the older is dropped, both run.
TEST(SessionLimits, CachedPlansMakeRoomForANewOne) {
  SessionOptions o;
  o.limits.max_session_bytes = 80 << 10;  // arenas: [2000,3] ~48 KB, [2500,3] ~60 KB
  auto s = Session::from_ir(add_relu_model(), kName, o);
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  for (int64_t n : {2000, 2500, 2000}) {
    const Tensor x = rows(n);
    auto y = (*s)->run(std::vector<Tensor>{x});
    ASSERT_TRUE(y.is_ok()) << "batch " << n << ": " << y.status().to_string();
    expect_add_relu(x, (*y)[0]);
  }
}

// A constant folded at plan time counts too: Pad of a 1000-float initializer to 101000 floats.
TEST(SessionLimits, FoldedConstantBytes) {
  ir::Graph g;
  g.outputs.push_back(value("y", DType::kFloat32, {{101000, ""}}));
  g.initializers["c"] = Tensor(DType::kFloat32, {1000});
  g.initializers["pads"] = Tensor::from_vector<int64_t>({2}, {0, 100000});
  g.nodes.push_back(node("Pad", {"c", "pads"}, {"y"}));
  SessionOptions o;
  o.limits.max_session_bytes = 200 << 10;
  Status st = open_status(model_of(g), o);
  expect_limit(st, "max_session_bytes");
  EXPECT_NE(st.message().find("folding"), std::string::npos) << st.message();
  o.limits.max_session_bytes = 1 << 20;
  EXPECT_TRUE(open_status(model_of(std::move(g)), o).is_ok());
}

}  // namespace
}  // namespace tinyq
