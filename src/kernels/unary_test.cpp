// Unary ops and activations: hand-checked values, IEEE edge cases, fast-vs-reference sweeps,
// Erf against a double-precision erf, and Clip's bound variants.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/elementwise_test_util.h"
#include "kernels/testing.h"

namespace tinyq::kernels {
namespace {

using testing::OpCall;
using testing::run_op;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kEps = std::numeric_limits<float>::epsilon();

// Hand-computed values are given to 8 significant digits.
constexpr float kHandTolerance = 2e-7f;
// Fast erf against erf computed in double: ~1 ulp; absolute over all floats.
constexpr float kErfAbsTolerance = 1.2e-7f;
// ... and relative for |x| < 1, where erf(x) is small and must stay relatively exact.
constexpr float kErfRelTolerance = 3 * kEps;
// Highway's Exp/Log/Tanh (1-4 ulp) and Sigmoid/Softmax built on them, against std:: (<= 1 ulp).
constexpr float kMathRelTolerance = 8 * kEps;
// Absolute floor for results near zero (tanh, log near 1), where relative error is meaningless.
constexpr float kMathAbsTolerance = 1e-7f;
// Subnormal results (exp(-100), sigmoid(-100)) carry few significant bits: an absolute floor.
constexpr float kDenormalFloor = 1e-37f;

Tensor f32(std::vector<float> v, Shape shape = {}) {
  if (shape.empty()) shape = {static_cast<int64_t>(v.size())};
  return Tensor::from_vector(shape, v);
}

std::vector<float> values(const Tensor& t) {
  const float* p = t.data<float>();
  return std::vector<float>(p, p + t.numel());
}

Result<std::vector<Tensor>> call(const std::string& op, std::vector<Tensor> inputs, KernelImpl impl,
                                 std::map<std::string, ir::Attribute> attrs = {}, int64_t opset = 18,
                                 std::vector<bool> constant = {}) {
  OpCall c;
  c.op_type = op;
  c.inputs = std::move(inputs);
  c.impl = impl;
  c.attributes = std::move(attrs);
  c.opset = opset;
  c.constant_inputs = std::move(constant);
  return run_op(c);
}

std::vector<float> unary(const std::string& op, const std::vector<float>& x, KernelImpl impl,
                         std::map<std::string, ir::Attribute> attrs = {}) {
  auto r = call(op, {f32(x)}, impl, std::move(attrs));
  EXPECT_TRUE(r.is_ok()) << op << ": " << r.status().to_string();
  return r.is_ok() ? values((*r)[0]) : std::vector<float>{};
}

// NaN matches NaN, infinities match exactly, finite values within abs_tol + rel_tol * |expected|.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, float abs_tol, float rel_tol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << what << " [" << i << "]: got " << got[i] << ", want NaN";
    } else if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]) << what << " [" << i << "]";
    } else {
      EXPECT_NEAR(got[i], want[i], abs_tol + rel_tol * std::fabs(want[i])) << what << " [" << i << "]";
    }
  }
}

const KernelImpl kImpls[] = {KernelImpl::kReference, KernelImpl::kFast};
const char* impl_name(KernelImpl i) { return i == KernelImpl::kFast ? "fast" : "reference"; }

struct HandCase {
  const char* op;
  std::vector<float> x, want;
  std::map<std::string, ir::Attribute> attrs;
};

