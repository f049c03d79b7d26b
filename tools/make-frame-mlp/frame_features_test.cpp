// frame_features.h on frames small enough to compute by hand, and the committed frame_mlp_v1
// fixture rows against the bundled frames they were made from.
#include "frame_features.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "io/npy.h"
#include "tinyq/session.h"
#include "util/file.h"

namespace tinyq::frame_mlp {
namespace {

// The features are sums of a few dozen doubles: equal to the hand values to rounding.
constexpr double kTol = 1e-12;

TEST(FrameFeatures, SinglePeakInThreeByThree) {
  // 0 0 0 / 0 1 0 / 0 0 0
  const float x[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
  const auto f = frame_features(x, 3, 3);
  EXPECT_NEAR(f[0], 1.0 / 9, kTol);                    // mean
  EXPECT_NEAR(f[1], std::sqrt(8.0 / 81), kTol);        // std: 1/9 - 1/81
  EXPECT_NEAR(f[2], 2.0 / 6, kTol);                    // |dx|: row 1 has 1 + 1, over 3 x 2 pairs
  EXPECT_NEAR(f[3], 2.0 / 6, kTol);                    // |dy|: column 1 has 1 + 1, over 2 x 3 pairs
  EXPECT_NEAR(f[4], 16.0, kTol);                       // L at the centre = 4, one interior pixel
  EXPECT_NEAR(f[5], (64.0 / 81) / (8.0 / 81 + 1e-4), kTol);  // (1 - 1/9)^2 / (var + 1e-4)
}

TEST(FrameFeatures, VerticalLineSeparatesTheAxes) {
  // Four rows of 0 1 0: every horizontal step is 1, no vertical step.
  const float x[12] = {0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0};
  const auto f = frame_features(x, 4, 3);
  EXPECT_NEAR(f[0], 1.0 / 3, kTol);
  EXPECT_NEAR(f[1], std::sqrt(2.0 / 9), kTol);  // 1/3 - 1/9
  EXPECT_NEAR(f[2], 1.0, kTol);                 // 4 rows x (1 + 1) over 4 x 2 pairs
  EXPECT_NEAR(f[3], 0.0, kTol);
  EXPECT_NEAR(f[4], 4.0, kTol);                 // L = 4 - 1 - 1 - 0 - 0 = 2 at (1,1) and (2,1)
  EXPECT_NEAR(f[5], (4.0 / 9) / (2.0 / 9 + 1e-4), kTol);  // block mean 3/9, d = 2/3
}

TEST(FrameFeatures, ConstantFrameHasOnlyAMean) {
  std::vector<float> x(5 * 7, 0.25f);
  const auto f = frame_features(x.data(), 5, 7);
  EXPECT_NEAR(f[0], 0.25, kTol);
  for (int k = 1; k < kFeatures; ++k) EXPECT_NEAR(f[k], 0.0, kTol) << kFeatureNames[k];
}

TEST(FrameFeatures, TooSmallIsAllZeros) {
  const float x[4] = {1, 0, 0, 1};
  for (double v : frame_features(x, 2, 2)) EXPECT_EQ(v, 0.0);
}

Frame ramp(int n) {
  Frame f;
  f.size = n;
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) f.px.push_back(static_cast<float>(r * n + c) / (n * n));
  return f;
}

TEST(FrameEdits, FullZoomAndFlipTwiceAreIdentity) {
  const Frame f = ramp(6);
  EXPECT_EQ(zoom(f, 1.0).px, f.px);
  EXPECT_EQ(hflip(hflip(f)).px, f.px);
  EXPECT_EQ(hflip(f).at(2, 0), f.at(2, 5));
}

TEST(FrameEdits, BoxBlurKeepsAConstantAndAveragesInside) {
  Frame c;
  c.size = 4;
  c.px.assign(16, 0.5f);
  EXPECT_EQ(box3(c).px, c.px);
  const Frame f = ramp(4);
  double s = 0;
  for (int dr = 0; dr < 3; ++dr)
    for (int dc = 0; dc < 3; ++dc) s += f.at(dr, dc);
  EXPECT_NEAR(box3(f).at(1, 1), s / 9, 1e-7);
}

TEST(FrameEdits, NoiseIsSeededAndBounded) {
  const Frame f = ramp(8);
  const Frame a = add_noise(f, 0.05, 7), b = add_noise(f, 0.05, 7), c = add_noise(f, 0.05, 8);
  EXPECT_EQ(a.px, b.px);
  EXPECT_NE(a.px, c.px);
  for (size_t i = 0; i < f.px.size(); ++i) {
    EXPECT_LE(std::fabs(a.px[i] - f.px[i]), 0.05 + 1e-7);
    EXPECT_GE(a.px[i], 0.0f);
    EXPECT_LE(a.px[i], 1.0f);
  }
}

TEST(FrameEdits, PosteriseAndContrast) {
  Frame f;
  f.size = 3;
  f.px = {0.0f, 0.1f, 0.2f, 0.5f, 0.74f, 0.76f, 0.9f, 1.0f, 0.3f};
  const Frame p = posterise(f, 3);  // levels 0, 0.5, 1
  const std::vector<float> want = {0.0f, 0.0f, 0.0f, 0.5f, 0.5f, 1.0f, 1.0f, 1.0f, 0.5f};
  EXPECT_EQ(p.px, want);
  EXPECT_FLOAT_EQ(contrast(f, 0.5).at(0, 0), 0.25f);
  EXPECT_FLOAT_EQ(contrast(f, 2.0).at(2, 0), 1.0f);  // 0.5 + 2 * 0.4 clamped
}

// The committed rows (models/data/frame_mlp_v1.fixtures.*) are the documented formulas of the
// bundled frames they name, and their labels are nr_metric_v1's fp32 output on those frames.
namespace bundled {

namespace fs = std::filesystem;

const fs::path kData = fs::path(TINYQ_SOURCE_DIR) / "models" / "data";

const Tensor& array_named(const io::NamedArrays& arrays, const std::string& name) {
  for (const auto& [n, t] : arrays)
    if (n == name) return t;
  ADD_FAILURE() << "no array " << name;
  static const Tensor kEmpty;
  return kEmpty;
}

TEST(BundledFrameMlpData, FixtureRowsAreTheFeaturesAndLabelsOfTheirFrames) {
  auto rows = io::read_npz((kData / "frame_mlp_v1.fixtures.npz").string());
  ASSERT_TRUE(rows.is_ok()) << rows.status().message();
  auto meta = util::read_file((kData / "frame_mlp_v1.fixtures.json").string());
  ASSERT_TRUE(meta.is_ok()) << meta.status().message();
  const auto doc = nlohmann::json::parse(*meta);
  const Tensor& features = array_named(*rows, "features");
  const Tensor& score = array_named(*rows, "score");
  ASSERT_EQ(features.shape(), (Shape{64, kFeatures}));
  ASSERT_EQ(score.shape(), (Shape{64}));
  ASSERT_EQ(doc["samples"].size(), 64u);

  std::map<std::string, Tensor> frames;
  for (const char* set : {"nr_metric_v1.fixtures", "learned_filter_v1.fixtures"}) {
    auto a = io::read_npz((kData / (std::string(set) + ".npz")).string());
    ASSERT_TRUE(a.is_ok()) << a.status().message();
    frames[std::string(set) + ".npz"] = a->front().second;
  }
  SessionOptions reference;
  reference.reference_kernels = true;
  auto teacher = Session::open((kData.parent_path() / "nr_metric_v1.onnx").string(), reference);
  ASSERT_TRUE(teacher.is_ok()) << teacher.status().message();

  constexpr int kSide = 224;
  for (size_t i = 0; i < 64; ++i) {
    const auto& s = doc["samples"][i];
    ASSERT_EQ(s["edit"], "none");
    const Tensor& set = frames.at(s["source"].get<std::string>());
    const int64_t row = s["source_row"].get<int64_t>();
    const float* px = set.data<float>() + row * kSide * kSide;
    const auto f = frame_features(px, kSide, kSide);
    for (int k = 0; k < kFeatures; ++k)
      EXPECT_EQ(features.data<float>()[i * kFeatures + k], static_cast<float>(f[k])) << "row " << i << " " << kFeatureNames[k];
    if (i % 16 == 0) {  // the teacher costs a CNN run per row: every 16th row
      std::vector<float> frame(px, px + kSide * kSide);
      Tensor in = Tensor::from_vector<float>({1, 1, kSide, kSide}, frame);
      auto out = (*teacher)->run(std::span<const Tensor>(&in, 1));
      ASSERT_TRUE(out.is_ok()) << out.status().message();
      EXPECT_FLOAT_EQ((*out)[0].data<float>()[0], score.data<float>()[i]) << "row " << i;
    }
  }
}

}  // namespace bundled
}  // namespace
}  // namespace tinyq::frame_mlp
