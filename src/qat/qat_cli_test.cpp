// `tinyq qat` end to end: the command trains and writes a file tinyq runs, reports each epoch,
// fails cleanly on bad input, trains registry entries with quant_mode qat, and its files run in
// ONNX Runtime with matching outputs (skipped without node and tools/ort-peer/node_modules,
// unless TINYQ_REQUIRE_ORT=1).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "cli_test_util.h"
#include "onnx/onnx_io.h"
#include "qat/qat_test_util.h"
#include "tinyq/registry.h"
#include "tinyq/session.h"
#include "util/file.h"

namespace fs = std::filesystem;
using namespace tinyq;
using namespace tinyq::qat::testing;
using tinyq::cli::testing::run_cli;

namespace {

// tinyq (exact int8 arithmetic) against ONNX Runtime at level basic (Q/DQ run as written, float
// in between): float summation order alone, relative to the output's range; the tests add what
// one quantisation step of an intermediate activation can move.
constexpr double kOrtRtol = 1e-5;

class QatCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(onnx_io::save_model(spread_mlp(7), model_).is_ok());
    ASSERT_TRUE(io::write_npz(train_, {{"x", random_tensor({256, 8}, 1)}}).is_ok());
    ASSERT_TRUE(io::write_npz(val_, {{"x", random_tensor({64, 8}, 2)}}).is_ok());
  }
  // A registry with one qat entry, "mlp", trained on train.npz.
  nlohmann::json qat_registry() const {
    const std::string bytes = *util::read_file(model_);
    return {{"schema_version", 1},
            {"models",
             {{{"id", "mlp"},
               {"kind", "fr"},
               {"onnx", "mlp.onnx"},
               {"sha256", sha256_hex(bytes.data(), bytes.size())},
               {"quant_mode", "qat"},
               {"train_set", "train.npz"}}}}};
  }
  std::string write_registry(const nlohmann::json& doc) const {
    const std::string reg = dir_.file("registry.json");
    std::ofstream(reg) << doc.dump(2);
    return reg;
  }
  TempDir dir_{::testing::UnitTest::GetInstance()->current_test_info()->name()};
  std::string model_ = dir_.file("mlp.onnx"), train_ = dir_.file("train.npz"), val_ = dir_.file("val.npz");
};

TEST_F(QatCli, TrainsReportsEveryEpochAndWritesARunnableFile) {
  const std::string out = dir_.file("mlp.qat.onnx");
  auto r = run_cli("qat " + model_ + " --train " + train_ + " --val " + val_ + " --epochs 3 --lr 3e-3 --batch 16 --seed 1 --per-tensor -o " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("epoch 0/3 (static PTQ start)  validation drop"), std::string::npos) << r.output;
  for (int e = 1; e <= 3; ++e)
    EXPECT_NE(r.output.find("epoch " + std::to_string(e) + "/3  loss "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rows 256"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("wrote " + out), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("PLCC drop (validation): static "), std::string::npos) << r.output;
  auto run = run_cli("run " + out + " --inputs " + val_);
  EXPECT_EQ(run.code, 0) << run.output;
}

TEST_F(QatCli, DefaultOutputSitsBesideTheModel) {
  auto r = run_cli("qat " + model_ + " --train " + train_ + " --epochs 1");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir_.file("mlp.int8.onnx")));
  EXPECT_NE(r.output.find("training-set drop"), std::string::npos) << r.output;
}

