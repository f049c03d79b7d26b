#include <gtest/gtest.h>

#include "kernels/linalg_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace linalg_test;
using testing::attr_float;
using testing::attr_int;

OpCall gemm(Tensor a, Tensor b, Tensor c = {}) {
  OpCall call{.op_type = "Gemm", .inputs = {std::move(a), std::move(b)}};
  if (!c.empty()) call.inputs.push_back(std::move(c));
  return call;
}

OpCall matmul(Tensor a, Tensor b) { return OpCall{.op_type = "MatMul", .inputs = {std::move(a), std::move(b)}}; }

std::vector<OpCall> variants(const OpCall& c) {
  OpCall ref = c;
  ref.impl = KernelImpl::kReference;
  OpCall runtime = c;
  runtime.constant_inputs = {false, false, false};
  return {c, ref, runtime};
}

TEST(Gemm, AllAttributes) {
  // A^T = [[0,1,2],[3,4,5]] (A is 3x2), B^T = [[1,0],[0,1],[1,1]] (B is 2x3... transposed to 3x2),
  // alpha 2, beta 0.5, C = [10, 20].
  OpCall c = gemm(floats({3, 2}, {0, 3, 1, 4, 2, 5}), floats({2, 3}, {1, 0, 1, 0, 1, 1}), floats({2}, {10, 20}));
  c.attributes["transA"] = attr_int(1);
  c.attributes["transB"] = attr_int(1);
  c.attributes["alpha"] = attr_float(2.0f);
  c.attributes["beta"] = attr_float(0.5f);
  // op(A) op(B) = [[0+2, 1+2], [3+5, 4+5]] = [[2,3],[8,9]]; *2 + [5,10].
  for (const OpCall& v : variants(c)) {
    Tensor y = run1(v);
    EXPECT_EQ(y.shape(), (Shape{2, 2}));
    EXPECT_EQ(values(y), (std::vector<float>{9, 16, 21, 28}));
  }
}

TEST(Gemm, BiasShapes) {
  const Tensor a = floats({2, 2}, {1, 2, 3, 4});
  const Tensor b = floats({2, 2}, {1, 0, 0, 1});  // identity
  EXPECT_EQ(values(run1(gemm(a, b))), (std::vector<float>{1, 2, 3, 4}));
  for (const OpCall& v : variants(gemm(a, b, floats({}, {1}))))
    EXPECT_EQ(values(run1(v)), (std::vector<float>{2, 3, 4, 5}));
  for (const OpCall& v : variants(gemm(a, b, floats({2, 1}, {10, 20}))))
    EXPECT_EQ(values(run1(v)), (std::vector<float>{11, 12, 23, 24}));
  for (const OpCall& v : variants(gemm(a, b, floats({2, 2}, {1, 2, 3, 4}))))
    EXPECT_EQ(values(run1(v)), (std::vector<float>{2, 4, 6, 8}));
}

TEST(Gemm, FusedOutputClamp) {
  // Clamped after C is added: [[2,4],[6,8]] into [3, 7].
  OpCall c = gemm(floats({2, 2}, {1, 2, 3, 4}), floats({2, 2}, {1, 0, 0, 1}), floats({2, 2}, {1, 2, 3, 4}));
  for (const OpCall& v : variants(c)) EXPECT_EQ(values(run_clamped(v, 3.0f, 7.0f)), (std::vector<float>{3, 4, 6, 7}));
  std::mt19937 rng(4);
  for (int64_t m : {1, 5, 100}) {
    OpCall r = gemm(random_floats({m, 16}, rng), random_floats({16, 24}, rng), random_floats({24}, rng));
    expect_fast_matches_reference(r, "relu-clamped M" + std::to_string(m), 0.0f);
    r.constant_inputs = {false, false, false};
    expect_fast_matches_reference(r, "relu-clamped runtime B/C M" + std::to_string(m), 0.0f);
  }
  OpCall mm = matmul(random_floats({2, 7, 9}, rng), random_floats({9, 5}, rng));
  expect_fast_matches_reference(mm, "clamped MatMul", -0.25f, 0.25f);
  EXPECT_EQ(values(run_clamped(matmul(floats({1, 2}, {1, 2}), floats({2, 2}, {1, -1, 3, -4})), -5.0f, 5.0f)),
            (std::vector<float>{5, -5}));
}

TEST(Gemm, NanPropagates) {
  // No clamp is applied unless fused, so NaN flows through the fast kernel as through the reference.
  for (int64_t m : {1, 7, 200}) {
    Tensor a = iota({m, 3});
    a.data<float>()[1] = std::nanf("");
    Tensor y = run1(gemm(a, iota({3, 4}), iota({4})));
    for (int64_t j = 0; j < 4; ++j) EXPECT_TRUE(std::isnan(y.data<float>()[j])) << "M " << m << " column " << j;
    for (int64_t i = 4; i < y.numel(); ++i) EXPECT_FALSE(std::isnan(y.data<float>()[i])) << "M " << m << " at " << i;
  }
}