TEST(UnaryTest, HandCheckedValues) {
  const std::vector<HandCase> cases = {
      {"Relu", {-1.5f, -0.0f, 0.0f, 2.5f}, {0.0f, -0.0f, 0.0f, 2.5f}, {}},
      {"Abs", {-1.5f, 0.0f, 2.5f}, {1.5f, 0.0f, 2.5f}, {}},
      {"Neg", {-1.5f, 0.0f, 2.5f}, {1.5f, -0.0f, -2.5f}, {}},
      {"Sqrt", {4.0f, 2.0f, 0.25f}, {2.0f, 1.4142135f, 0.5f}, {}},
      {"Exp", {0.0f, 1.0f, -1.0f, 10.0f}, {1.0f, 2.7182817f, 0.36787944f, 22026.465f}, {}},
      {"Log", {1.0f, 2.7182817f, 0.5f, 100.0f}, {0.0f, 1.0f, -0.69314718f, 4.6051702f}, {}},
      {"Tanh", {0.0f, 0.5f, -1.0f, 3.0f}, {0.0f, 0.46211716f, -0.76159416f, 0.99505475f}, {}},
      {"Sigmoid", {0.0f, 2.0f, -2.0f, 20.0f}, {0.5f, 0.88079708f, 0.11920292f, 0.99999998f}, {}},
      {"Erf", {0.0f, 0.5f, 1.0f, -2.0f, 3.0f}, {0.0f, 0.52049988f, 0.84270079f, -0.99532227f, 0.99997791f}, {}},
      {"LeakyRelu", {-2.0f, 0.0f, 3.0f}, {-0.2f, 0.0f, 3.0f}, {{"alpha", testing::attr_float(0.1f)}}},
      {"LeakyRelu", {-2.0f, 3.0f}, {-0.02f, 3.0f}, {}},  // default alpha 0.01
      {"HardSigmoid", {-3.0f, 0.0f, 0.5f, 1.0f},
       {0.0f, 0.6f, 0.85f, 1.0f},
       {{"alpha", testing::attr_float(0.5f)}, {"beta", testing::attr_float(0.6f)}}},
      {"HardSigmoid", {-3.0f, 0.0f, 1.0f, 3.0f}, {0.0f, 0.5f, 0.7f, 1.0f}, {}},  // alpha 0.2, beta 0.5
  };
  for (const HandCase& c : cases) {
    for (KernelImpl impl : kImpls) {
      expect_close(unary(c.op, c.x, impl, c.attrs), c.want, kHandTolerance, kHandTolerance,
                   std::string(c.op) + " " + impl_name(impl));
    }
  }
}

TEST(UnaryTest, ReluKeepsSignOfZeroAndNaN) {
  for (KernelImpl impl : kImpls) {
    const std::vector<float> y = unary("Relu", {-0.0f, kNaN, -kInf, kInf}, impl);
    EXPECT_TRUE(std::signbit(y[0])) << impl_name(impl);
    EXPECT_TRUE(std::isnan(y[1])) << impl_name(impl);
    EXPECT_EQ(y[2], 0.0f);
    EXPECT_EQ(y[3], kInf);
  }
}

// IEEE specials and range limits: the fast kernels must give what std:: gives.
TEST(UnaryTest, SpecialValuesMatchStd) {
  const std::vector<float> x = {kNaN, kInf, -kInf, 0.0f, -0.0f, 1e-40f, -1e-40f, 1e-30f, 88.0f, 88.8f, 89.5f,
                                 100.0f, 1e30f, -87.0f, -100.0f, -104.5f, -1e30f, 18.0f, 19.0f, -50.0f,
                                 3.9f, 3.93f, 0.921875f, -0.921875f, std::numeric_limits<float>::max(),
                                 std::numeric_limits<float>::lowest(), std::numeric_limits<float>::min()};
  struct Ref {
    const char* op;
    double (*fn)(double);
  };
  const Ref refs[] = {
      {"Exp", [](double v) { return std::exp(v); }},
      {"Log", [](double v) { return std::log(v); }},
      {"Tanh", [](double v) { return std::tanh(v); }},
      {"Erf", [](double v) { return std::erf(v); }},
      {"Sqrt", [](double v) { return std::sqrt(v); }},
      {"Sigmoid", [](double v) { return std::isnan(v) ? v : 1.0 / (1.0 + std::exp(-v)); }},
  };
  for (const Ref& r : refs) {
    std::vector<float> want;
    for (float v : x) want.push_back(static_cast<float>(r.fn(v)));
    expect_close(unary(r.op, x, KernelImpl::kReference), want, kDenormalFloor, kMathRelTolerance,
                 std::string(r.op) + " reference");
    testing::for_each_simd_target([&] {
      expect_close(unary(r.op, x, KernelImpl::kFast), want, kDenormalFloor, kMathRelTolerance,
                   std::string(r.op) + " fast");
    });
  }
}

TEST(UnaryTest, ErfMatchesDoubleErfOnDenseRange) {
  std::vector<float> x;
  for (int i = -70000; i <= 70000; ++i) x.push_back(static_cast<float>(i) * 1e-4f);  // [-7, 7]
  for (float v = 1e-37f; v < 1.0f; v *= 1.37f) {  // tiny (normal) magnitudes: relative accuracy
    x.push_back(v);
    x.push_back(-v);
  }
  testing::for_each_simd_target([&] {
    const std::vector<float> y = unary("Erf", x, KernelImpl::kFast);
    ASSERT_EQ(y.size(), x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      const double want = std::erf(static_cast<double>(x[i]));
      const double err = std::fabs(y[i] - want);
      ASSERT_LE(err, kErfAbsTolerance) << "erf(" << x[i] << ") = " << y[i] << ", want " << want;
      if (std::fabs(x[i]) < 1.0f)
        ASSERT_LE(err, kErfRelTolerance * std::fabs(want)) << "erf(" << x[i] << ") relative";
      ASSERT_EQ(std::signbit(y[i]), std::signbit(x[i])) << "erf(" << x[i] << ") sign";
    }
  });
}