TEST_F(QatCli, TrainingSetWithoutTheInputIsExitTwoAndWritesNothing) {
  const std::string bad = dir_.file("bad.npz"), out = dir_.file("out.onnx");
  ASSERT_TRUE(io::write_npz(bad, {{"features", random_tensor({16, 8}, 1)}}).is_ok());
  auto r = run_cli("qat " + model_ + " --train " + bad + " -o " + out);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("tinyq: training set: fixture set '" + bad + "' has no array for model input 'x'"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(QatCli, MissingTrainingSetIsAUsageError) {
  auto r = run_cli("qat " + model_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--train TRAIN.npz is required"), std::string::npos) << r.output;
}

TEST_F(QatCli, RegistryEntryWithQuantModeQat) {
  nlohmann::json doc = qat_registry();
  const std::string reg = write_registry(doc);
  auto r = run_cli("qat --registry " + reg + " --model mlp --epochs 2 --per-tensor");
  ASSERT_EQ(r.code, 0) << r.output;
  auto after = Registry::load(reg);
  ASSERT_TRUE(after.is_ok()) << after.status().to_string();
  const std::string int8 = *util::read_file(dir_.file("mlp.int8.onnx"));
  EXPECT_EQ(after->find("mlp")->int8_sha256, sha256_hex(int8.data(), int8.size()));
  // The loader now opens the trained file, digest-checked.
  auto run = run_cli("run --registry " + reg + " --model mlp --inputs " + val_ + " --json");
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find("mlp.int8.onnx"), std::string::npos) << run.output;

  // A tampered fp32 file is refused before any training, and nothing changes.
  { std::ofstream(model_, std::ios::app) << "x"; }
  auto tampered = run_cli("qat --registry " + reg + " --model mlp --epochs 1");
  EXPECT_EQ(tampered.code, 2) << tampered.output;
  EXPECT_NE(tampered.output.find("sha256 mismatch"), std::string::npos) << tampered.output;
  EXPECT_EQ(*util::read_file(dir_.file("mlp.int8.onnx")), int8);
}

// `tinyq quantize --registry` is the one command a registry's owner runs for every mode: on a qat
// entry it trains on the entry's train_set, exactly as `tinyq qat --registry` does.
TEST_F(QatCli, QuantizeRegistryTrainsQatEntries) {
  nlohmann::json doc = qat_registry();
  const std::string reg = write_registry(doc);
  auto r = run_cli("quantize --registry " + reg + " --model mlp");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("(qat, "), std::string::npos) << r.output;
  auto after = Registry::load(reg);
  ASSERT_TRUE(after.is_ok()) << after.status().to_string();
  const std::string int8 = *util::read_file(dir_.file("mlp.int8.onnx"));
  EXPECT_EQ(after->find("mlp")->int8_sha256, sha256_hex(int8.data(), int8.size()));
  auto run = run_cli("run --registry " + reg + " --model mlp --inputs " + val_ + " --json");
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_NE(run.output.find("mlp.int8.onnx"), std::string::npos) << run.output;

  // Without a train_set the qat entry is refused by name, and the registry is left as it was.
  doc["models"][0].erase("train_set");
  doc["models"][0]["int8_sha256"] = sha256_hex(int8.data(), int8.size());
  write_registry(doc);
  const std::string before = *util::read_file(reg);
  auto missing = run_cli("quantize --registry " + reg + " --model mlp");
  EXPECT_EQ(missing.code, 2) << missing.output;
  EXPECT_NE(missing.output.find("train_set"), std::string::npos) << missing.output;
  EXPECT_EQ(*util::read_file(reg), before);
  EXPECT_EQ(*util::read_file(dir_.file("mlp.int8.onnx")), int8);
}

// ---- ONNX Runtime interop ----

bool ort_available(std::string* why) {
  const fs::path peer = fs::path(TINYQ_SOURCE_DIR) / "tools" / "ort-peer";
  if (std::system("command -v node >/dev/null 2>&1") != 0) *why = "node is not on PATH";
  else if (!fs::is_directory(peer / "node_modules")) *why = (peer / "node_modules").string() + " is missing";
  return why->empty();
}

// Skips (or, with TINYQ_REQUIRE_ORT=1, fails) the test when the peer is missing.
#define REQUIRE_ORT_OR_SKIP()                                                                             \
  do {                                                                                                    \
    std::string why;                                                                                      \
    if (!ort_available(&why)) {                                                                           \
      const char* require = std::getenv("TINYQ_REQUIRE_ORT");                                            \
      if (require && std::string(require) == "1") FAIL() << "ONNX Runtime is required (TINYQ_REQUIRE_ORT=1): " << why; \
      GTEST_SKIP() << "ONNX Runtime peer unavailable: " << why;                                           \
    }                                                                                                     \
  } while (0)

// Runs `file` over `inputs` one row at a time in tinyq and in ONNX Runtime (level basic: Q/DQ as
// written); returns both values of `output`.
void run_both(const std::string& file, const std::string& inputs, const std::string& output, const TempDir& dir,
              Tensor* ours, Tensor* theirs) {
  const std::string a = dir.file("tinyq_out.npz"), b = dir.file("ort_out.npz");
  auto t = run_cli("run " + file + " --inputs " + inputs + " --batch 1 --save " + a);
  ASSERT_EQ(t.code, 0) << t.output;
  const std::string cmd = "node " + (fs::path(TINYQ_SOURCE_DIR) / "tools" / "ort-peer" / "run.js").string() + " " + file +
                          " --inputs " + inputs + " --batch 1 --level basic --save " + b + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto x = io::read_npz(a);
  auto y = io::read_npz(b);
  ASSERT_TRUE(x.is_ok() && y.is_ok());
  ASSERT_TRUE(find_array(*x, output) && find_array(*y, output));
  *ours = *find_array(*x, output);
  *theirs = *find_array(*y, output);
  ASSERT_EQ(ours->numel(), theirs->numel());
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  double d = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) d = std::max(d, static_cast<double>(std::fabs(a.data<float>()[i] - b.data<float>()[i])));
  return d;
}

