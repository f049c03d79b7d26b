// Add/Sub/Mul/Div/Pow: hand-checked values, every broadcasting shape class, integer wrap and
// division edge cases, Pow's mixed types, and the fast plan against the reference walk.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/broadcast.h"
#include "kernels/elementwise_test_util.h"
#include "kernels/testing.h"

namespace tinyq::kernels {
namespace {

using testing::OpCall;
using testing::run_op;

// Add/Sub/Mul/Div run the same IEEE operation per element in both kernels: results must be equal.
constexpr float kExactTolerance = 0.0f;
// std::pow in float against a hand value given to 8 digits.
constexpr float kPowHandTolerance = 1e-6f;

const KernelImpl kImpls[] = {KernelImpl::kReference, KernelImpl::kFast};
const char* impl_name(KernelImpl i) { return i == KernelImpl::kFast ? "fast" : "reference"; }

Result<Tensor> binary(const std::string& op, Tensor a, Tensor b, KernelImpl impl) {
  OpCall c;
  c.op_type = op;
  c.inputs = {std::move(a), std::move(b)};
  c.impl = impl;
  TINYQ_ASSIGN_OR_RETURN(std::vector<Tensor> out, run_op(c));
  return out[0];
}

std::vector<float> floats(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

Tensor f32(Shape shape, std::vector<float> v) { return Tensor::from_vector(std::move(shape), v); }

// Runs op on (a, b) in both modes and checks shape and values.
void expect_binary(const std::string& op, const Tensor& a, const Tensor& b, const Shape& want_shape,
                   const std::vector<float>& want, float tol) {
  for (KernelImpl impl : kImpls) {
    auto r = binary(op, a, b, impl);
    ASSERT_TRUE(r.is_ok()) << op << " " << impl_name(impl) << ": " << r.status().to_string();
    EXPECT_EQ(r->shape(), want_shape) << op << " " << impl_name(impl);
    const std::vector<float> got = floats(*r);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_NEAR(got[i], want[i], tol) << op << " " << impl_name(impl) << " [" << i << "]";
  }
}

TEST(BinaryTest, HandCheckedSameShape) {
  const Tensor a = f32({2, 2}, {1.5f, -2.0f, 3.0f, 0.0f});
  const Tensor b = f32({2, 2}, {0.5f, 4.0f, -1.5f, 2.0f});
  expect_binary("Add", a, b, {2, 2}, {2.0f, 2.0f, 1.5f, 2.0f}, kExactTolerance);
  expect_binary("Sub", a, b, {2, 2}, {1.0f, -6.0f, 4.5f, -2.0f}, kExactTolerance);
  expect_binary("Mul", a, b, {2, 2}, {0.75f, -8.0f, -4.5f, 0.0f}, kExactTolerance);
  expect_binary("Div", a, b, {2, 2}, {3.0f, -0.5f, -2.0f, 0.0f}, kExactTolerance);
  expect_binary("Pow", f32({3}, {2.0f, 9.0f, 2.0f}), f32({3}, {3.0f, 0.5f, -1.0f}), {3}, {8.0f, 3.0f, 0.5f},
                kPowHandTolerance);
}

TEST(BinaryTest, BroadcastScalar) {
  const Tensor m = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor s = f32({}, {10});
  expect_binary("Sub", m, s, {2, 3}, {-9, -8, -7, -6, -5, -4}, kExactTolerance);
  expect_binary("Sub", s, m, {2, 3}, {9, 8, 7, 6, 5, 4}, kExactTolerance);
  expect_binary("Div", s, f32({1}, {4}), {1}, {2.5f}, kExactTolerance);
}

TEST(BinaryTest, BroadcastRowAndColumn) {
  const Tensor m = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_binary("Add", m, f32({3}, {10, 20, 30}), {2, 3}, {11, 22, 33, 14, 25, 36}, kExactTolerance);
  expect_binary("Mul", f32({2, 1}, {2, -1}), m, {2, 3}, {2, 4, 6, -4, -5, -6}, kExactTolerance);
  expect_binary("Sub", m, f32({1, 3}, {1, 1, 1}), {2, 3}, {0, 1, 2, 3, 4, 5}, kExactTolerance);
}

TEST(BinaryTest, BroadcastBothSidesAndRankExpanding) {
  // [3,1] + [1,4] -> [3,4]: out[i][j] = a[i] + b[j].
  expect_binary("Add", f32({3, 1}, {0, 10, 20}), f32({1, 4}, {1, 2, 3, 4}), {3, 4},
                {1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24}, kExactTolerance);
  // [2,1,3] * [4,1] -> [2,4,3]: out[i][j][k] = a[i][0][k] * b[j][0].
  std::vector<float> av = {1, 2, 3, 4, 5, 6}, bv = {1, 10, 100, 1000}, want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 3; ++k) want.push_back(av[i * 3 + k] * bv[j]);
  expect_binary("Mul", f32({2, 1, 3}, av), f32({4, 1}, bv), {2, 4, 3}, want, kExactTolerance);
  // Size-1 dims everywhere: [1,1,1] + [1] -> [1,1,1].
  expect_binary("Add", f32({1, 1, 1}, {2}), f32({1}, {3}), {1, 1, 1}, {5}, kExactTolerance);
}

TEST(BinaryTest, BroadcastEmptyAndIncompatible) {
  expect_binary("Add", f32({0, 3}, {}), f32({3}, {1, 2, 3}), {0, 3}, {}, kExactTolerance);
  auto r = binary("Add", f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({2}, {1, 2}), KernelImpl::kFast);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("[2,3]"), std::string::npos) << r.status().message();
  r = binary("Add", f32({1}, {1}), Tensor::from_vector<int32_t>({1}, {1}), KernelImpl::kFast);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  r = binary("Add", Tensor::from_vector<uint32_t>({1}, {1}), Tensor::from_vector<uint32_t>({1}, {1}),
             KernelImpl::kFast);
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

// The coalesced plan for the shape classes the fast paths are built around.
TEST(BinaryTest, PlanCoalescesDims) {
  ir::Node node;
  PrepareContext ctx(node, 18, KernelImpl::kFast, {});
  auto same = make_broadcast_plan(ctx, {4, 5, 6}, {4, 5, 6}, {4, 5, 6});
  ASSERT_TRUE(same.is_ok());
  EXPECT_EQ(same->rank, 1);
  EXPECT_EQ(same->dims[0], 120);
  auto bias = make_broadcast_plan(ctx, {4096, 64}, {64}, {4096, 64});
  ASSERT_TRUE(bias.is_ok());
  ASSERT_EQ(bias->rank, 2);
  EXPECT_EQ(bias->dims[1], 64);
  EXPECT_EQ(bias->stride_b[0], 0);
  EXPECT_EQ(bias->stride_b[1], 1);
  auto scalar = make_broadcast_plan(ctx, {}, {2, 1, 3}, {2, 1, 3});
  ASSERT_TRUE(scalar.is_ok());
  ASSERT_EQ(scalar->rank, 1);
  EXPECT_EQ(scalar->stride_a[0], 0);
}

TEST(BinaryTest, FastMatchesReferenceOnRandomBroadcasts) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> rank_dist(0, 4), dim_dist(1, 9), coin(0, 2);
  std::uniform_real_distribution<float> val(-4.0f, 4.0f);
  const char* ops[] = {"Add", "Sub", "Mul", "Div", "Pow"};
  for (int trial = 0; trial < 300; ++trial) {
    // A random output shape; each input keeps, drops (size 1) or truncates (lower rank) dims.
    const int rank = rank_dist(rng);
    Shape out(rank);
    for (int64_t& d : out) d = dim_dist(rng);
    if (rank > 0 && trial % 5 == 0) out.back() += 60;  // inner rows longer than any vector width
    auto make_input = [&]() {
      const int keep = rank - std::uniform_int_distribution<int>(0, rank)(rng);
      Shape s(out.end() - keep, out.end());
      for (int64_t& d : s)
        if (coin(rng) == 0) d = 1;
      std::vector<float> v(static_cast<size_t>(shape_numel(s)));
      for (float& x : v) x = val(rng);
      return f32(s, v);
    };
    const Tensor a = make_input(), b = make_input();
    for (const char* op : ops) {
      auto ref = binary(op, a, b, KernelImpl::kReference);
      auto fast = binary(op, a, b, KernelImpl::kFast);
      ASSERT_TRUE(ref.is_ok() && fast.is_ok()) << op << " " << shape_str(a.shape()) << shape_str(b.shape());
      ASSERT_EQ(ref->shape(), fast->shape());
      const std::vector<float> r = floats(*ref), f = floats(*fast);
      for (size_t i = 0; i < r.size(); ++i) {
        if (std::isnan(r[i])) {
          EXPECT_TRUE(std::isnan(f[i]));
        } else {
          ASSERT_EQ(f[i], r[i]) << op << " " << shape_str(a.shape()) << " with " << shape_str(b.shape())
                                << " [" << i << "]";
        }
      }
    }
  }
}

TEST(BinaryTest, LargeBiasAndGeluShapes) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> val(-3.0f, 3.0f);
  std::vector<float> xv(4096 * 64), bv(64);
  for (float& v : xv) v = val(rng);
  for (float& v : bv) v = val(rng);
  const Tensor x = f32({4096, 64}, xv), b = f32({64}, bv), s = f32({}, {1.41421354f});
  testing::for_each_simd_target([&] {
    for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
      for (const Tensor* rhs : {&b, &s, &x}) {
        auto ref = binary(op, x, *rhs, KernelImpl::kReference);
        auto fast = binary(op, x, *rhs, KernelImpl::kFast);
        ASSERT_TRUE(ref.is_ok() && fast.is_ok());
        EXPECT_EQ(floats(*ref), floats(*fast)) << op << " with " << shape_str(rhs->shape());
      }
    }
  });
}

