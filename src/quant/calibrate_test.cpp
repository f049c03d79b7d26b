#include "quant/calibrate.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "io/npy.h"
#include "onnx/onnx_io.h"
#include "quant/histogram.h"
#include "quant/quant_test_util.h"

namespace fs = std::filesystem;

namespace tinyq::quant {
namespace {

using testing::relu_mul_model;

constexpr int64_t kRows = 10;
constexpr int64_t kFeatures = 3;

class CalibTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tinyq_calib_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // x[i][j] = (i - 4) / 2 + j for i < kRows: min -2 (row 0), max 4.5 (row 9); plus a label array.
  static Tensor features() {
    std::vector<float> x;
    for (int64_t i = 0; i < kRows; ++i)
      for (int64_t j = 0; j < kFeatures; ++j) x.push_back(static_cast<float>(i - 4) / 2.0f + static_cast<float>(j));
    return Tensor::from_vector<float>({kRows, kFeatures}, x);
  }
  std::string write(const std::string& name, const io::NamedArrays& arrays) const {
    const std::string path = (dir_ / name).string();
    EXPECT_TRUE(io::write_npz(path, arrays).is_ok());
    return path;
  }
  std::string calibration_set() const {
    return write("cal.npz", {{"label", Tensor::from_vector<float>({kRows}, std::vector<float>(kRows, 7.0f))},
                             {"x", features()}});
  }

