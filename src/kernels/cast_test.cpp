// Cast and CastLike: truncation, saturation, NaN, bool, wraparound between integer widths, and a
// smoke test over every supported pair of types.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/testing.h"

namespace tinyq::kernels {
namespace {

using testing::OpCall;
using testing::run_op;

Result<Tensor> cast(Tensor x, DType to, int64_t opset = 13) {
  OpCall c;
  c.op_type = "Cast";
  c.inputs = {std::move(x)};
  c.attributes = {{"to", testing::attr_int(static_cast<int64_t>(to))}};
  c.opset = opset;
  TINYQ_ASSIGN_OR_RETURN(std::vector<Tensor> out, run_op(c));
  return out[0];
}

Tensor f32(std::vector<float> v) { return Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v); }

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(CastTest, FloatToIntTruncatesTowardZero) {
  auto r = cast(f32({1.9f, -1.9f, 0.5f, -0.5f, 100.0f, -0.0f}), DType::kInt32);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->dtype(), DType::kInt32);
  EXPECT_EQ(r->to_int64(), (std::vector<int64_t>{1, -1, 0, 0, 100, 0}));
}

TEST(CastTest, FloatToIntSaturatesAndMapsNaNToZero) {
  const int64_t kMax32 = std::numeric_limits<int32_t>::max(), kMin32 = std::numeric_limits<int32_t>::min();
  auto r = cast(f32({1e10f, -1e10f, kNaN, kInf, -kInf, 2147483520.0f}), DType::kInt32);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->to_int64(), (std::vector<int64_t>{kMax32, kMin32, 0, kMax32, kMin32, 2147483520}));
  auto u8 = cast(f32({-1.0f, 300.0f, 255.9f, 7.7f}), DType::kUInt8);
  ASSERT_TRUE(u8.is_ok());
  EXPECT_EQ(u8->to_int64(), (std::vector<int64_t>{0, 255, 255, 7}));
  auto i64 = cast(Tensor::from_vector<double>({2}, {9.3e18, -9.3e18}), DType::kInt64);
  ASSERT_TRUE(i64.is_ok());
  EXPECT_EQ(i64->to_int64(), (std::vector<int64_t>{std::numeric_limits<int64_t>::max(),
                                                   std::numeric_limits<int64_t>::min()}));
}

TEST(CastTest, IntegerWidthsWrap) {
  auto r = cast(Tensor::from_vector<int32_t>({3}, {300, -1, 127}), DType::kInt8);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->to_int64(), (std::vector<int64_t>{44, -1, 127}));
  auto u16 = cast(Tensor::from_vector<int8_t>({2}, {-1, 5}), DType::kUInt16);
  ASSERT_TRUE(u16.is_ok());
  EXPECT_EQ(u16->to_int64(), (std::vector<int64_t>{65535, 5}));
}

TEST(CastTest, Bool) {
  auto to_bool = cast(f32({0.0f, -0.0f, 0.1f, kNaN, -3.0f}), DType::kBool);
  ASSERT_TRUE(to_bool.is_ok());
  EXPECT_EQ(to_bool->dtype(), DType::kBool);
  EXPECT_EQ(to_bool->to_int64(), (std::vector<int64_t>{0, 0, 1, 1, 1}));
  auto bools = cast(Tensor::from_vector<uint8_t>({2}, {7, 0}), DType::kBool);  // vector<bool> has no data()
  ASSERT_TRUE(bools.is_ok());
  auto from_bool = cast(*bools, DType::kFloat32);
  ASSERT_TRUE(from_bool.is_ok());
  EXPECT_EQ(from_bool->data<float>()[0], 1.0f);
  EXPECT_EQ(from_bool->data<float>()[1], 0.0f);
}

TEST(CastTest, FloatWidths) {
  auto d = cast(f32({0.1f, -kInf, kNaN}), DType::kFloat64);
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->data<double>()[0], static_cast<double>(0.1f));
  EXPECT_EQ(d->data<double>()[1], -static_cast<double>(kInf));
  EXPECT_TRUE(std::isnan(d->data<double>()[2]));
  auto f = cast(Tensor::from_vector<double>({2}, {0.1, 1e300}), DType::kFloat32);
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(f->data<float>()[0], 0.1f);
  EXPECT_EQ(f->data<float>()[1], kInf);
  auto big = cast(Tensor::from_vector<int64_t>({1}, {(int64_t{1} << 40) + 1}), DType::kFloat32);
  ASSERT_TRUE(big.is_ok());
  EXPECT_EQ(big->data<float>()[0], static_cast<float>(int64_t{1} << 40));
}

TEST(CastTest, EveryPairOfSupportedTypes) {
  const DType types[] = {DType::kFloat32, DType::kFloat64, DType::kInt8,  DType::kUInt8, DType::kInt16,
                         DType::kUInt16,  DType::kInt32,   DType::kInt64, DType::kBool};
  for (DType from : types) {
    auto src = cast(Tensor::from_vector<int64_t>({3}, {0, 1, 2}), from);
    ASSERT_TRUE(src.is_ok()) << dtype_name(from);
    for (DType to : types) {
      auto r = cast(*src, to);
      ASSERT_TRUE(r.is_ok()) << dtype_name(from) << " -> " << dtype_name(to) << ": " << r.status().to_string();
      EXPECT_EQ(r->dtype(), to);
      EXPECT_EQ(r->shape(), Shape{3});
      const std::vector<double> want = (from == DType::kBool || to == DType::kBool)
                                           ? std::vector<double>{0, 1, 1}
                                           : std::vector<double>{0, 1, 2};
      EXPECT_EQ(r->to_double(), want) << dtype_name(from) << " -> " << dtype_name(to);
    }
  }
}

TEST(CastTest, UnsupportedTargets) {
  for (DType to : {DType::kFloat16, DType::kString, DType::kUInt32, DType::kUInt64, static_cast<DType>(16)}) {
    auto r = cast(f32({1.0f}), to);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported) << r.status().to_string();
  }
  OpCall c;
  c.op_type = "Cast";
  c.inputs = {f32({1.0f})};
  auto missing = run_op(c);
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
}

TEST(CastTest, CastLikeTakesTheSecondInputsType) {
  OpCall c;
  c.op_type = "CastLike";
  c.inputs = {Tensor::from_vector<double>({2}, {1.5, -2.25}), f32({0.0f})};
  auto r = run_op(c);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ((*r)[0].dtype(), DType::kFloat32);
  EXPECT_EQ((*r)[0].data<float>()[0], 1.5f);
  EXPECT_EQ((*r)[0].data<float>()[1], -2.25f);
}

}  // namespace
}  // namespace tinyq::kernels
