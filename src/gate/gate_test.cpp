// The gate library: evaluate_pair, judge and gate_model on scratch registries (gate_test_util.h).
// Bad-input cases run without the zoo; the accuracy cases read the zoo's int8 models at run time.
#include "tinyq/gate.h"

#include <cmath>
#include <limits>

#include "gate/gate_test_util.h"

namespace tinyq {
namespace {

using namespace gate_testing;

// Zoo numbers, computed once with numpy from the zoo's reference files (ORT fp32 against the
// exact-integer int8 evaluation) and hard-coded here.
constexpr double kNrMetricDrop = 0.0070046125259456415;   // 1 - PLCC(int8_exact, fp32), mos
constexpr double kVmafV3Drop = 2.199050039086714e-05;     // same, vmaf
constexpr double kVmafV3LabelDrop = 2.224403948147824e-06;  // PLCC(fp32, label) - PLCC(int8, label)
constexpr double kVmafV3PlccFp32Labels = 0.9995299602044639;
constexpr double kVmafV3Rmse = 0.5801582389734528;
constexpr double kVmafV3MaxAbs = 1.690982386469841;
// tinyq's fp32 differs from ORT's by ~1e-6 and its int8 equals the exact evaluation, so the
// gate's numbers match the references to a few parts in a million.
constexpr double kFilterDrop2Rows = 0.0002266144326088515;  // learned_filter_v1, first 2 rows, all values
constexpr double kZooDropTolerance = 2e-6;
constexpr double kZooValueTolerance = 1e-4;  // RMSE and max error, in VMAF points
constexpr double kIdentical = 1e-12;         // the drop of a model against itself

// ---- Without the zoo ----

TEST_F(GateRegistry, AModelAgainstItselfHasNoDropAndPassesABudgetOfZero) {
  write_fixtures({{"features", synthetic_features(40, 1)}});
  GateOptions o;
  o.budget = 0.0;
  auto g = gate(json::array({self_entry()}), "self", o);
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  ASSERT_EQ(g->metrics.outputs.size(), 1u);
  const OutputMetrics& m = g->metrics.outputs[0];
  EXPECT_EQ(m.name, "vmaf");
  EXPECT_EQ(m.values, 40);
  EXPECT_NEAR(m.plcc, 1.0, kIdentical);
  EXPECT_NEAR(m.srocc, 1.0, kIdentical);
  EXPECT_EQ(m.rmse, 0.0);
  EXPECT_EQ(m.max_abs_error, 0.0);
  EXPECT_EQ(m.reference, GateReference::kFp32);  // no labels in the set
  EXPECT_FALSE(m.has_labels);
  EXPECT_NEAR(m.drop_ci.hi, 0.0, kIdentical);
  EXPECT_TRUE(g->verdict.passed) << g->verdict.failures[0];
  // The fp32 run really loaded the fp32 file (force_fp32), the other the int8 one.
  EXPECT_EQ(fs::path(g->fp32_file).filename(), "self.onnx");
  EXPECT_EQ(fs::path(g->int8_file).filename(), "self.int8.onnx");
  EXPECT_EQ(g->metrics.rows, 40);
  EXPECT_GT(g->metrics.fp32_median_us, 0.0);
}

TEST_F(GateRegistry, EvaluatePairTakesAnyTwoSessions) {
  // What tinyq tune does per candidate: two sessions and a fixture set, no registry.
  write_fixtures({{"features", synthetic_features(12, 2)}});
  json e = self_entry();
  auto a = Session::open((dir_ / "self.onnx").string());
  auto b = Session::open((dir_ / "self.int8.onnx").string());
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  auto fx = load_fixtures((dir_ / "fx.npz").string(), **a);
  ASSERT_TRUE(fx.is_ok()) << fx.status().message();
  EvaluateOptions eo;
  eo.keep_outputs = true;
  int64_t last = 0;
  eo.progress = [&](int64_t done, int64_t total) {
    EXPECT_EQ(total, 12);
    last = done;
  };
  auto m = evaluate_pair(**a, **b, *fx, eo);
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  EXPECT_EQ(last, 12);
  ASSERT_EQ(m->fp32_outputs.size(), 1u);
  EXPECT_EQ(m->fp32_outputs[0].shape(), (Shape{12}));
  EXPECT_NEAR(m->outputs[0].drop, 0.0, kIdentical);
}

TEST_F(GateRegistry, LabelsAreUsedWhenPresentAndTheirShapeIsChecked) {
  Tensor features = synthetic_features(30, 3);
  std::vector<float> labels;
  for (int i = 0; i < 30; ++i) labels.push_back(static_cast<float>(i));
  write_fixtures({{"features", features}, {"vmaf", Tensor::from_vector<float>({30}, labels)}});
  auto g = gate(json::array({self_entry()}), "self");
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  const OutputMetrics& m = g->metrics.outputs[0];
  EXPECT_TRUE(m.has_labels);
  EXPECT_EQ(m.reference, GateReference::kLabels);
  EXPECT_EQ(m.drop, m.drop_labels);
  EXPECT_NEAR(m.drop_labels, 0.0, kIdentical);  // the same model: the same PLCC with the labels
  EXPECT_NEAR(m.plcc_fp32_labels, m.plcc_int8_labels, kIdentical);

  write_fixtures({{"features", features}, {"vmaf", Tensor::from_vector<float>({29}, std::vector<float>(labels.begin(), labels.end() - 1))}});
  expect_error(gate(json::array({self_entry()}), "self"), {"label array 'vmaf'", "fx.npz", "[29]", "[30]"});
}

TEST_F(GateRegistry, TheEntryChoosesTheReference) {
  write_fixtures({{"features", synthetic_features(10, 4)}});
  json e = self_entry();
  e["quant_gate_reference"] = "labels";
  expect_error(gate(json::array({e}), "self"), {"against labels", "no array named 'vmaf'", "fx.npz"});
  e["quant_gate_reference"] = "fp32";
  auto g = gate(json::array({e}), "self");
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  EXPECT_EQ(g->metrics.outputs[0].reference, GateReference::kFp32);
}

// ---- Bad input (issue 7, item 5): each is an error naming the file, field or model ----

TEST_F(GateRegistry, MissingFixtureFile) {
  json e = self_entry();
  e["fixtures"] = "absent.npz";
  expect_error(gate(json::array({e}), "self"), {"absent.npz", "model 'self'"});
}

TEST_F(GateRegistry, FixtureOfTheWrongShape) {
  write_fixtures({{"features", Tensor(DType::kFloat32, {8, 5})}});
  expect_error(gate(json::array({self_entry()}), "self"), {"'features'", "fx.npz", "[8,5]", "[N,6]"});
}

TEST_F(GateRegistry, FixtureWithoutTheModelsInput) {
  write_fixtures({{"frames", synthetic_features(8, 5)}});
  expect_error(gate(json::array({self_entry()}), "self"), {"no array for model input 'features'", "fx.npz", "frames"});
}

TEST_F(GateRegistry, FixtureOfOneRowOrWithNaN) {
  write_fixtures({{"features", synthetic_features(1, 6)}});
  expect_error(gate(json::array({self_entry()}), "self"), {"1 row", "at least 2"});
  Tensor bad = synthetic_features(4, 6);
  bad.data<float>()[7] = std::numeric_limits<float>::quiet_NaN();
  write_fixtures({{"features", bad}});
  expect_error(gate(json::array({self_entry()}), "self"), {"'features'", "non-finite", "index 7"});
}

TEST_F(GateRegistry, UnknownModelId) {
  write_fixtures({{"features", synthetic_features(4, 7)}});
  expect_error(gate(json::array({self_entry()}), "nope"), {"no model 'nope'"});
}

TEST_F(GateRegistry, NoFixturesField) {
  json e = self_entry();
  e.erase("fixtures");
  expect_error(gate(json::array({e}), "self"), {"model 'self'", "no fixture set", "/models/0/fixtures", "never"});
}

TEST_F(GateRegistry, NegativeBudgetInTheRegistry) {
  write_fixtures({{"features", synthetic_features(4, 8)}});
  json e = self_entry();
  e["quant_accuracy_budget_plcc"] = -0.01;
  auto report = gate_registry(write_registry(json::array({e})), std::vector<std::string>{"self"}, false, {});
  ASSERT_FALSE(report.is_ok());
  EXPECT_NE(report.status().message().find("/models/0/quant_accuracy_budget_plcc"), std::string::npos) << report.status().message();
}

TEST_F(GateRegistry, NaNOrNegativeBudgetOverride) {
  write_fixtures({{"features", synthetic_features(4, 9)}});
  const std::string path = write_registry(json::array({self_entry()}));
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), -0.5, 1.5, std::numeric_limits<double>::infinity()}) {
    GateOptions o;
    o.budget = bad;
    auto report = gate_registry(path, std::vector<std::string>{"self"}, false, o);
    ASSERT_FALSE(report.is_ok()) << bad;
    EXPECT_NE(report.status().message().find("budget override"), std::string::npos) << report.status().message();
    expect_error(gate(json::array({self_entry()}), "self", o), {"budget override", "[0, 1]"});
  }
  EXPECT_TRUE(check_budget(0.0, "b").is_ok());
  EXPECT_TRUE(check_budget(1.0, "b").is_ok());
}

