#include "kernels/quant_params.h"

#include <gtest/gtest.h>

#include <limits>

namespace tinyq::kernels {
namespace {

class QuantParamsTest : public ::testing::Test {
 protected:
  QuantParamsTest() {
    node_.op_type = "QLinearConv";
    node_.name = "qconv_7";
  }
  PrepareContext ctx() { return PrepareContext(node_, 13, KernelImpl::kReference, {}); }
  ir::Node node_;
};

TEST(QuantRounding, HalfToEven) {
  EXPECT_EQ(round_half_even(0.5f), 0.0f);
  EXPECT_EQ(round_half_even(1.5f), 2.0f);
  EXPECT_EQ(round_half_even(2.5f), 2.0f);
  EXPECT_EQ(round_half_even(-0.5f), 0.0f);
  EXPECT_EQ(round_half_even(-1.5f), -2.0f);
  EXPECT_EQ(round_half_even(-2.5f), -2.0f);
  EXPECT_EQ(round_half_even(0.49999997f), 0.0f);
  EXPECT_EQ(round_half_even(0.50000006f), 1.0f);
  EXPECT_EQ(round_half_even(-3.7f), -4.0f);
  EXPECT_EQ(round_half_even(8388609.0f), 8388609.0f);  // beyond 2^23: already an integer
}

TEST(QuantRounding, SaturatesAfterAddingZeroPoint) {
  EXPECT_EQ(quantize_saturate(0.5f, 0, 0, 255), 0);
  EXPECT_EQ(quantize_saturate(1.5f, 0, 0, 255), 2);
  EXPECT_EQ(quantize_saturate(-0.5f, 10, 0, 255), 10);
  EXPECT_EQ(quantize_saturate(-2.5f, 10, 0, 255), 8);
  EXPECT_EQ(quantize_saturate(126.5f, 0, -128, 127), 126);
  EXPECT_EQ(quantize_saturate(127.5f, 0, -128, 127), 127);
  EXPECT_EQ(quantize_saturate(-128.5f, 0, -128, 127), -128);
  EXPECT_EQ(quantize_saturate(-300.0f, 0, -128, 127), -128);
  EXPECT_EQ(quantize_saturate(250.0f, 10, 0, 255), 255);
  EXPECT_EQ(quantize_saturate(1e30f, 0, 0, 255), 255);
  EXPECT_EQ(quantize_saturate(-std::numeric_limits<float>::infinity(), 3, 0, 255), 0);
  EXPECT_EQ(quantize_saturate(std::numeric_limits<float>::quiet_NaN(), 3, 0, 255), 3);
}

TEST_F(QuantParamsTest, PerTensorAndPerAxis) {
  PrepareContext c = ctx();
  Tensor s = Tensor::from_vector<float>({}, {0.25f});
  Tensor z = Tensor::from_vector<uint8_t>({}, {128});
  auto q = make_quant_params(c, "x", s, &z, DType::kUInt8, {1, 3, 4, 4}, 1);
  ASSERT_TRUE(q.is_ok()) << q.status().to_string();
  EXPECT_FALSE(q->per_axis());
  EXPECT_EQ(q->scale(2), 0.25f);
  EXPECT_EQ(q->zero_point(2), 128);

  Tensor s3 = Tensor::from_vector<float>({3}, {0.5f, 1.0f, 2.0f});
  Tensor z3 = Tensor::from_vector<int8_t>({3}, {-128, 0, 127});
  auto p = make_quant_params(c, "w", s3, &z3, DType::kInt8, {2, 3}, -1);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  EXPECT_EQ(p->axis, 1);
  EXPECT_EQ(p->scale(2), 2.0f);
  EXPECT_EQ(p->zero_point(0), -128);
  EXPECT_EQ(p->zero_point(2), 127);
}

TEST_F(QuantParamsTest, BadScalesNameNodeAndTensor) {
  PrepareContext c = ctx();
  for (float bad : {0.0f, -1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    Tensor s = Tensor::from_vector<float>({}, {bad});
    auto q = make_quant_params(c, "x", s, nullptr, DType::kUInt8, {4}, 1);
    ASSERT_FALSE(q.is_ok()) << bad;
    EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(q.status().message().find("qconv_7"), std::string::npos) << q.status().message();
    EXPECT_NE(q.status().message().find("x_scale"), std::string::npos) << q.status().message();
  }
}

TEST_F(QuantParamsTest, BadZeroPoints) {
  PrepareContext c = ctx();
  Tensor s = Tensor::from_vector<float>({}, {1.0f});
  Tensor z8 = Tensor::from_vector<int8_t>({}, {3});
  auto wrong_type = make_quant_params(c, "y", s, &z8, DType::kUInt8, {4}, 1);
  ASSERT_FALSE(wrong_type.is_ok());
  EXPECT_NE(wrong_type.status().message().find("y_zero_point"), std::string::npos);
  EXPECT_NE(wrong_type.status().message().find("qconv_7"), std::string::npos);

  QuantParams q;
  q.type = DType::kInt8;
  q.scales = {1.0f};
  q.zero_points = {200};  // out of int8's range
  Status st = validate_quant_params(c, "w", q, {4});
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("out of range"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("qconv_7"), std::string::npos);

  Tensor z32 = Tensor::from_vector<int32_t>({}, {5});
  auto nonzero32 = make_quant_params(c, "x", s, &z32, DType::kInt32, {4}, 1);
  ASSERT_FALSE(nonzero32.is_ok());
  EXPECT_NE(nonzero32.status().message().find("x_zero_point"), std::string::npos);
}

TEST_F(QuantParamsTest, PerAxisLengthMismatch) {
  PrepareContext c = ctx();
  Tensor s = Tensor::from_vector<float>({3}, {1.0f, 1.0f, 1.0f});
  auto q = make_quant_params(c, "w", s, nullptr, DType::kInt8, {4, 2}, 0);
  ASSERT_FALSE(q.is_ok());
  EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(q.status().message().find("qconv_7"), std::string::npos);
  EXPECT_NE(q.status().message().find("w_scale has 3 entries"), std::string::npos) << q.status().message();

  Tensor z = Tensor::from_vector<int8_t>({2}, {0, 0});
  auto zq = make_quant_params(c, "w", s, &z, DType::kInt8, {3, 2}, 0);
  ASSERT_FALSE(zq.is_ok());
  EXPECT_NE(zq.status().message().find("w_zero_point has 2 entries"), std::string::npos) << zq.status().message();

  auto zps = read_zero_points(c, "b", &z, DType::kInt8, 5);
  ASSERT_FALSE(zps.is_ok());
  EXPECT_NE(zps.status().message().find("b_zero_point"), std::string::npos);
  auto ok = read_zero_points(c, "b", &z, DType::kInt8, 2);
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok->size(), 2u);
}

}  // namespace
}  // namespace tinyq::kernels
