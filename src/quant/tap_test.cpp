#include "quant/tap.h"

#include <gtest/gtest.h>

#include "quant/quant_test_util.h"
#include "tinyq/session.h"

namespace tinyq::quant {
namespace {

using testing::relu_mul_model;

TEST(TapTest, AppendsNamedTensorsAfterTheModelsOutputs) {
  const ir::Model m = relu_mul_model(3);
  const std::vector<std::string> names = {"r", "x", "y", "r"};
  auto tapped = expose_tensors(m, names);
  ASSERT_TRUE(tapped.is_ok()) << tapped.status().to_string();
  const auto& outs = tapped->graph.outputs;
  ASSERT_EQ(outs.size(), 3u);  // y (own), r, x: the existing output and the repeat are not added again
  EXPECT_EQ(outs[0].name, "y");
  EXPECT_EQ(outs[1].name, "r");
  EXPECT_EQ(outs[2].name, "x");
  EXPECT_EQ(outs[2].dtype, DType::kFloat32);  // declared like the graph input
  EXPECT_EQ(m.graph.outputs.size(), 1u);      // the original is untouched
}

TEST(TapTest, SessionReturnsTheExposedValues) {
  const std::vector<std::string> names = {"r", "x"};
  auto tapped = expose_tensors(relu_mul_model(3), names);
  ASSERT_TRUE(tapped.is_ok()) << tapped.status().to_string();
  SessionOptions as_written;
  as_written.graph_passes = false;
  auto session = Session::from_ir(std::move(tapped).value(), "tapped", as_written);
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  const std::vector<Tensor> in = {Tensor::from_vector<float>({1, 3}, {-1.0f, 0.5f, 2.0f})};
  auto out = (*session)->run(in);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  ASSERT_EQ(out->size(), 3u);
  const float* y = (*out)[0].data<float>();
  const float* r = (*out)[1].data<float>();
  const float* x = (*out)[2].data<float>();
  EXPECT_EQ(y[0], 0.0f); EXPECT_EQ(y[1], 1.0f); EXPECT_EQ(y[2], 4.0f);
  EXPECT_EQ(r[0], 0.0f); EXPECT_EQ(r[1], 0.5f); EXPECT_EQ(r[2], 2.0f);
  EXPECT_EQ(x[0], -1.0f); EXPECT_EQ(x[1], 0.5f); EXPECT_EQ(x[2], 2.0f);
}

TEST(TapTest, UnknownTensorIsNotFoundNamingIt) {
  const std::vector<std::string> names = {"r", "nope"};
  auto tapped = expose_tensors(relu_mul_model(3), names);
  ASSERT_FALSE(tapped.is_ok());
  EXPECT_EQ(tapped.status().code(), StatusCode::kNotFound);
  EXPECT_NE(tapped.status().message().find("'nope'"), std::string::npos) << tapped.status().message();
}

TEST(TapTest, InitializerIsRefusedNamingIt) {
  const std::vector<std::string> names = {"two"};
  auto tapped = expose_tensors(relu_mul_model(3), names);
  ASSERT_FALSE(tapped.is_ok());
  EXPECT_EQ(tapped.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(tapped.status().message().find("'two'"), std::string::npos) << tapped.status().message();
}

}  // namespace
}  // namespace tinyq::quant
