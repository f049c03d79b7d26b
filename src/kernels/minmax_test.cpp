#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/int8_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace int8_test;
using testing::attr_int;
using testing::attr_ints;

TEST(MinMax, VariadicBroadcastAndNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  OpCall mx{.op_type = "Max", .inputs = {f32({2, 2}, {1, 5, nan, 0}), f32({2}, {3, 4}), f32({}, {2})}};
  std::vector<float> y = values<float>(run_both(mx));
  EXPECT_EQ(y[0], 3.0f);
  EXPECT_EQ(y[1], 5.0f);
  EXPECT_TRUE(std::isnan(y[2]));  // NaN propagates, as numpy's maximum
  EXPECT_EQ(y[3], 4.0f);
  OpCall mn{.op_type = "Min", .inputs = {s8({3}, {-128, 7, 127}), s8({3}, {0, 7, -1})}};
  EXPECT_EQ(values<int8_t>(run_both(mn)), (std::vector<int8_t>{-128, 7, -1}));
  OpCall one{.op_type = "Min", .inputs = {u8({2}, {9, 4})}};
  EXPECT_EQ(values<uint8_t>(run_both(one)), (std::vector<uint8_t>{9, 4}));
}

TEST(MinMax, Reductions) {
  // [[1, 5, -2], [4, -7, 3]]
  const Tensor x = f32({2, 3}, {1, 5, -2, 4, -7, 3});
  OpCall rmax{.op_type = "ReduceMax", .inputs = {x}, .opset = 13};
  rmax.attributes["axes"] = attr_ints({1});
  rmax.attributes["keepdims"] = attr_int(0);
  EXPECT_EQ(values<float>(run_both(rmax)), (std::vector<float>{5, 4}));
  OpCall rmin{.op_type = "ReduceMin", .inputs = {x, tensor<int64_t>({1}, {0})}, .opset = 18};
  Tensor y = run_both(rmin);
  EXPECT_EQ(y.shape(), (Shape{1, 3}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{1, -7, -2}));
  OpCall all{.op_type = "ReduceMin", .inputs = {x}, .opset = 18};  // no axes: all, keepdims
  EXPECT_EQ(values<float>(run_both(all)), (std::vector<float>{-7}));
  // An empty reduction gives the identity.
  OpCall empty{.op_type = "ReduceMax", .inputs = {f32({2, 0}, {}), tensor<int64_t>({1}, {1})}, .opset = 18};
  EXPECT_EQ(values<float>(run_both(empty)), (std::vector<float>(2, -std::numeric_limits<float>::infinity())));
}

TEST(Round, TiesToEven) {
  OpCall r{.op_type = "Round", .inputs = {f32({7}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.6f})}, .opset = 11};
  EXPECT_EQ(values<float>(run_both(r)), (std::vector<float>{0, 2, 2, -0.0f, -2, -2, 3}));
}

}  // namespace
}  // namespace tinyq::kernels