TEST(BinaryTest, IntegerWrapAndDivision) {
  for (KernelImpl impl : kImpls) {
    auto u8 = [](std::vector<uint8_t> v) { return Tensor::from_vector<uint8_t>({static_cast<int64_t>(v.size())}, v); };
    auto add = binary("Add", u8({200, 1}), u8({100, 2}), impl);
    ASSERT_TRUE(add.is_ok());
    EXPECT_EQ(add->to_int64(), (std::vector<int64_t>{44, 3}));
    auto sub = binary("Sub", u8({3, 9}), u8({5, 4}), impl);
    EXPECT_EQ(sub->to_int64(), (std::vector<int64_t>{254, 5}));
    auto mul = binary("Mul", u8({16, 3}), u8({17, 5}), impl);
    EXPECT_EQ(mul->to_int64(), (std::vector<int64_t>{16, 15}));
    auto div = binary("Div", u8({7, 200}), u8({2, 0}), impl);
    EXPECT_EQ(div->to_int64(), (std::vector<int64_t>{3, 0}));

    const int32_t kMin = std::numeric_limits<int32_t>::min();
    auto i32 = [](std::vector<int32_t> v) { return Tensor::from_vector<int32_t>({static_cast<int64_t>(v.size())}, v); };
    auto idiv = binary("Div", i32({-7, 7, kMin, 5}), i32({2, -2, -1, 0}), impl);
    ASSERT_TRUE(idiv.is_ok());
    EXPECT_EQ(idiv->to_int64(), (std::vector<int64_t>{-3, -3, kMin, 0}));
    auto imul = binary("Mul", i32({kMin, 65536}), i32({-1, 65536}), impl);
    EXPECT_EQ(imul->to_int64(), (std::vector<int64_t>{kMin, 0}));
    auto i64 = binary("Add", Tensor::from_vector<int64_t>({2}, {std::numeric_limits<int64_t>::max(), -4}),
                      Tensor::from_vector<int64_t>({}, {1}), impl);
    EXPECT_EQ(i64->to_int64(), (std::vector<int64_t>{std::numeric_limits<int64_t>::min(), -3}));
  }
}

