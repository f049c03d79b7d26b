#include <gtest/gtest.h>

#include <random>

#include "kernels/int8_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace int8_test;
using testing::attr_int;
using testing::attr_ints;

OpCall conv_integer(Tensor x, Tensor w, Tensor x_zp = {}, Tensor w_zp = {}) {
  return OpCall{.op_type = "ConvInteger", .inputs = {std::move(x), std::move(w), std::move(x_zp), std::move(w_zp)}};
}

TEST(ConvInteger, HandComputedWithPadding) {
  // x - 1 = [[1,2,3],[4,5,6],[7,8,9]], w = 2x2 ones.
  const Tensor x = u8({1, 1, 3, 3}, {2, 3, 4, 5, 6, 7, 8, 9, 10});
  const Tensor w = u8({1, 1, 2, 2}, {1, 1, 1, 1});
  OpCall c = conv_integer(x, w, u8({}, {1}));
  EXPECT_EQ(values<int32_t>(run_both(c)), (std::vector<int32_t>{12, 16, 24, 28}));
  c.constant_inputs = {false, false, false, false};
  EXPECT_EQ(values<int32_t>(run_both(c)), (std::vector<int32_t>{12, 16, 24, 28}));
  // Padding stands for the zero point, so it adds nothing.
  c.attributes["pads"] = attr_ints({1, 1, 1, 1});
  Tensor y = run_both(c);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 4, 4}));
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9}));
}

TEST(ConvInteger, PerChannelWeightZeroPointsAndSignedInput) {
  // x - (-128) = [0, 255]; w - [2, -128] = [3, 125].
  OpCall c = conv_integer(s8({1, 1, 1, 2}, {-128, 127}), s8({2, 1, 1, 1}, {5, -3}), s8({}, {-128}), s8({2}, {2, -128}));
  EXPECT_EQ(values<int32_t>(run_both(c)), (std::vector<int32_t>{0, 765, 0, 31875}));
}

TEST(ConvInteger, Groups) {
  // Two groups of one channel: channel 0 times 2, channel 1 times -1.
  OpCall c = conv_integer(u8({1, 2, 1, 2}, {1, 2, 3, 4}), s8({2, 1, 1, 1}, {2, -1}));
  c.attributes["group"] = attr_int(2);
  EXPECT_EQ(values<int32_t>(run_both(c)), (std::vector<int32_t>{2, 4, -3, -4}));
}

TEST(ConvInteger, FullRangeDoesNotSaturate) {
  // 4 channels x 3x3: 36 products of (255 - 0) * (-128 - 127) = -65025 each.
  const Tensor x = u8({1, 4, 3, 3}, std::vector<uint8_t>(36, 255));
  const Tensor w = s8({1, 4, 3, 3}, std::vector<int8_t>(36, -128));
  EXPECT_EQ(values<int32_t>(run_both(conv_integer(x, w, u8({}, {0}), s8({}, {127})))),
            (std::vector<int32_t>{-65025 * 36}));
}

// Random geometries with full-range values against fp32 Conv on (x - x_zp) and (w - w_zp): with
// depth <= 200 every partial sum stays below 2^24, so the float convolution is exact.
template <typename TX, typename TW>
void sweep(uint32_t seed) {
  std::mt19937 rng(seed);
  auto draw = [&](auto tag) {
    using T = decltype(tag);
    return static_cast<T>(std::uniform_int_distribution<int>(std::numeric_limits<T>::min(), std::numeric_limits<T>::max())(rng));
  };
  for (int iter = 0; iter < 12; ++iter) {
    const int64_t groups = 1 + rng() % 2, cin_g = 1 + rng() % 3, cout_g = 1 + rng() % 3;
    const int64_t kh = 1 + rng() % 3, kw = 1 + rng() % 3, h = kh + rng() % 5, wd = 2 * kw - 1 + rng() % 4;
    const int64_t cin = groups * cin_g, cout = groups * cout_g;
    std::vector<TX> x(cin * h * wd);
    std::vector<TW> w(cout * cin_g * kh * kw), wzp(cout);
    for (auto& v : x) v = draw(TX{});
    for (auto& v : w) v = draw(TW{});
    for (auto& v : wzp) v = draw(TW{});
    const TX xzp = draw(TX{});
    std::vector<float> xf(x.size()), wf(w.size());
    for (size_t i = 0; i < x.size(); ++i) xf[i] = static_cast<float>(int{x[i]} - int{xzp});
    for (size_t i = 0; i < w.size(); ++i) wf[i] = static_cast<float>(int{w[i]} - int{wzp[i / (cin_g * kh * kw)]});
    std::map<std::string, ir::Attribute> attrs;
    attrs["group"] = attr_int(groups);
    attrs["strides"] = attr_ints({1 + static_cast<int64_t>(rng() % 2), 1});
    attrs["dilations"] = attr_ints({1, 1 + static_cast<int64_t>(rng() % 2)});
    attrs["pads"] = attr_ints({static_cast<int64_t>(rng() % 2), 1, 0, static_cast<int64_t>(rng() % 2)});
    OpCall ci = conv_integer(tensor<TX>({1, cin, h, wd}, x), tensor<TW>({cout, cin_g, kh, kw}, w), tensor<TX>({}, {xzp}),
                             tensor<TW>({cout}, wzp));
    ci.attributes = attrs;
    OpCall cf{.op_type = "Conv", .attributes = attrs, .inputs = {f32({1, cin, h, wd}, xf), f32({cout, cin_g, kh, kw}, wf)},
              .impl = KernelImpl::kReference};
    Result<std::vector<Tensor>> want = testing::run_op(cf);
    ASSERT_TRUE(want.is_ok()) << want.status().to_string();
    const Tensor got = run_both(ci);
    ASSERT_EQ(got.shape(), (*want)[0].shape());
    const std::vector<float> wv = values<float>((*want)[0]);
    const std::vector<int32_t> gv = values<int32_t>(got);
    for (size_t i = 0; i < gv.size(); ++i) ASSERT_EQ(static_cast<float>(gv[i]), wv[i]) << "iteration " << iter << " [" << i << "]";
  }
}

TEST(ConvInteger, FullRangeSweepAllTypePairs) {
  sweep<uint8_t, int8_t>(11);
  sweep<uint8_t, uint8_t>(12);
  sweep<int8_t, int8_t>(13);
  sweep<int8_t, uint8_t>(14);
}

TEST(ConvInteger, BadInputsAreLoadTimeErrors) {
  const Tensor x = u8({1, 1, 3, 3}, {2, 3, 4, 5, 6, 7, 8, 9, 10});
  const Tensor w = s8({2, 1, 2, 2}, {1, 1, 1, 1, 1, 1, 1, 1});
  expect_load_error(conv_integer(x, w, s8({}, {1})), "x_zero_point has dtype int8");
  expect_load_error(conv_integer(x, w, u8({2}, {1, 1})), "x_zero_point");
  expect_load_error(conv_integer(x, w, {}, s8({3}, {0, 0, 0})), "w_zero_point");
  expect_load_error(conv_integer(x, w, {}, u8({2}, {0, 0})), "w_zero_point has dtype uint8");
  OpCall bad_group = conv_integer(x, w);
  bad_group.attributes["group"] = attr_int(3);
  expect_load_error(bad_group, "group");
}

}  // namespace
}  // namespace tinyq::kernels