TEST(Gemm, RejectsBadNodes) {
  EXPECT_EQ(run_error(gemm(iota({2, 3}), iota({2, 3}))).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(gemm(iota({2, 3}), iota({3, 2}), iota({3}))).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(gemm(iota({2, 3, 1}), iota({3, 2}))).code(), StatusCode::kInvalidArgument);
  OpCall old = gemm(iota({2, 3}), iota({3, 2}));
  old.opset = 9;  // C was required before opset 11
  EXPECT_EQ(run_error(old).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(gemm(Tensor(DType::kFloat64, {2, 2}), Tensor(DType::kFloat64, {2, 2}))).code(),
            StatusCode::kUnsupported);
}

TEST(Gemm, FastMatchesReference) {
  std::mt19937 rng(11);
  int count = 0;
  for (int64_t m : {1, 2, 3, 5, 7, 64, 129, 300})
    for (int64_t k : {1, 3, 6, 17, 64})
      for (int64_t n : {1, 5, 8, 16, 17, 33, 64}) {
        ++count;
        const bool ta = count % 3 == 0, tb = count % 2 == 0;
        const int c_kind = count % 7;  // none, [], [1], [N], [1,N], [M,1], [M,N]
        Tensor c;
        if (c_kind == 1) c = random_floats({}, rng);
        if (c_kind == 2) c = random_floats({1}, rng);
        if (c_kind == 3) c = random_floats({n}, rng);
        if (c_kind == 4) c = random_floats({1, n}, rng);
        if (c_kind == 5) c = random_floats({m, 1}, rng);
        if (c_kind == 6) c = random_floats({m, n}, rng);
        OpCall call = gemm(random_floats(ta ? Shape{k, m} : Shape{m, k}, rng),
                           random_floats(tb ? Shape{n, k} : Shape{k, n}, rng), c);
        call.attributes["transA"] = attr_int(ta);
        call.attributes["transB"] = attr_int(tb);
        call.attributes["alpha"] = attr_float(count % 4 == 0 ? -0.75f : 1.0f);
        call.attributes["beta"] = attr_float(count % 5 == 0 ? 0.5f : 1.0f);
        const std::string what = "M" + std::to_string(m) + " K" + std::to_string(k) + " N" + std::to_string(n) +
                                 (ta ? " tA" : "") + (tb ? " tB" : "") + " C" + std::to_string(c_kind);
        expect_fast_matches_reference(call, what);
        call.constant_inputs = {false, count % 2 == 0, false};
        expect_fast_matches_reference(call, what + " runtime B/C");
      }
}

TEST(MatMul, VectorsAndBatches) {
  // [1,2] . [3,4] = 11 (both 1-D: a scalar).
  Tensor dot = run1(matmul(floats({2}, {1, 2}), floats({2}, {3, 4})));
  EXPECT_EQ(dot.shape(), Shape{});
  EXPECT_EQ(values(dot), (std::vector<float>{11}));
  // 1-D A: [1,1] x [[1,2],[3,4]] = [4,6]; 1-D B: [[1,2],[3,4]] x [1,1] = [3,7].
  EXPECT_EQ(values(run1(matmul(floats({2}, {1, 1}), floats({2, 2}, {1, 2, 3, 4})))), (std::vector<float>{4, 6}));
  EXPECT_EQ(values(run1(matmul(floats({2, 2}, {1, 2, 3, 4}), floats({2}, {1, 1})))), (std::vector<float>{3, 7}));
  // A [2,1,2] against B [2,1]: batch of two 1x2 rows times one column.
  OpCall batched = matmul(floats({2, 1, 2}, {1, 2, 3, 4}), floats({2, 1}, {10, 1}));
  for (const OpCall& v : variants(batched)) {
    Tensor y = run1(v);
    EXPECT_EQ(y.shape(), (Shape{2, 1, 1}));
    EXPECT_EQ(values(y), (std::vector<float>{12, 34}));
  }
  OpCall ints = matmul(Tensor::from_vector<int64_t>({1, 2}, {2, 3}), Tensor::from_vector<int64_t>({2, 1}, {4, 5}));
  EXPECT_EQ(values<int64_t>(run1(ints)), (std::vector<int64_t>{23}));
}

TEST(MatMul, RejectsBadNodes) {
  EXPECT_EQ(run_error(matmul(iota({2, 3}), iota({2, 3}))).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(matmul(iota({2, 2, 3}), iota({3, 3, 1}))).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(matmul(iota({2}), Tensor(DType::kInt32, {2}))).code(), StatusCode::kInvalidArgument);
}

TEST(MatMul, FastMatchesReference) {
  std::mt19937 rng(5);
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{1, 6}, {6, 64}},          {{4096, 6}, {6, 64}},       {{7, 17}, {17, 33}},     {{3, 5, 8}, {8, 9}},
      {{2, 3, 4}, {2, 4, 5}},     {{2, 1, 3, 4}, {3, 4, 2}},  {{5}, {5, 3}},           {{2, 5, 7}, {7}},
      {{1, 2, 70, 4}, {2, 1, 4, 3}}, {{100, 64}, {64, 1}},    {{3, 1, 9}, {1, 9, 20}},
  };
  for (const auto& [as, bs] : shapes) {
    OpCall call = matmul(random_floats(as, rng), random_floats(bs, rng));
    const std::string what = shape_str(as) + " x " + shape_str(bs);
    expect_fast_matches_reference(call, what);
    call.constant_inputs = {false, false};
    expect_fast_matches_reference(call, what + " runtime B");
  }
}

}  // namespace
}  // namespace tinyq::kernels