// Every float op, fast against reference, over sizes around the vector widths and beyond.
TEST(UnaryTest, FastMatchesReferenceOverSizes) {
  struct OpCase {
    const char* op;
    std::map<std::string, ir::Attribute> attrs;
    float lo, hi;
  };
  const std::vector<OpCase> ops = {
      {"Relu", {}, -5, 5},
      {"Abs", {}, -5, 5},
      {"Neg", {}, -5, 5},
      {"Sqrt", {}, -1, 100},
      {"Exp", {}, -100, 100},
      {"Log", {}, -1, 1000},
      {"Tanh", {}, -20, 20},
      {"Erf", {}, -5, 5},
      {"Sigmoid", {}, -100, 100},
      {"LeakyRelu", {{"alpha", testing::attr_float(0.3f)}}, -5, 5},
      {"HardSigmoid", {}, -5, 5},
      {"Clip", {}, -5, 5},  // no bounds: identity
  };
  std::vector<size_t> sizes;
  for (size_t n = 0; n <= 100; ++n) sizes.push_back(n);
  for (size_t n : {127u, 128u, 129u, 1000u, 4099u}) sizes.push_back(n);
  testing::for_each_simd_target([&] {
    std::mt19937 rng(1234);
    for (const OpCase& c : ops) {
      std::uniform_real_distribution<float> dist(c.lo, c.hi);
      for (size_t n : sizes) {
        std::vector<float> x(n);
        for (float& v : x) v = dist(rng);
        const std::vector<float> ref = unary(c.op, x, KernelImpl::kReference, c.attrs);
        const std::vector<float> fast = unary(c.op, x, KernelImpl::kFast, c.attrs);
        expect_close(fast, ref, kMathAbsTolerance, kMathRelTolerance, std::string(c.op) + " n=" + std::to_string(n));
      }
    }
  });
}

TEST(UnaryTest, IntegerTypes) {
  for (KernelImpl impl : kImpls) {
    {
      auto r = call("Relu", {Tensor::from_vector<int32_t>({4}, {-3, 0, 7, -2147483647 - 1})}, impl);
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      EXPECT_EQ((*r)[0].to_int64(), (std::vector<int64_t>{0, 0, 7, 0}));
    }
    {
      // INT64_MIN has no positive counterpart: it wraps to itself, as in numpy.
      const int64_t kMin = std::numeric_limits<int64_t>::min();
      auto r = call("Abs", {Tensor::from_vector<int64_t>({3}, {-5, 6, kMin})}, impl);
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      EXPECT_EQ((*r)[0].to_int64(), (std::vector<int64_t>{5, 6, kMin}));
    }
    {
      auto r = call("Neg", {Tensor::from_vector<int8_t>({3}, {5, -128, 0})}, impl);
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      EXPECT_EQ((*r)[0].to_int64(), (std::vector<int64_t>{-5, -128, 0}));
    }
    {
      auto r = call("Abs", {Tensor::from_vector<uint8_t>({2}, {200, 3})}, impl);
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      EXPECT_EQ((*r)[0].dtype(), DType::kUInt8);
      EXPECT_EQ((*r)[0].to_int64(), (std::vector<int64_t>{200, 3}));
    }
  }
}

TEST(UnaryTest, DoubleUsesStdMath) {
  for (KernelImpl impl : kImpls) {
    auto r = call("Erf", {Tensor::from_vector<double>({2}, {0.5, -1.0})}, impl);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ((*r)[0].dtype(), DType::kFloat64);
    EXPECT_EQ((*r)[0].data<double>()[0], std::erf(0.5));
    EXPECT_EQ((*r)[0].data<double>()[1], std::erf(-1.0));
  }
}

TEST(UnaryTest, RejectsUnsupportedDtypesAndAttributes) {
  auto r = call("Sigmoid", {Tensor::from_vector<int32_t>({1}, {1})}, KernelImpl::kFast);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("int32"), std::string::npos) << r.status().message();
  r = call("Relu", {Tensor::from_vector<uint32_t>({1}, {1})}, KernelImpl::kFast);
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  r = call("Relu", {f32({1})}, KernelImpl::kFast, {{"alpha", testing::attr_float(1)}});
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