TEST(BinaryTest, PowMixedTypes) {
  for (KernelImpl impl : kImpls) {
    // float base, int64 exponent -> float
    auto fi = binary("Pow", f32({3}, {1, 2, 3}), Tensor::from_vector<int64_t>({3}, {4, 5, 6}), impl);
    ASSERT_TRUE(fi.is_ok()) << fi.status().to_string();
    EXPECT_EQ(fi->dtype(), DType::kFloat32);
    EXPECT_EQ(floats(*fi), (std::vector<float>{1, 32, 729}));
    // int64 base, float exponent -> int64 (the double result truncated)
    auto if_ = binary("Pow", Tensor::from_vector<int64_t>({3}, {2, 3, 10}), f32({3}, {0.5f, 2, -1}), impl);
    ASSERT_TRUE(if_.is_ok()) << if_.status().to_string();
    EXPECT_EQ(if_->dtype(), DType::kInt64);
    EXPECT_EQ(if_->to_int64(), (std::vector<int64_t>{1, 9, 0}));
    // int32 ^ int32: exact, negative exponents give the truncated reciprocal
    auto ii = binary("Pow", Tensor::from_vector<int32_t>({5}, {3, -2, 1, -1, 2}),
                     Tensor::from_vector<int32_t>({5}, {4, 3, -5, -3, -1}), impl);
    ASSERT_TRUE(ii.is_ok()) << ii.status().to_string();
    EXPECT_EQ(ii->to_int64(), (std::vector<int64_t>{81, -8, 1, -1, 0}));
    // int32 base with a broadcast scalar uint8 exponent
    auto iu = binary("Pow", Tensor::from_vector<int32_t>({2}, {2, -3}), Tensor::from_vector<uint8_t>({}, {3}), impl);
    ASSERT_TRUE(iu.is_ok()) << iu.status().to_string();
    EXPECT_EQ(iu->to_int64(), (std::vector<int64_t>{8, -27}));
  }
  auto bad = binary("Pow", Tensor::from_vector<uint8_t>({1}, {2}), f32({1}, {2}), KernelImpl::kFast);
  EXPECT_EQ(bad.status().code(), StatusCode::kUnsupported);
  bad = binary("Pow", f32({1}, {2}), Tensor::from_vector<uint64_t>({1}, {2}), KernelImpl::kFast);
  EXPECT_EQ(bad.status().code(), StatusCode::kUnsupported);
}

TEST(BinaryTest, PowSquareIsExactProduct) {
  std::vector<float> xv;
  for (int i = -50; i <= 50; ++i) xv.push_back(static_cast<float>(i) * 0.37f);
  const Tensor x = f32({101}, xv);
  for (const Tensor& two : {f32({}, {2.0f}), Tensor::from_vector<int64_t>({1}, {2})}) {
    auto r = binary("Pow", x, two, KernelImpl::kFast);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    const std::vector<float> got = floats(*r);
    for (size_t i = 0; i < xv.size(); ++i) EXPECT_EQ(got[i], xv[i] * xv[i]) << i;
  }
}

}  // namespace
}  // namespace tinyq::kernels
