#include "tinyq/tensor.h"

#include <gtest/gtest.h>

#include "tinyq/status.h"

namespace tinyq {
namespace {

TEST(Tensor, ZeroFilledAndAligned) {
  Tensor t(DType::kFloat32, {2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 24u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data<float>()[i], 0.0f);
}

TEST(Tensor, ScalarHasOneElement) {
  Tensor t(DType::kInt64, {});
  EXPECT_EQ(t.numel(), 1);
  EXPECT_EQ(shape_str(t.shape()), "[]");
}

TEST(Tensor, CloneIsDeepReshapeShares) {
  Tensor a = Tensor::from_vector<int32_t>({4}, {1, 2, 3, 4});
  Tensor b = a.clone();
  Tensor c = a.reshaped({2, 2});
  a.data<int32_t>()[0] = 9;
  EXPECT_EQ(b.data<int32_t>()[0], 1);
  EXPECT_EQ(c.data<int32_t>()[0], 9);
  EXPECT_EQ(c.shape(), (Shape{2, 2}));
  EXPECT_EQ(a.to_int64(), (std::vector<int64_t>{9, 2, 3, 4}));
}

TEST(Status, CarriesCodeAndContext) {
  Status s = Status::not_found("x.onnx").with_context("loading");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "loading: x.onnx");
  Result<int> r = Status::corrupt("bad");
  EXPECT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  Result<int> v = 3;
  EXPECT_EQ(*v, 3);
}

}  // namespace
}  // namespace tinyq
