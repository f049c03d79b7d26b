#include <gtest/gtest.h>

#include "kernels/linalg_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace linalg_test;
using testing::attr_int;
using testing::attr_ints;
using testing::attr_string;

OpCall pool(const char* op, Tensor x, std::vector<int64_t> kernel) {
  OpCall c{.op_type = op, .inputs = {std::move(x)}};
  c.attributes["kernel_shape"] = attr_ints(std::move(kernel));
  return c;
}

TEST(MaxPool, StridesAndIndices) {
  // 4x4 iota, 2x2 windows with stride 2: the bottom-right element of each window wins.
  OpCall c = pool("MaxPool", iota({1, 1, 4, 4}), {2, 2});
  c.attributes["strides"] = attr_ints({2, 2});
  c.num_outputs = 2;
  EXPECT_EQ(values(run1(c, 0)), (std::vector<float>{5, 7, 13, 15}));
  EXPECT_EQ(values<int64_t>(run1(c, 1)), (std::vector<int64_t>{5, 7, 13, 15}));
  // storage_order 1 numbers the spatial positions column-major: index = h + w * H.
  c.attributes["storage_order"] = attr_int(1);
  EXPECT_EQ(values<int64_t>(run1(c, 1)), (std::vector<int64_t>{5, 13, 7, 15}));
  // Indices count from the start of the whole tensor: the second plane starts at 16.
  OpCall two = pool("MaxPool", iota({1, 2, 2, 2}), {2, 2});
  two.num_outputs = 2;
  EXPECT_EQ(values<int64_t>(run1(two, 1)), (std::vector<int64_t>{3, 7}));
}

TEST(MaxPool, CeilModeDilationsAndPads) {
  OpCall ceil = pool("MaxPool", iota({1, 1, 4, 4}), {3, 3});
  ceil.attributes["strides"] = attr_ints({2, 2});
  ceil.attributes["ceil_mode"] = attr_int(1);
  Tensor y = run1(ceil);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(values(y), (std::vector<float>{10, 11, 14, 15}));
  // Without ceil_mode the partial window is dropped.
  ceil.attributes.erase("ceil_mode");
  EXPECT_EQ(values(run1(ceil)), (std::vector<float>{10}));

  OpCall dilated = pool("MaxPool", iota({1, 1, 4, 4}), {2, 2});
  dilated.attributes["dilations"] = attr_ints({2, 2});
  EXPECT_EQ(values(run1(dilated)), (std::vector<float>{10, 11, 14, 15}));

  // Padding never wins, even against negative values.
  OpCall padded = pool("MaxPool", floats({1, 1, 3}, {-3, -1, -2}), {2});
  padded.attributes["pads"] = attr_ints({1, 1});
  EXPECT_EQ(values(run1(padded)), (std::vector<float>{-3, -1, -1, -2}));

  OpCall same = pool("MaxPool", floats({1, 1, 4}, {4, 1, 3, 2}), {2});
  same.attributes["auto_pad"] = attr_string("SAME_UPPER");
  EXPECT_EQ(values(run1(same)), (std::vector<float>{4, 3, 3, 2}));
  same.attributes["auto_pad"] = attr_string("SAME_LOWER");
  EXPECT_EQ(values(run1(same)), (std::vector<float>{4, 4, 3, 3}));
}

TEST(MaxPool, Int8AndUInt8) {
  OpCall s = pool("MaxPool", Tensor::from_vector<int8_t>({1, 1, 4}, {-5, 3, -128, 7}), {2});
  s.attributes["strides"] = attr_ints({2});
  EXPECT_EQ(values<int8_t>(run1(s)), (std::vector<int8_t>{3, 7}));
  OpCall u = pool("MaxPool", Tensor::from_vector<uint8_t>({1, 1, 4}, {200, 10, 0, 255}), {2});
  u.attributes["strides"] = attr_ints({2});
  EXPECT_EQ(values<uint8_t>(run1(u)), (std::vector<uint8_t>{200, 255}));
}

TEST(AveragePool, CountIncludePad) {
  OpCall c = pool("AveragePool", floats({1, 1, 3}, {1, 2, 3}), {3});
  c.attributes["pads"] = attr_ints({1, 1});
  EXPECT_EQ(values(run1(c)), (std::vector<float>{1.5f, 2.0f, 2.5f}));
  c.attributes["count_include_pad"] = attr_int(1);
  EXPECT_EQ(values(run1(c)), (std::vector<float>{1.0f, 2.0f, 5.0f / 3.0f}));
}

TEST(AveragePool, CeilModeDividesByTheClippedWindow) {
  OpCall c = pool("AveragePool", floats({1, 1, 5}, {1, 2, 3, 4, 5}), {2});
  c.attributes["strides"] = attr_ints({2});
  c.attributes["ceil_mode"] = attr_int(1);
  EXPECT_EQ(values(run1(c)), (std::vector<float>{1.5f, 3.5f, 5.0f}));
  c.attributes["count_include_pad"] = attr_int(1);
  EXPECT_EQ(values(run1(c)), (std::vector<float>{1.5f, 3.5f, 5.0f}));
}

TEST(AveragePool, ThreeSpatialDims) {
  // 2x2x2 mean over a 2x2x2 iota volume: 3.5.
  EXPECT_EQ(values(run1(pool("AveragePool", iota({1, 1, 2, 2, 2}), {2, 2, 2}))), (std::vector<float>{3.5f}));
}

TEST(GlobalPool, MeanAndMax) {
  OpCall avg{.op_type = "GlobalAveragePool", .inputs = {iota({1, 2, 2, 2})}};
  Tensor y = run1(avg);
  EXPECT_EQ(y.shape(), (Shape{1, 2, 1, 1}));
  EXPECT_EQ(values(y), (std::vector<float>{1.5f, 5.5f}));
  OpCall max{.op_type = "GlobalMaxPool", .inputs = {floats({2, 1, 3}, {-1, -7, -2, 4, 9, 0})}};
  EXPECT_EQ(values(run1(max)), (std::vector<float>{-1, 9}));
  // A long plane: 8 partial sums keep the mean of 1001 copies of 0.1 within float rounding.
  OpCall longer{.op_type = "GlobalAveragePool", .inputs = {floats({1, 1, 1001}, std::vector<float>(1001, 0.1f))}};
  constexpr float kMeanTolerance = 1e-6f;
  EXPECT_NEAR(values(run1(longer))[0], 0.1f, kMeanTolerance);
}

TEST(Pool, RejectsBadNodes) {
  OpCall no_kernel{.op_type = "MaxPool", .inputs = {iota({1, 1, 4, 4})}};
  EXPECT_EQ(run_error(no_kernel).code(), StatusCode::kInvalidArgument);
  OpCall order = pool("MaxPool", iota({1, 1, 4, 4}), {2, 2});
  order.attributes["storage_order"] = attr_int(2);
  EXPECT_EQ(run_error(order).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(pool("MaxPool", iota({1, 1, 4, 4}), {2})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(pool("MaxPool", Tensor(DType::kFloat64, {1, 1, 4}), {2})).code(), StatusCode::kUnsupported);
  EXPECT_EQ(run_error(pool("AveragePool", Tensor(DType::kInt8, {1, 1, 4}), {2})).code(), StatusCode::kUnsupported);
  EXPECT_EQ(run_error(pool("AveragePool", iota({1, 1, 2}), {3})).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tinyq::kernels
