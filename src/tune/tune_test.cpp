// tune_registered() in process: the choice, the order of candidates, QAT through a stand-in
// trainer, determinism, and errors that leave the registry alone.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "tinyq/tune.h"
#include "tune/tune_test_util.h"

namespace tinyq {
namespace {

namespace fs = std::filesystem;
using namespace tune_testing;  // NOLINT(google-build-using-namespace)

constexpr int64_t kCalibrationRows = 4;
constexpr int64_t kFixtureRows = 6;
constexpr double kLooseBudget = 0.5;      // every candidate of nr_metric meets it
constexpr double kExactBudget = 1e-12;    // only a model that reproduces fp32 meets it
const std::string kData = "\"quant_calibration_set\": \"cal.npz\",\n      \"fixtures\": \"fx.npz\"";

// One method, one format, one granularity: a dynamic and a static candidate.
TuneOptions narrow() {
  TuneOptions o;
  o.methods = {CalibrationMethod::kMinMax};
  o.activations = {ActivationFormat::kU8};
  o.per_channel = {true};
  o.max_fp32_layers = 0;
  return o;
}

class Tune : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test_folder("tune"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string registry(const std::string& extra = kData) {
    return write_scratch_registry(dir_, "fp32", extra, kCalibrationRows, kFixtureRows).string();
  }
  fs::path dir_;
};

TEST_F(Tune, TheCheapestModeThatQualifiesIsWrittenWithItsReason) {
  const std::string reg = registry();
  TuneOptions o = narrow();
  o.budget = kLooseBudget;
  o.allow_slower = true;
  std::vector<std::string> events;
  o.on_event = [&](const TuneEvent& e) {
    if (e.kind != TuneEvent::Kind::kCandidateProgress) events.push_back(std::to_string(static_cast<int>(e.kind)) + " " + e.text);
  };
  auto r = tune_registered(reg, "nr", o);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->trials.size(), 1u);  // dynamic qualified, so static and qat were not tried
  ASSERT_EQ(r->chosen, std::optional<size_t>(0));
  EXPECT_TRUE(r->written);
  EXPECT_EQ(events, (std::vector<std::string>{"0 dynamic", "2 dynamic per-channel", "4 dynamic per-channel",
                                              "1 static: a cheaper mode already meets the budget",
                                              "1 qat: a cheaper mode already meets the budget"}));
  auto loaded = Registry::load(reg);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  const RegistryEntry& e = *loaded->find("nr");
  EXPECT_EQ(e.quant_mode, QuantMode::kDynamic);
  EXPECT_EQ(e.int8_sha256, r->trials[0].sha256);
  EXPECT_EQ(e.int8_sha256, sha_of(read_bytes(dir_ / "nr.int8.onnx")));
  EXPECT_EQ(e.notes, r->notes);
  EXPECT_EQ(recorded_tune_recipe(e.notes)->mode, QuantMode::kDynamic);
}

TEST_F(Tune, EveryCandidateIsDeterministic) {
  const std::string reg = registry();
  TuneOptions o = narrow();
  o.methods = {CalibrationMethod::kMinMax, CalibrationMethod::kMse};
  o.activations = {ActivationFormat::kU8, ActivationFormat::kS8};
  o.per_channel = {true, false};
  o.try_all = true;
  o.write = false;
  auto first = tune_registered(reg, "nr", o);
  auto second = tune_registered(reg, "nr", o);
  ASSERT_TRUE(first.is_ok() && second.is_ok());
  ASSERT_EQ(first->trials.size(), 2u + 2 * 2 * 2);
  ASSERT_EQ(second->trials.size(), first->trials.size());
  std::set<std::string> distinct;
  for (size_t i = 0; i < first->trials.size(); ++i) {
    const TuneTrial& a = first->trials[i];
    ASSERT_EQ(a.outcome, TuneTrial::Outcome::kMeasured) << a.message;
    EXPECT_EQ(a.recipe, second->trials[i].recipe);
    EXPECT_EQ(a.sha256, second->trials[i].sha256) << *tune_recipe_text(a.recipe);
    EXPECT_EQ(a.drop, second->trials[i].drop) << *tune_recipe_text(a.recipe);
    distinct.insert(a.sha256);
  }
  EXPECT_EQ(distinct.size(), first->trials.size()) << "each recipe makes its own file";
  EXPECT_FALSE(first->written);
  EXPECT_FALSE(fs::exists(dir_ / "nr.int8.onnx"));
}

TEST_F(Tune, QatIsTriedLastThroughTheTrainerItIsGiven) {
  write_rows(bundled_models() / "data" / "nr_metric_v1.calibration.npz", kCalibrationRows, dir_ / "train.npz");
  const std::string reg = registry(kData + ",\n      \"train_set\": \"train.npz\"");
  TuneOptions o = narrow();
  o.budget = kExactBudget;
  o.allow_slower = true;
  std::vector<QatRequest> requests;
  // A stand-in trainer whose "int8" file is the fp32 model itself: a drop of exactly 0.
  o.qat_trainer = [&](const std::string& model, const std::string& output, const QatRequest& q) {
    requests.push_back(q);
    fs::copy_file(model, output, fs::copy_options::overwrite_existing);
    return Status::ok();
  };
  auto r = tune_registered(reg, "nr", o);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->trials.size(), 3u);
  EXPECT_FALSE(r->trials[0].meets_budget);
  EXPECT_FALSE(r->trials[1].meets_budget);
  ASSERT_EQ(r->chosen, std::optional<size_t>(2));
  EXPECT_EQ(r->trials[2].recipe.mode, QuantMode::kQat);
  EXPECT_EQ(r->trials[2].drop, 0.0);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(fs::path(requests[0].train_set), dir_ / "train.npz");
  EXPECT_EQ(requests[0].recipe.method, CalibrationMethod::kMinMax);  // from the best static candidate
  // The reason says why the cheaper modes lost.
  EXPECT_NE(r->reason.find("(dynamic: drop "), std::string::npos) << r->reason;
  EXPECT_NE(r->reason.find("; static: drop "), std::string::npos) << r->reason;
  EXPECT_EQ(Registry::load(reg)->find("nr")->quant_mode, QuantMode::kQat);
}

