// QAT end to end on small hand-built models: epoch 0 is exactly static PTQ, training beats it
// where per-tensor PTQ loses accuracy, a seed decides everything, the exported file computes
// what the fake-quantised model computed, and bad input is a clear error that writes nothing.
#include <gtest/gtest.h>

#include <fstream>

#include "onnx/onnx_io.h"
#include "qat/export.h"
#include "qat/pipeline.h"
#include "qat/qat_model.h"
#include "qat/qat_test_util.h"
#include "quant/quantize.h"
#include "quant/weights.h"
#include "tinyq/gate.h"
#include "tinyq/qat.h"
#include "tinyq/session.h"

using namespace tinyq;
using namespace tinyq::qat::testing;

namespace {

constexpr int64_t kTrainRows = 512;
constexpr int64_t kValidationRows = 256;
// QAT must at least halve static per-tensor PTQ's drop on spread_mlp.
constexpr double kQatGainFactor = 0.5;
// The file and the fake-quantised forward pass quantise identically; what remains is float
// summation order (measured: 2.2e-7 of the output's range). libtorch's x * (1 / scale) against
// the file's x / scale could straddle a rounding boundary (one activation step), but not on
// these fixed rows.
constexpr double kFakeQuantVsFileRtol = 1e-5;

struct Fixture {
  TempDir dir{::testing::UnitTest::GetInstance()->current_test_info()->name()};
  ir::Model model = spread_mlp(7);
  std::string model_path = dir.file("mlp.onnx");
  std::string train = dir.file("train.npz");
  std::string validation = dir.file("val.npz");
  Fixture() {
    EXPECT_TRUE(onnx_io::save_model(model, model_path).is_ok());
    EXPECT_TRUE(io::write_npz(train, {{"x", random_tensor({kTrainRows, 8}, 11)}}).is_ok());
    EXPECT_TRUE(io::write_npz(validation, {{"x", random_tensor({kValidationRows, 8}, 12)}}).is_ok());
  }
  QatOptions options() const {
    QatOptions o;
    o.train = train;
    o.validation = validation;
    o.epochs = 10;
    o.learning_rate = 3e-3;
    o.batch = 16;
    o.seed = 3;
    o.placement.per_channel = false;
    return o;
  }
};

std::vector<Tensor> run_file(const ir::Model& m, const Tensor& x, bool passes) {
  SessionOptions so;
  so.graph_passes = passes;
  auto s = Session::from_ir(m, "int8", so);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  auto out = (*s)->run(std::vector<Tensor>{x});
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  return *out;
}

TEST(QatPipeline, EpochZeroIsStaticPtq) {
  Fixture f;
  QatOptions o = f.options();
  o.epochs = 0;
  auto run = qat::run_qat(f.model, "mlp", o);
  ASSERT_TRUE(run.is_ok()) << run.status().to_string();
  quant::StaticOptions so;
  so.placement.per_channel = false;
  auto ptq = quant::quantize_static(f.model, f.train, so);
  ASSERT_TRUE(ptq.is_ok()) << ptq.status().to_string();
  const Tensor x = random_tensor({kValidationRows, 8}, 12);
  const Tensor a = run_file(run->int8, x, true)[0], b = run_file(ptq->model, x, true)[0];
  ASSERT_EQ(a.numel(), b.numel());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << "QAT's starting point differs from tinyq quantize static";
}

TEST(QatPipeline, BeatsStaticPerTensorPtqOnUnseenRows) {
  Fixture f;
  auto run = qat::run_qat(f.model, "mlp", f.options());
  ASSERT_TRUE(run.is_ok()) << run.status().to_string();
  const double static_drop = run->epochs.front().drop, qat_drop = run->epochs[run->exported_epoch].drop;
  EXPECT_GT(run->exported_epoch, 0) << "no epoch beat static PTQ";
  EXPECT_TRUE(run->epochs.back().on_validation);
  EXPECT_EQ(run->target, "fp32 outputs");
  EXPECT_GT(static_drop, 1e-3) << "the case must be one where static PTQ loses accuracy";
  EXPECT_LT(qat_drop, kQatGainFactor * static_drop) << "static " << static_drop << ", QAT " << qat_drop;
}

TEST(QatPipeline, LearnedScalesAlsoBeatStaticAndReachTheFile) {
  Fixture f;
  QatOptions o = f.options();
  o.learn_scales = true;
  auto run = qat::run_qat(f.model, "mlp", o);
  ASSERT_TRUE(run.is_ok()) << run.status().to_string();
  EXPECT_LT(run->epochs[run->exported_epoch].drop, kQatGainFactor * run->epochs.front().drop);
  // The learned per-tensor scale of w1 is in the file, and it is not static PTQ's max|w1| / 127.
  const Tensor& s = run->int8.graph.initializers.at("w1_s");
  ASSERT_EQ(s.numel(), 1);
  const Tensor& w1 = f.model.graph.initializers.at("w1");
  float max_abs = 0.0f;
  for (int64_t i = 0; i < w1.numel(); ++i) max_abs = std::max(max_abs, std::fabs(w1.data<float>()[i]));
  EXPECT_NE(s.data<float>()[0], max_abs / 127.0f);
}

TEST(QatPipeline, ExportedFileComputesTheFakeQuantisedForward) {
  Fixture f;
  for (bool learn : {false, true}) {
    QatOptions o = f.options();
    o.learn_scales = learn;
    o.epochs = 3;
    // Rebuild the trained model's state the way run_qat does, then compare both forward passes.
    auto cal = quant::calibrate(f.model, quant::PlacementOptions{.per_channel = false}, f.train, {});
    ASSERT_TRUE(cal.is_ok()) << cal.status().to_string();
    qat::ModelConfig config;
    for (const auto& t : cal->plan.activations)
      config.activations[t] = quant::activation_params(*cal->observations.range(t, {}), quant::ActivationType::kU8Asymmetric);
    for (const auto& site : cal->plan.nodes)
      for (const auto& w : site.weights)
        config.weight_scales[w.initializer] = quant::max_abs_scales(f.model.graph.initializers.at(w.initializer), w.axis);
    config.learn_scales = learn;
    config.learning_rate = 1e-2;
    auto model = qat::QatModel::create(f.model, cal->plan, config);
    ASSERT_TRUE(model.is_ok()) << model.status().to_string();
    const Tensor x = random_tensor({64, 8}, 21);
    for (int step = 0; step < 5; ++step) {
      auto target = model->predict(std::vector<Tensor>{x}, false);
      ASSERT_TRUE(target.is_ok());
      (*target)[0].data<float>()[0] += 1.0f;  // something to learn
      ASSERT_TRUE(model->train_step(std::vector<Tensor>{x}, *target).is_ok());
    }
    auto file = qat::export_qdq(f.model, cal->plan, model->state());
    ASSERT_TRUE(file.is_ok()) << file.status().to_string();
    auto fake = model->predict(std::vector<Tensor>{x}, true);
    ASSERT_TRUE(fake.is_ok());
    EXPECT_LE(max_rel_diff(run_file(*file, x, false)[0], (*fake)[0]), kFakeQuantVsFileRtol) << "learn_scales " << learn;
    EXPECT_LE(max_rel_diff(run_file(*file, x, true)[0], (*fake)[0]), kFakeQuantVsFileRtol) << "fused, learn_scales " << learn;
  }
}

TEST(QatPipeline, ExportsTheBestEpochOrWithKeepBestOffTheLast) {
  Fixture f;
  QatOptions o = f.options();
  o.epochs = 4;
  auto best = qat::run_qat(f.model, "mlp", o);
  ASSERT_TRUE(best.is_ok()) << best.status().to_string();
  double lowest = best->epochs.front().drop;
  for (const auto& e : best->epochs) lowest = std::min(lowest, e.drop);
  EXPECT_EQ(best->epochs[best->exported_epoch].drop, lowest);
  o.keep_best = false;
  auto last = qat::run_qat(f.model, "mlp", o);
  ASSERT_TRUE(last.is_ok()) << last.status().to_string();
  EXPECT_EQ(last->exported_epoch, 4);
  // Both runs trained identically; the last epoch's file is what the keep-last run wrote.
  if (best->exported_epoch == 4) EXPECT_EQ(*onnx_io::serialize_model(best->int8), *onnx_io::serialize_model(last->int8));
}

TEST(QatPipeline, SameSeedSameFileOtherSeedOtherFile) {
  Fixture f;
  QatOptions o = f.options();
  o.epochs = 2;
  auto bytes = [&](uint64_t seed) {
    QatOptions s = o;
    s.seed = seed;
    auto run = qat::run_qat(f.model, "mlp", s);
    EXPECT_TRUE(run.is_ok()) << run.status().to_string();
    return *onnx_io::serialize_model(run->int8);
  };
  const std::string a = bytes(5), b = bytes(5), c = bytes(6);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(QatPipeline, LabelsNamedAfterTheOutputAreTheTarget) {
  Fixture f;
  const Tensor x = random_tensor({kTrainRows, 8}, 11);
  std::vector<Tensor> y = run_file(f.model, x, true);
  ASSERT_TRUE(io::write_npz(f.train, {{"x", x}, {"y", y[0]}}).is_ok());
  QatOptions o = f.options();
  o.epochs = 1;
  auto labelled = qat::run_qat(f.model, "mlp", o);
  ASSERT_TRUE(labelled.is_ok()) << labelled.status().to_string();
  EXPECT_EQ(labelled->target, "labels 'y'");
  o.distill = true;
  auto distilled = qat::run_qat(f.model, "mlp", o);
  ASSERT_TRUE(distilled.is_ok()) << distilled.status().to_string();
  EXPECT_EQ(distilled->target, "fp32 outputs");
  ASSERT_TRUE(io::write_npz(f.train, {{"x", x}, {"score", y[0]}}).is_ok());
  o.distill = false;
  o.labels = "score";
  auto named = qat::run_qat(f.model, "mlp", o);
  ASSERT_TRUE(named.is_ok()) << named.status().to_string();
  EXPECT_EQ(named->target, "labels 'score'");
}

// ---- bad input: a clear error, and the output file is neither written nor touched ----

class QatBadInput : public ::testing::Test {
 protected:
  void expect_error_and_untouched(const QatOptions& o, const std::string& needle) {
    const std::string out = f_.dir.file("out.int8.onnx");
    { std::ofstream(out) << "previous file"; }
    auto r = quantize_qat(f_.model_path, out, o);
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
    std::ifstream in(out);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content, "previous file");
    for (const auto& e : std::filesystem::directory_iterator(f_.dir.path()))
      EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << "left behind: " << e.path();
  }
  Fixture f_;
};

TEST_F(QatBadInput, TrainingSetWithoutTheModelsInput) {
  QatOptions o = f_.options();
  ASSERT_TRUE(io::write_npz(o.train, {{"features", random_tensor({16, 8}, 1)}}).is_ok());
  expect_error_and_untouched(o, "training set: fixture set '" + o.train + "' has no array for model input 'x'");
}

TEST_F(QatBadInput, LabelsOfTheWrongShape) {
  QatOptions o = f_.options();
  ASSERT_TRUE(io::write_npz(o.train, {{"x", random_tensor({kTrainRows, 8}, 1)}, {"y", random_tensor({kTrainRows, 3}, 2)}}).is_ok());
  expect_error_and_untouched(o, "label array 'y' in '" + o.train + "' has shape [512,3], but output 'y' is [512,1]");
}

TEST_F(QatBadInput, LabelArrayThatIsNotThere) {
  QatOptions o = f_.options();
  o.labels = "mos";
  expect_error_and_untouched(o, "has no label array 'mos'");
}

TEST_F(QatBadInput, NanLossStopsTraining) {
  QatOptions o = f_.options();
  // Labels with a NaN make the first batch that holds it produce a NaN loss.
  Tensor y(DType::kFloat32, {kTrainRows, 1});
  y.data<float>()[kTrainRows / 2] = std::nanf("");
  ASSERT_TRUE(io::write_npz(o.train, {{"x", random_tensor({kTrainRows, 8}, 1)}, {"y", y}}).is_ok());
  expect_error_and_untouched(o, "training stopped: the training loss is nan");
}

TEST_F(QatBadInput, DivergingLossStopsTraining) {
  QatOptions o = f_.options();
  o.learning_rate = 1e30;  // the first step throws the weights far past float range
  expect_error_and_untouched(o, "training stopped: the training loss is");
}

// ---- a zoo model: QAT against static PTQ on rows it never saw ----

// fr_regressor_v1 with s8 symmetric activations (its inputs are standardised features, centred
// on zero): static PTQ and QAT both calibrate on the zoo's calibration rows, QAT trains on them,
// and both are measured on the fixture rows. Measured: static 0.000107, QAT 0.000082 (24% less);
// the test asks for at least 10% less.
constexpr double kZooQatGainFactor = 0.9;

TEST(QatZoo, FrRegressorS8BeatsStaticPtqOnTheFixtures) {
  const std::filesystem::path zoo = zoo_dir();
  const std::string model_path = (zoo / "models" / "fr_regressor_v1.onnx").string();
  if (!std::filesystem::exists(model_path)) GTEST_SKIP() << "no zoo at " << zoo;
  const std::string cal = (zoo / "fixtures" / "fr_regressor_v1.calibration.npz").string();
  const std::string fix = (zoo / "fixtures" / "fr_regressor_v1.fixtures.npz").string();
  auto fp32 = onnx_io::load_model(model_path);
  ASSERT_TRUE(fp32.is_ok()) << fp32.status().to_string();

  quant::StaticOptions so;
  so.activations = quant::ActivationType::kS8Symmetric;
  so.range.symmetric = true;
  auto ptq = quant::quantize_static(*fp32, cal, so);
  ASSERT_TRUE(ptq.is_ok()) << ptq.status().to_string();

  QatOptions o;
  o.train = cal;  // no validation set: the epoch exported is chosen on the training rows
  o.distill = true;
  o.epochs = 20;
  o.batch = 8;
  o.learning_rate = 1e-3;
  o.learn_scales = true;
  o.activations = ActivationFormat::kS8;
  auto run = qat::run_qat(*fp32, "fr_regressor_v1", o);
  ASSERT_TRUE(run.is_ok()) << run.status().to_string();

  auto drop_on_fixtures = [&](const ir::Model& int8) -> double {
    auto ref = Session::from_ir(*fp32, "fp32");
    auto q = Session::from_ir(int8, "int8");
    EXPECT_TRUE(ref.is_ok() && q.is_ok());
    auto set = load_fixtures(fix, **ref);
    EXPECT_TRUE(set.is_ok()) << set.status().to_string();
    auto d = qat::plcc_drop(**ref, **q, *set);
    EXPECT_TRUE(d.is_ok()) << d.status().to_string();
    return *d;
  };
  const double static_drop = drop_on_fixtures(ptq->model), qat_drop = drop_on_fixtures(run->int8);
  EXPECT_LT(qat_drop, kZooQatGainFactor * static_drop) << "static " << static_drop << ", QAT " << qat_drop;
}

}  // namespace