TEST_F(GateRegistry, Int8DigestMismatch) {
  write_fixtures({{"features", synthetic_features(4, 10)}});
  json e = self_entry();
  e["int8_sha256"] = std::string(64, 'a');
  expect_error(gate(json::array({e}), "self"), {"sha256 mismatch", "self.int8.onnx"});
}

TEST_F(GateRegistry, Fp32ModelsAreSkippedWithAllAndAnErrorByName) {
  write_fixtures({{"features", synthetic_features(6, 11)}});
  json fp32 = self_entry("plain");
  fp32["quant_mode"] = "fp32";
  fp32.erase("int8_sha256");
  json entries = json::array({fp32, self_entry()});
  expect_error(gate(entries, "plain"), {"model 'plain'", "quant_mode fp32", "nothing to gate"});
  auto report = gate_registry(write_registry(entries), {}, true, {});
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  ASSERT_EQ(report->models.size(), 2u);
  EXPECT_EQ(report->models[0].outcome, GateReport::Outcome::kSkipped);
  EXPECT_EQ(report->models[1].outcome, GateReport::Outcome::kPass);
  EXPECT_EQ(report->exit_code(), 0);
  auto by_name = gate_registry(write_registry(entries), std::vector<std::string>{"plain"}, false, {});
  ASSERT_TRUE(by_name.is_ok());
  EXPECT_EQ(by_name->models[0].outcome, GateReport::Outcome::kError);
  EXPECT_EQ(by_name->exit_code(), 2);
}

