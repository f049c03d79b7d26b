#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "kernels/shape_test_util.h"

namespace tinyq::kernels {
namespace {

using namespace shape_test;
using testing::attr_ints;

OpCall transpose(Tensor x, std::vector<int64_t> perm, KernelImpl impl = KernelImpl::kFast) {
  OpCall c{.op_type = "Transpose", .inputs = {std::move(x)}, .impl = impl};
  if (!perm.empty()) c.attributes["perm"] = attr_ints(std::move(perm));
  return c;
}

TEST(Transpose, DefaultReversesDims) {
  Tensor y = run1(transpose(iota<float>({2, 3}), {}));
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(Transpose, ThreeDimsHandComputed) {
  // x[i][j][k] = 6i + 3j + k with shape [2,2,3]; perm [2,0,1] gives y[k][i][j] = x[i][j][k].
  for (KernelImpl impl : {KernelImpl::kFast, KernelImpl::kReference}) {
    Tensor y = run1(transpose(iota<int32_t>({2, 2, 3}), {2, 0, 1}, impl));
    EXPECT_EQ(y.shape(), (Shape{3, 2, 2}));
    EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11}));
  }
}

TEST(Transpose, RejectsBadPerm) {
  EXPECT_EQ(run_error(transpose(iota<float>({2, 3}), {0, 0})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(transpose(iota<float>({2, 3}), {0, 1, 2})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(run_error(transpose(iota<float>({2, 3}), {0, 2})).code(), StatusCode::kInvalidArgument);
}

// Fast (coalesced, tiled) against the per-element reference, over every permutation of ranks 1-4
// and sizes that straddle the 16-element tile, for each element size.
template <typename T>
void sweep_fast_vs_reference() {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int64_t> dim(1, 21);
  for (int rank = 1; rank <= 4; ++rank) {
    for (int trial = 0; trial < 3; ++trial) {
      Shape shape(rank);
      for (auto& d : shape) d = dim(rng);
      if (trial == 2) shape[0] = 1;  // a unit dim exercises dim dropping
      std::vector<int64_t> perm(rank);
      for (int k = 0; k < rank; ++k) perm[k] = k;
      do {
        Tensor x = iota<T>(shape);
        Tensor fast = run1(transpose(x, perm, KernelImpl::kFast));
        Tensor ref = run1(transpose(x, perm, KernelImpl::kReference));
        ASSERT_EQ(fast.shape(), ref.shape());
        ASSERT_EQ(values<T>(fast), values<T>(ref)) << shape_str(shape) << " perm " << shape_str(perm);
      } while (std::next_permutation(perm.begin(), perm.end()));
    }
  }
  // Shapes with several full 16x16 tiles plus ragged edges: NCHW <-> NHWC and a batched 2-D.
  const std::vector<std::pair<Shape, std::vector<int64_t>>> tiled = {
      {{2, 33, 40}, {0, 2, 1}}, {{1, 17, 18, 19}, {0, 2, 3, 1}}, {{1, 18, 19, 17}, {0, 3, 1, 2}}};
  for (const auto& [shape, perm] : tiled) {
    Tensor x = iota<T>(shape);
    ASSERT_EQ(values<T>(run1(transpose(x, perm, KernelImpl::kFast))),
              values<T>(run1(transpose(x, perm, KernelImpl::kReference))))
        << shape_str(shape);
  }
}

TEST(Transpose, FastMatchesReferenceAllElementSizes) {
  sweep_fast_vs_reference<int8_t>();
  sweep_fast_vs_reference<int16_t>();
  sweep_fast_vs_reference<float>();
  sweep_fast_vs_reference<double>();
}

TEST(Transpose, LastTwoAxesLarge) {
  // A plain 2-D transpose bigger than several tiles, checked element by element.
  Tensor y = run1(transpose(iota<float>({2, 37, 45}), {0, 2, 1}));
  ASSERT_EQ(y.shape(), (Shape{2, 45, 37}));
  const float* p = y.data<float>();
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 45; ++i)
      for (int j = 0; j < 37; ++j) ASSERT_EQ(p[(b * 45 + i) * 37 + j], static_cast<float>(b * 37 * 45 + j * 45 + i));
}

TEST(Transpose, EmptyTensor) {
  EXPECT_EQ(run1(transpose(Tensor(DType::kFloat32, {0, 3}), {1, 0})).shape(), (Shape{3, 0}));
}

}  // namespace
}  // namespace tinyq::kernels