TEST_F(Tune, QatIsSkippedWithTheReason) {
  const std::string reg = registry();
  TuneOptions o = narrow();
  o.budget = kExactBudget;
  o.write = false;
  auto without_trainer = tune_registered(reg, "nr", o);
  ASSERT_TRUE(without_trainer.is_ok());
  EXPECT_EQ(without_trainer->skipped, (std::vector<std::string>{"qat: this tinyq was built without QAT (TINYQ_WITH_QAT, libtorch)"}));
  o.qat_trainer = [](const std::string&, const std::string&, const QatRequest&) { return Status::internal("not called"); };
  auto without_train_set = tune_registered(reg, "nr", o);
  ASSERT_TRUE(without_train_set.is_ok());
  EXPECT_EQ(without_train_set->skipped, (std::vector<std::string>{"qat: the entry has no train_set"}));
  o.qat = false;
  auto not_asked = tune_registered(reg, "nr", o);
  ASSERT_TRUE(not_asked.is_ok());
  EXPECT_EQ(not_asked->skipped, (std::vector<std::string>{"qat: not asked for (--no-qat)"}));
  EXPECT_FALSE(not_asked->chosen.has_value());
}

TEST_F(Tune, LayersAreKeptInFp32OneAtATimeWhenNothingQualifies) {
  const std::string reg = registry();
  const std::string before = read_bytes(reg);
  TuneOptions o = narrow();
  o.budget = kExactBudget;
  o.max_fp32_layers = 2;
  auto r = tune_registered(reg, "nr", o);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_FALSE(r->chosen.has_value());
  // 2 first candidates, then per round one retry for each of dynamic and static.
  ASSERT_EQ(r->trials.size(), 2u + 2 * 2);
  for (size_t i = 2; i < r->trials.size(); ++i) {
    const TuneTrial& t = r->trials[i];
    const TuneTrial& base = r->trials[i - 2];
    ASSERT_EQ(t.recipe.fp32_nodes.size(), base.recipe.fp32_nodes.size() + 1) << i;
    EXPECT_EQ(t.recipe.mode, base.recipe.mode);
    EXPECT_NE(t.excluded_because.find("kept " + t.recipe.fp32_nodes.back() + " in fp32 (SQNR "), std::string::npos)
        << t.excluded_because;
  }
  EXPECT_NE(r->reason.find("the registry is unchanged"), std::string::npos) << r->reason;
  EXPECT_EQ(read_bytes(reg), before);
  EXPECT_FALSE(fs::exists(dir_ / "nr.int8.onnx"));
}

TEST_F(Tune, BadInputIsAnErrorThatNamesItAndWritesNothing) {
  const std::string reg = registry();
  const std::string before = read_bytes(reg);
  auto unknown = tune_registered(reg, "nope", narrow());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("has no model 'nope' (models: nr)"), std::string::npos) << unknown.status().message();
  for (double bad : {-0.1, std::nan(""), 2.0}) {
    TuneOptions o = narrow();
    o.budget = bad;
    auto r = tune_registered(reg, "nr", o);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("the budget is"), std::string::npos) << r.status().message();
  }
  TuneOptions empty = narrow();
  empty.methods.clear();
  EXPECT_EQ(tune_registered(reg, "nr", empty).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(read_bytes(reg), before);

  const std::string no_fixtures = registry("\"quant_calibration_set\": \"cal.npz\"");
  auto r = tune_registered(no_fixtures, "nr", narrow());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("names no fixture set (registry field /models/0/fixtures)"), std::string::npos)
      << r.status().message();

  ASSERT_TRUE(io::write_npz((dir_ / "wrong.npz").string(),
                            {{"frame", Tensor::from_vector<float>({2, 1, 8, 8}, std::vector<float>(2 * 64, 0.5f))}})
                  .is_ok());
  for (const std::string& extra : {std::string("\"quant_calibration_set\": \"cal.npz\",\n      \"fixtures\": \"wrong.npz\""),
                                   std::string("\"quant_calibration_set\": \"wrong.npz\",\n      \"fixtures\": \"fx.npz\"")}) {
    const std::string bad = registry(extra);
    const std::string text = read_bytes(bad);
    auto shaped = tune_registered(bad, "nr", narrow());
    EXPECT_EQ(shaped.status().code(), StatusCode::kInvalidArgument) << extra;
    EXPECT_NE(shaped.status().message().find("wrong.npz' has shape [2,1,8,8]"), std::string::npos) << shaped.status().message();
    EXPECT_EQ(read_bytes(bad), text);
  }
}

}  // namespace
}  // namespace tinyq