TEST(GateJudge, GatesThePointOrTheUpperBoundAndOptionallyTheSpeed) {
  PairMetrics m;
  OutputMetrics o;
  o.name = "y";
  o.drop = 0.004;
  o.drop_ci = {0.002, 0.012};
  m.outputs.push_back(o);
  m.fp32_median_us = 10;
  m.int8_median_us = 12;
  m.latency_ratio = 1.2;
  EXPECT_TRUE(judge(m, {.budget = 0.01}).passed);
  GateVerdict upper = judge(m, {.budget = 0.01, .gate_on = GateOn::kUpper});
  EXPECT_FALSE(upper.passed);
  ASSERT_EQ(upper.failures.size(), 1u);
  EXPECT_NE(upper.failures[0].find("upper bound"), std::string::npos);
  GateVerdict slow = judge(m, {.budget = 0.01, .require_speedup = true});
  EXPECT_FALSE(slow.passed);
  EXPECT_NE(slow.failures[0].find("not faster"), std::string::npos);
  m.outputs[0].drop = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(judge(m, {.budget = 1.0}).passed);  // an undefined drop never passes
}

// ---- The zoo: real int8 models on real fixtures ----

TEST_F(GateRegistry, ZooDynamicModelsPassABudgetOf001AndFailOf00001) {
  SKIP_WITHOUT_ZOO();
  const std::string path = write_registry(json::array({zoo_entry("vmaf_tiny_v3"), zoo_entry("nr_metric_v1")}));
  auto report = gate_registry(path, {}, true, {});
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  ASSERT_EQ(report->models.size(), 2u);
  for (const auto& e : report->models) ASSERT_TRUE(e.gate) << e.id << ": " << e.message;
  EXPECT_EQ(report->exit_code(), 0);

  const ModelGate& v3 = *report->models[0].gate;
  const OutputMetrics& vm = v3.metrics.outputs.at(0);
  EXPECT_EQ(v3.metrics.rows, 512);
  EXPECT_EQ(vm.reference, GateReference::kLabels);  // the feature set carries vmaf labels
  EXPECT_NEAR(vm.drop_fp32, kVmafV3Drop, kZooDropTolerance);
  EXPECT_NEAR(vm.drop_labels, kVmafV3LabelDrop, kZooDropTolerance);
  EXPECT_NEAR(vm.plcc_fp32_labels, kVmafV3PlccFp32Labels, kZooDropTolerance);
  EXPECT_NEAR(vm.rmse, kVmafV3Rmse, kZooValueTolerance);
  EXPECT_NEAR(vm.max_abs_error, kVmafV3MaxAbs, kZooValueTolerance);

  const ModelGate& nr = *report->models[1].gate;
  const OutputMetrics& mos = nr.metrics.outputs.at(0);
  EXPECT_EQ(nr.metrics.rows, 128);
  EXPECT_EQ(mos.reference, GateReference::kFp32);  // images: no labels
  EXPECT_NEAR(mos.drop, kNrMetricDrop, kZooDropTolerance);
  EXPECT_LT(mos.drop_ci.lo, mos.drop);
  EXPECT_GT(mos.drop_ci.hi, mos.drop);
  EXPECT_GT(nr.metrics.latency_ratio, 0.0);

  GateOptions strict;
  strict.budget = 0.0001;
  auto tight = gate_registry(path, {}, true, strict);
  ASSERT_TRUE(tight.is_ok());
  EXPECT_EQ(tight->exit_code(), 1);
  EXPECT_EQ(tight->models[0].outcome, GateReport::Outcome::kPass);  // 2.2e-6 < 1e-4
  EXPECT_EQ(tight->models[1].outcome, GateReport::Outcome::kFail);
  // The interval is the same on every run for a seed.
  EXPECT_EQ(tight->models[1].gate->metrics.outputs[0].drop_ci.lo, mos.drop_ci.lo);
  EXPECT_EQ(tight->models[1].gate->metrics.outputs[0].drop_ci.hi, mos.drop_ci.hi);

  json j = json::parse(gate_report_json(*tight));
  EXPECT_EQ(j["exit_code"], 1);
  EXPECT_EQ(j["passed"], false);
  EXPECT_EQ(j["budget_override"], 0.0001);
  const json& jm = j["models"][1];
  EXPECT_EQ(jm["id"], "nr_metric_v1");
  EXPECT_EQ(jm["outcome"], "fail");
  EXPECT_EQ(jm["rows"], 128);
  EXPECT_EQ(jm["budget"], 0.0001);
  EXPECT_EQ(jm["int8"]["sha256"], sha_of(dir_ / "nr_metric_v1.int8.onnx"));
  const json& out = jm["outputs"][0];
  EXPECT_DOUBLE_EQ(out["drop"].get<double>(), 1.0 - out["plcc"].get<double>());
  EXPECT_DOUBLE_EQ(out["drop"].get<double>(), out["drop_fp32"].get<double>());
  EXPECT_EQ(out["within_budget"], false);
  EXPECT_TRUE(out["labels"].is_null());
  EXPECT_DOUBLE_EQ(jm["latency_ratio"].get<double>(), jm["int8"]["median_us"].get<double>() / jm["fp32"]["median_us"].get<double>());
  EXPECT_EQ(jm["failures"].size(), 1u);
}

TEST_F(GateRegistry, ImageOutputsAreComparedOverAllTheirValues) {
  SKIP_WITHOUT_ZOO();
  GateOptions o;
  o.keep_outputs = true;
  o.bootstrap_resamples = 100;
  auto g = gate(json::array({zoo_entry("learned_filter_v1", 2)}), "learned_filter_v1", o);
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  const OutputMetrics& m = g->metrics.outputs.at(0);
  EXPECT_EQ(m.name, "filtered");
  EXPECT_EQ(m.values, 2 * 224 * 224);
  EXPECT_NEAR(m.drop, kFilterDrop2Rows, kZooDropTolerance);
  EXPECT_EQ(g->metrics.fp32_outputs.at(0).shape(), (Shape{2, 1, 224, 224}));  // rows concatenated on axis 0
}

}  // namespace
}  // namespace tinyq