TEST_F(QatCli, OnnxRuntimeRunsTheFileWithMatchingOutputs) {
  REQUIRE_ORT_OR_SKIP();
  const std::string out = dir_.file("mlp.qat.onnx");
  auto r = run_cli("qat " + model_ + " --train " + train_ + " --epochs 2 --learn-scales -o " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  Tensor ours, theirs;
  run_both(out, val_, "y", dir_, &ours, &theirs);
  // ORT sums the dequantised Gemm in float, tinyq in exact integers: a hidden value that lands on
  // a rounding boundary may quantise one step apart, which moves y by at most one step of the
  // hidden activation times the largest dequantised second-layer weight. Read both from the file.
  auto file = onnx_io::load_model(out);
  ASSERT_TRUE(file.is_ok()) << file.status().to_string();
  const auto& init = file->graph.initializers;
  ASSERT_TRUE(init.count("r_s") && init.count("w2_q") && init.count("w2_s")) << "write_qdq renamed its tensors";
  const float step = init.at("r_s").data<float>()[0], w_scale = init.at("w2_s").data<float>()[0];
  double w_max = 0.0;
  for (int64_t i = 0; i < init.at("w2_q").numel(); ++i)
    w_max = std::max(w_max, std::fabs(static_cast<double>(init.at("w2_q").data<int8_t>()[i]) * w_scale));
  double y_max = 0.0;
  for (int64_t i = 0; i < theirs.numel(); ++i) y_max = std::max(y_max, static_cast<double>(std::fabs(theirs.data<float>()[i])));
  const double one_step = step * w_max + kOrtRtol * y_max;
  for (int64_t i = 0; i < ours.numel(); ++i)
    EXPECT_LE(std::fabs(ours.data<float>()[i] - theirs.data<float>()[i]), one_step) << "row " << i;
}

// On a deep CNN, float accumulation in ORT (dequantise, then float conv) and tinyq's exact
// integer accumulation put an activation on either side of a rounding boundary now and then,
// and the step travels down the layers. The QAT file must agree with ORT as closely as static
// PTQ's file of the same model does.
constexpr double kOrtAgreementVsStatic = 2.0;

TEST(QatZooInterop, NrMetricQatFileAgreesWithOnnxRuntimeAsStaticPtqDoes) {
  const fs::path zoo = zoo_dir();
  if (!fs::exists(zoo / "models" / "nr_metric_v1.onnx")) GTEST_SKIP() << "no zoo at " << zoo;
  REQUIRE_ORT_OR_SKIP();
  TempDir dir("nr_metric_interop");
  const std::string model = (zoo / "models" / "nr_metric_v1.onnx").string();
  const std::string cal = (zoo / "fixtures" / "nr_metric_v1.calibration.npz").string();
  const std::string fix = (zoo / "fixtures" / "nr_metric_v1.fixtures.npz").string();
  const std::string qat_file = dir.file("nr.qat.onnx"), static_file = dir.file("nr.static.onnx");
  auto q = run_cli("qat " + model + " --train " + cal + " --epochs 1 --batch 8 --learn-scales -o " + qat_file);
  ASSERT_EQ(q.code, 0) << q.output;
  auto s = run_cli("quantize static " + model + " --calibration " + cal + " -o " + static_file);
  ASSERT_EQ(s.code, 0) << s.output;
  Tensor qat_ours, qat_ort, static_ours, static_ort;
  run_both(qat_file, fix, "mos", dir, &qat_ours, &qat_ort);
  run_both(static_file, fix, "mos", dir, &static_ours, &static_ort);
  const double qat_diff = max_abs_diff(qat_ours, qat_ort), static_diff = max_abs_diff(static_ours, static_ort);
  EXPECT_LE(qat_diff, kOrtAgreementVsStatic * static_diff) << "QAT " << qat_diff << ", static " << static_diff;
}

}  // namespace