  fs::path dir_;
};

const std::vector<std::string> kTensors = {"x", "r", "y"};

TEST_F(CalibTest, ObservesExactMinMaxOfEveryTensor) {
  std::vector<CalibrationProgress> seen;
  ObserveOptions options;
  options.rows_per_run = 4;  // 10 rows: runs of 4, 4 and 2
  options.progress = [&](const CalibrationProgress& p) { seen.push_back(p); };
  auto obs = observe(relu_mul_model(kFeatures), kTensors, calibration_set(), options);
  ASSERT_TRUE(obs.is_ok()) << obs.status().to_string();
  EXPECT_EQ(obs->rows(), kRows);
  EXPECT_EQ(obs->tensors(), kTensors);

  auto ranges = obs->ranges(RangeOptions{});
  ASSERT_TRUE(ranges.is_ok()) << ranges.status().to_string();
  // x in [-2, 4.5]; r = Relu(x) in [0, 4.5]; y = 2 r in [0, 9]. Exact: the extremes are observed.
  EXPECT_EQ((*ranges)["x"].min, -2.0f);
  EXPECT_EQ((*ranges)["x"].max, 4.5f);
  EXPECT_EQ((*ranges)["r"].min, 0.0f);
  EXPECT_EQ((*ranges)["r"].max, 4.5f);
  EXPECT_EQ((*ranges)["y"].min, 0.0f);
  EXPECT_EQ((*ranges)["y"].max, 9.0f);
  const TensorStats* y = obs->stats("y");
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(y->count, kRows * kFeatures);
  EXPECT_EQ(y->values.total(), kRows * kFeatures);
  EXPECT_EQ(y->values.bins(), options.bins);
  // y's zeros: x <= 0 at (row, col) with (i - 4) / 2 + j <= 0: rows 0..4 col 0, rows 0..2 col 1, row 0 col 2.
  EXPECT_EQ(y->values.counts()[0], 9);

  // Three runs per pass, counting up to all rows in each pass.
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(seen[0].pass, 0);
  EXPECT_EQ(seen[0].rows_done, 4);
  EXPECT_EQ(seen[2].rows_done, kRows);
  EXPECT_EQ(seen[5].pass, 1);
  EXPECT_EQ(seen[5].passes, 2);
  EXPECT_EQ(seen[5].rows_done, kRows);
  EXPECT_EQ(seen[5].rows_total, kRows);
}

TEST_F(CalibTest, RowsPerRunDoesNotChangeWhatIsSeen) {
  const std::string set = calibration_set();
  ObserveOptions one, all;
  all.rows_per_run = kRows;
  auto a = observe(relu_mul_model(kFeatures), kTensors, set, one);
  auto b = observe(relu_mul_model(kFeatures), kTensors, set, all);
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  for (const std::string& t : kTensors) {
    EXPECT_EQ(a->stats(t)->min, b->stats(t)->min) << t;
    EXPECT_EQ(a->stats(t)->max, b->stats(t)->max) << t;
    EXPECT_EQ(a->stats(t)->values.counts(), b->stats(t)->values.counts()) << t;
    EXPECT_EQ(a->stats(t)->magnitudes.counts(), b->stats(t)->magnitudes.counts()) << t;
  }
}

TEST_F(CalibTest, MissingInputArrayNamesFileAndInput) {
  const std::string set = write("labels.npz", {{"label", Tensor::from_vector<float>({2}, {1, 2})}});
  auto obs = observe(relu_mul_model(kFeatures), kTensors, set);
  ASSERT_FALSE(obs.is_ok());
  EXPECT_EQ(obs.status().code(), StatusCode::kNotFound);
  EXPECT_NE(obs.status().message().find(set), std::string::npos) << obs.status().message();
  EXPECT_NE(obs.status().message().find("input 'x'"), std::string::npos) << obs.status().message();
}

TEST_F(CalibTest, WrongRowShapeNamesTheArray) {
  const std::string set = write("wide.npz", {{"x", Tensor(DType::kFloat32, {kRows, kFeatures + 1})}});
  auto obs = observe(relu_mul_model(kFeatures), kTensors, set);
  ASSERT_FALSE(obs.is_ok());
  EXPECT_EQ(obs.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(obs.status().message().find("array 'x' is [10,4]"), std::string::npos) << obs.status().message();
  EXPECT_NE(obs.status().message().find("[?,3]"), std::string::npos) << obs.status().message();
}

TEST_F(CalibTest, NonFiniteValuesNameTensorAndRow) {
  Tensor x = features().clone();
  x.data<float>()[6 * kFeatures + 1] = std::numeric_limits<float>::quiet_NaN();
  const std::string nan_set = write("nan.npz", {{"x", x}});
  ObserveOptions batches;
  batches.rows_per_run = 4;  // row 6 sits in the second run
  auto obs = observe(relu_mul_model(kFeatures), kTensors, nan_set, batches);
  ASSERT_FALSE(obs.is_ok());
  EXPECT_NE(obs.status().message().find("tensor 'x' has NaN at calibration row 6"), std::string::npos)
      << obs.status().message();

  // Only y observed: an Inf input surfaces there.
  Tensor big = features().clone();
  big.data<float>()[3 * kFeatures] = std::numeric_limits<float>::infinity();
  const std::string inf_set = write("inf.npz", {{"x", big}});
  const std::vector<std::string> only_y = {"y"};
  obs = observe(relu_mul_model(kFeatures), only_y, inf_set);
  ASSERT_FALSE(obs.is_ok());
  EXPECT_NE(obs.status().message().find("tensor 'y' has +Inf at calibration row 3"), std::string::npos)
      << obs.status().message();
}

TEST_F(CalibTest, UnknownTensorAndUnobservedRangeAreNotFound) {
  const std::vector<std::string> names = {"r", "ghost"};
  auto obs = observe(relu_mul_model(kFeatures), names, calibration_set());
  ASSERT_FALSE(obs.is_ok());
  EXPECT_NE(obs.status().message().find("'ghost'"), std::string::npos) << obs.status().message();

  auto ok = observe(relu_mul_model(kFeatures), kTensors, calibration_set());
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  auto r = ok->range("ghost", RangeOptions{});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ok->stats("ghost"), nullptr);
}

TEST_F(CalibTest, ParsesMethodNames) {
  for (auto m : {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile, CalibrationMethod::kEntropy,
                 CalibrationMethod::kMse}) {
    auto parsed = parse_calibration_method(calibration_method_name(m));
    ASSERT_TRUE(parsed.is_ok());
    EXPECT_EQ(*parsed, m);
  }
  auto bad = parse_calibration_method("kl");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'kl'"), std::string::npos);
}

// nr_metric_v1 over its zoo calibration set (40 luma frames). Expected values computed once with
// numpy in float64 from the zoo files: frame's extremes, and those of the stem Conv's output
// 'getitem' (3x3 stride-2 pad-1 Conv with the model's weights, before its Clip).
constexpr int64_t kNrMetricRows = 40;
constexpr double kGetitemMin = -14.577793100836764;
constexpr double kGetitemMax = 13.592743174098985;
// float32 accumulation of 9 taps against numpy's float64.
constexpr double kConvTolerance = 1e-4;
// frame's 99.5% and 99% quantiles are 249/255 and 247/255 (numpy); luma is quantised in 1/255
// steps and a histogram cut lands within a step plus a bin (1/2048) of them.
constexpr double kFrameQ995 = 249.0 / 255.0;
constexpr double kFrameQ99 = 247.0 / 255.0;
constexpr double kLumaTolerance = 1.0 / 255.0 + 1.0 / 2048.0;

TEST(CalibZooTest, NrMetricCalibrationSet) {
  const fs::path zoo = fs::path(TINYQ_TEST_SHARED_DIR) / "zoo";
  const fs::path set = zoo / "fixtures" / "nr_metric_v1.calibration.npz";
  if (!fs::exists(set)) GTEST_SKIP() << "zoo not found at " << set;
  auto model = onnx_io::load_model((zoo / "models" / "nr_metric_v1.onnx").string());
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  const std::vector<std::string> names = {"frame", "getitem"};
  ObserveOptions options;
  options.rows_per_run = 8;
  auto obs = observe(*model, names, set.string(), options);
  ASSERT_TRUE(obs.is_ok()) << obs.status().to_string();
  EXPECT_EQ(obs->rows(), kNrMetricRows);
  const TensorStats* frame = obs->stats("frame");
  EXPECT_EQ(frame->min, 0.0f);
  EXPECT_EQ(frame->max, 1.0f);
  EXPECT_EQ(frame->count, kNrMetricRows * 224 * 224);
  const TensorStats* conv = obs->stats("getitem");
  EXPECT_NEAR(conv->min, kGetitemMin, kConvTolerance);
  EXPECT_NEAR(conv->max, kGetitemMax, kConvTolerance);

  RangeOptions p99;
  p99.method = CalibrationMethod::kPercentile;
  p99.percentile = 99.0;
  auto r = obs->range("frame", p99);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->min, 0.0f);  // the lower cut (near 6/255) is extended down to contain 0
  EXPECT_NEAR(r->max, kFrameQ995, kLumaTolerance);
  p99.symmetric = true;  // frame >= 0, so |frame| keeps 99% below the 99% quantile
  r = obs->range("frame", p99);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_NEAR(r->max, kFrameQ99, kLumaTolerance);
  EXPECT_EQ(r->min, -r->max);
}

}  // namespace
}  // namespace tinyq::quant