// --- Clip ---------------------------------------------------------------------------------------

const std::vector<float> kClipX = {-3.0f, -1.0f, 0.0f, 0.5f, 2.0f, 7.0f, kNaN, -kInf, kInf};

std::vector<float> clip_want(float lo, float hi) {
  std::vector<float> out;
  for (float v : kClipX) out.push_back(std::isnan(v) ? v : std::min(std::max(v, lo), hi));
  return out;
}

TEST(ClipTest, BoundsAsConstantInputs) {
  for (KernelImpl impl : kImpls) {
    auto r = call("Clip", {f32(kClipX), f32({-1.0f}, Shape{}), f32({2.0f}, Shape{})}, impl, {}, 13);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    expect_close(values((*r)[0]), clip_want(-1.0f, 2.0f), 0, 0, impl_name(impl));
  }
}

TEST(ClipTest, OmittedMinOrMax) {
  const float kLowest = std::numeric_limits<float>::lowest(), kMax = std::numeric_limits<float>::max();
  for (KernelImpl impl : kImpls) {
    auto no_min = call("Clip", {f32(kClipX), Tensor(), f32({2.0f}, Shape{})}, impl, {}, 13);
    ASSERT_TRUE(no_min.is_ok()) << no_min.status().to_string();
    expect_close(values((*no_min)[0]), clip_want(kLowest, 2.0f), 0, 0, std::string("no min ") + impl_name(impl));
    auto no_max = call("Clip", {f32(kClipX), f32({0.0f}, Shape{})}, impl, {}, 13);
    ASSERT_TRUE(no_max.is_ok()) << no_max.status().to_string();
    expect_close(values((*no_max)[0]), clip_want(0.0f, kMax), 0, 0, std::string("no max ") + impl_name(impl));
    auto neither = call("Clip", {f32(kClipX)}, impl, {}, 13);
    ASSERT_TRUE(neither.is_ok()) << neither.status().to_string();
    // The default bounds are the type's finite limits (the spec's numeric_limits), so even
    // infinities clamp.
    std::vector<float> want = kClipX;
    want[7] = kLowest;
    want[8] = kMax;
    expect_close(values((*neither)[0]), want, 0, 0, std::string("no bounds ") + impl_name(impl));
  }
}

TEST(ClipTest, BoundsReadAtRunTime) {
  for (KernelImpl impl : kImpls) {
    auto r = call("Clip", {f32(kClipX), f32({0.5f}, Shape{}), f32({1.0f}, Shape{1})}, impl, {}, 13,
                  {true, false, false});
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    expect_close(values((*r)[0]), clip_want(0.5f, 1.0f), 0, 0, impl_name(impl));
  }
}

TEST(ClipTest, OpsetSixAttributes) {
  for (KernelImpl impl : kImpls) {
    auto r = call("Clip", {f32(kClipX)}, impl,
                  {{"min", testing::attr_float(-2.0f)}, {"max", testing::attr_float(0.25f)}}, 6);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    expect_close(values((*r)[0]), clip_want(-2.0f, 0.25f), 0, 0, impl_name(impl));
  }
}

TEST(ClipTest, MinAboveMaxGivesMax) {
  for (KernelImpl impl : kImpls) {
    auto r = call("Clip", {f32({-5.0f, 0.0f, 5.0f}), f32({2.0f}, Shape{}), f32({1.0f}, Shape{})}, impl, {}, 13);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    expect_close(values((*r)[0]), {1.0f, 1.0f, 1.0f}, 0, 0, impl_name(impl));
  }
}

TEST(ClipTest, Int8) {
  for (KernelImpl impl : kImpls) {
    auto r = call("Clip", {Tensor::from_vector<int8_t>({5}, {-128, -6, 0, 6, 127}), Tensor(),
                           Tensor::from_vector<int8_t>({}, {5})},
                  impl, {}, 13);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ((*r)[0].to_int64(), (std::vector<int64_t>{-128, -6, 0, 5, 5}));
  }
}

TEST(ClipTest, RejectsBadBounds) {
  auto r = call("Clip", {f32({1.0f}), Tensor::from_vector<double>({}, {0.0})}, KernelImpl::kFast, {}, 13);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  r = call("Clip", {f32({1.0f}), f32({0.0f, 1.0f})}, KernelImpl::kFast, {}, 13);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  r = call("Clip", {Tensor::from_vector<int32_t>({1}, {1})}, KernelImpl::kFast,
           {{"min", testing::attr_float(0.0f)}}, 6);
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace tinyq::kernels
