#include "tinyq/session.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <thread>

#include "ir/graph.h"
#include "kernels/testing.h"
#include "runtime/runtime_test_util.h"

// Counts heap allocations made while g_count_allocations is set (this test binary only).
// Every replaceable form is replaced, so each block is allocated and freed by the same pair
// (malloc/free): a partial set lets a runtime that supplies its own forms (AddressSanitizer's
// nothrow and array new) hand memory to this free, an alloc-dealloc mismatch.
static std::atomic<bool> g_count_allocations{false};
static std::atomic<long> g_allocations{0};
void* operator new(size_t n) {
  if (g_count_allocations) ++g_allocations;
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  if (g_count_allocations) ++g_allocations;
  return std::malloc(n ? n : 1);
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void* operator new(size_t n, std::align_val_t a) {
  if (g_count_allocations) ++g_allocations;
  const size_t align = static_cast<size_t>(a);
  void* p = std::aligned_alloc(align, ((n ? n : 1) + align - 1) / align * align);
  if (!p) throw std::bad_alloc();
  return p;
}
void* operator new[](size_t n, std::align_val_t a) { return operator new(n, a); }
void* operator new(size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try { return operator new(n, a); } catch (...) { return nullptr; }
}
void* operator new[](size_t n, std::align_val_t a, const std::nothrow_t& t) noexcept { return operator new(n, a, t); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace tinyq {
namespace {

using runtime_test::add_relu_model;
using runtime_test::model_of;
using runtime_test::node;
using runtime_test::value;

TEST(Session, RunsAtEveryBatchSize) {
  auto s = Session::from_ir(add_relu_model(), "add_relu");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  for (int64_t n : {1, 3, 1, 7}) {
    Tensor x(DType::kFloat32, {n, 3});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i) - 4.0f;
    auto out = (*s)->run(std::vector<Tensor>{x});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    ASSERT_EQ((*out)[0].shape(), (Shape{n, 3}));
    const float bias[3] = {1.0f, -2.0f, 0.5f};
    for (int64_t i = 0; i < x.numel(); ++i)
      EXPECT_EQ((*out)[0].data<float>()[i], std::max(0.0f, x.data<float>()[i] + bias[i % 3]));
  }
}

TEST(Session, RunIntoAllocatesNothingInSteadyState) {
  auto s = Session::from_ir(add_relu_model(), "add_relu");
  ASSERT_TRUE(s.is_ok());
  Tensor x(DType::kFloat32, {4, 3});
  std::vector<TensorView> in{TensorView::of(x)};
  auto out = (*s)->allocate_outputs(in);
  ASSERT_TRUE(out.is_ok());
  ASSERT_TRUE((*s)->run_into(in, *out).is_ok());
  g_allocations = 0;
  g_count_allocations = true;
  for (int i = 0; i < 100; ++i) {
    x.data<float>()[0] = static_cast<float>(i);
    Status st = (*s)->run_into(in, *out);
    if (!st.is_ok()) break;
  }
  g_count_allocations = false;
  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_EQ((*out)[0].data<float>()[0], 100.0f);  // 99 + 1
}

TEST(Session, InputErrorsNameTheInput) {
  auto s = Session::from_ir(add_relu_model(), "add_relu");
  ASSERT_TRUE(s.is_ok());
  auto wrong_shape = (*s)->run(std::vector<Tensor>{Tensor(DType::kFloat32, {2, 4})});
  ASSERT_FALSE(wrong_shape.is_ok());
  EXPECT_EQ(wrong_shape.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_shape.status().message().find("'x'"), std::string::npos);
  EXPECT_NE(wrong_shape.status().message().find("[2,4]"), std::string::npos);
  auto wrong_type = (*s)->run(std::vector<Tensor>{Tensor(DType::kInt64, {2, 3})});
  ASSERT_FALSE(wrong_type.is_ok());
  EXPECT_NE(wrong_type.status().message().find("int64"), std::string::npos);
  auto wrong_count = (*s)->run(std::vector<Tensor>{});
  ASSERT_FALSE(wrong_count.is_ok());
}

TEST(Session, UnknownOpIsALoadTimeErrorNamingTheNode) {
  ir::Graph g;
  g.inputs.push_back(value("x", DType::kFloat32, {{2, ""}}));
  g.outputs.push_back(value("y", DType::kFloat32, {{2, ""}}));
  g.nodes.push_back(node("NoSuchOp", {"x"}, {"y"}));
  auto s = Session::from_ir(model_of(std::move(g)), "m");
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(s.status().message().find("NoSuchOp"), std::string::npos);
}

TEST(Session, UnknownAttributeIsALoadTimeError) {
  ir::Graph g;
  g.inputs.push_back(value("x", DType::kFloat32, {{-1, "N"}, {2, ""}}));
  g.outputs.push_back(value("y", DType::kFloat32, {{-1, "N"}, {2, ""}}));
  ir::Node n = node("Identity", {"x"}, {"y"});
  n.attributes["bogus"] = ir::int_attr(0);
  g.nodes.push_back(n);
  auto s = Session::from_ir(model_of(std::move(g)), "m");
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("bogus"), std::string::npos);
}

// y = Reshape(x, shape) where shape is a graph input: its value fixes the plan.
TEST(Session, ShapeInputsFromTheGraphArePlannedOnTheirValues) {
  ir::Graph g;
  g.inputs.push_back(value("x", DType::kFloat32, {{2, ""}, {3, ""}}));
  g.inputs.push_back(value("shape", DType::kInt64, {{2, ""}}));
  g.outputs.push_back(value("y", DType::kFloat32, {}));
  g.outputs.back().has_shape = false;
  g.nodes.push_back(node("Reshape", {"x", "shape"}, {"y"}));
  auto s = Session::from_ir(model_of(std::move(g)), "m");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  Tensor x(DType::kFloat32, {2, 3});
  for (const auto& [shape, want] : std::vector<std::pair<std::vector<int64_t>, Shape>>{{{3, 2}, {3, 2}}, {{1, -1}, {1, 6}}}) {
    auto out = (*s)->run(std::vector<Tensor>{x, Tensor::from_vector<int64_t>({2}, shape)});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    EXPECT_EQ((*out)[0].shape(), want);
  }
}

// resident_weight_bytes counts the initializers and the copies the kernels keep besides: a Gemm
// with a constant B packs it at plan time, a 3x3 Conv packs its weights and bias.
TEST(Session, ResidentWeightsCountTheKernelsPackedCopies) {
  ir::Graph g;
  g.inputs.push_back(value("x", DType::kFloat32, {{1, ""}, {2, ""}, {6, ""}, {6, ""}}));
  g.inputs.push_back(value("a", DType::kFloat32, {{3, ""}, {40, ""}}));
  g.outputs.push_back(value("y", DType::kFloat32, {{1, ""}, {4, ""}, {6, ""}, {6, ""}}));
  g.outputs.push_back(value("z", DType::kFloat32, {{3, ""}, {24, ""}}));
  std::vector<float> w(4 * 2 * 3 * 3, 0.5f), b(4, 1.0f), gb(40 * 24, 0.25f);
  g.initializers["w"] = Tensor::from_vector<float>({4, 2, 3, 3}, w);
  g.initializers["b"] = Tensor::from_vector<float>({4}, b);
  g.initializers["gb"] = Tensor::from_vector<float>({40, 24}, gb);
  ir::Node conv = node("Conv", {"x", "w", "b"}, {"y"});
  conv.attributes["pads"] = kernels::testing::attr_ints({1, 1, 1, 1});
  g.nodes.push_back(conv);
  g.nodes.push_back(node("Gemm", {"a", "gb"}, {"z"}));
  auto s = Session::from_ir(model_of(std::move(g)), "m");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  const size_t initializers = sizeof(float) * (w.size() + b.size() + gb.size());
  // Packed copies hold at least every weight and bias again.
  EXPECT_GE((*s)->resident_weight_bytes(), 2 * initializers);
  SessionOptions reference;
  reference.reference_kernels = true;
  auto ref = Session::from_ir(model_of([&] {
    ir::Graph h;
    h.inputs.push_back(value("a", DType::kFloat32, {{3, ""}, {40, ""}}));
    h.outputs.push_back(value("z", DType::kFloat32, {{3, ""}, {24, ""}}));
    h.initializers["gb"] = Tensor::from_vector<float>({40, 24}, gb);
    h.nodes.push_back(node("Gemm", {"a", "gb"}, {"z"}));
    return h;
  }()), "gemm", reference);
  ASSERT_TRUE(ref.is_ok()) << ref.status().to_string();
  // The reference kernels keep no copies.
  EXPECT_EQ((*ref)->resident_weight_bytes(), sizeof(float) * gb.size());
}

// Shape -> Concat -> Reshape (as nr_metric_v1 does): folded at plan time, so the image data
// never becomes part of the plan key and runs stay allocation-free.
TEST(Session, ShapeOfAnInputFoldsWithoutKeyingOnItsValues) {
  ir::Graph g;
  g.inputs.push_back(value("x", DType::kFloat32, {{-1, "batch"}, {2, ""}, {2, ""}}));
  g.outputs.push_back(value("y", DType::kFloat32, {{-1, "batch"}, {4, ""}}));
  g.initializers["minus_one"] = Tensor::from_vector<int64_t>({1}, {-1});
  ir::Node shape = node("Shape", {"x"}, {"dims"});
  shape.attributes["end"] = ir::int_attr(1);
  g.nodes.push_back(shape);
  ir::Node concat = node("Concat", {"dims", "minus_one"}, {"target"});
  concat.attributes["axis"] = ir::int_attr(0);
  g.nodes.push_back(concat);
  g.nodes.push_back(node("Reshape", {"x", "target"}, {"y"}));
  ir::Model m = model_of(std::move(g));
  auto s = Session::from_ir(std::move(m), "m");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  Tensor x(DType::kFloat32, {3, 2, 2});
  std::vector<TensorView> in{TensorView::of(x)};
  auto out = (*s)->allocate_outputs(in);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ((*out)[0].shape(), (Shape{3, 4}));
  ASSERT_TRUE((*s)->run_into(in, *out).is_ok());
  g_allocations = 0;
  g_count_allocations = true;
  for (int i = 0; i < 10; ++i) {
    x.data<float>()[i] = static_cast<float>(i + 1);
    (void)(*s)->run_into(in, *out);
  }
  g_count_allocations = false;
  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_EQ((*out)[0].data<float>()[9], 10.0f);
}

// One session, 8 threads x 200 runs, each call with its own buffers and its own data: every
// result equals the single-threaded one bit for bit.
void expect_concurrent_runs_match(Session& s, const std::vector<std::vector<Tensor>>& inputs_per_thread) {
  constexpr int kThreads = 8;
  constexpr int kRunsPerThread = 200;
  std::vector<std::vector<Tensor>> expected;
  for (const auto& in : inputs_per_thread) {
    auto out = s.run(in);
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    expected.push_back(std::move(out).value());
  }
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      const auto& in = inputs_per_thread[t % inputs_per_thread.size()];
      const auto& want = expected[t % inputs_per_thread.size()];
      std::vector<TensorView> views;
      for (const auto& x : in) views.push_back(TensorView::of(x));
      auto out = s.allocate_outputs(views);
      if (!out.is_ok()) { ++failures; return; }
      for (int r = 0; r < kRunsPerThread; ++r) {
        if (!s.run_into(views, *out).is_ok()) { ++failures; return; }
        for (size_t o = 0; o < want.size(); ++o)
          if (std::memcmp((*out)[o].raw(), want[o].raw(), want[o].nbytes()) != 0) ++mismatches;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Session, ConcurrentRunsMatchSingleThreaded) {
  auto s = Session::from_ir(add_relu_model(), "add_relu");
  ASSERT_TRUE(s.is_ok());
  std::vector<std::vector<Tensor>> inputs;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  for (int t = 0; t < 8; ++t) {
    Tensor x(DType::kFloat32, {1 + t % 3, 3});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = dist(rng);
    inputs.push_back({x});
  }
  expect_concurrent_runs_match(**s, inputs);
}

TEST(Session, ConcurrentRunsOfARealConvModelMatch) {
  auto s = Session::open(std::string(TINYQ_SOURCE_DIR) + "/models/nr_metric_v1.onnx");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  std::vector<std::vector<Tensor>> inputs;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  for (int t = 0; t < 4; ++t) {
    Tensor x(DType::kFloat32, {1, 1, 224, 224});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = dist(rng);
    inputs.push_back({x});
  }
  expect_concurrent_runs_match(**s, inputs);
}

}  // namespace
}  // namespace tinyq
