// tinyq tune end to end: a scratch registry tuned and recorded, nothing written when nothing meets
// the budget, bad input as exit 2, and the bundled registry: its committed int8 files are made
// again byte for byte from the recipes in their notes, and it passes the gate.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "cli_test_util.h"
#include "tune/tune_test_util.h"
#include "tinyq/tune.h"

namespace tinyq::cli::testing {
namespace {

using namespace tinyq::tune_testing;  // NOLINT(google-build-using-namespace)

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kCalibrationRows = 4;
constexpr int64_t kFixtureRows = 6;
// Two candidates (dynamic and static minmax, per-channel, u8) keep each run to seconds.
const std::string kNarrow = " --methods minmax --activations u8 --granularity per-channel";
const std::string kWithData = "\"quant_calibration_set\": \"cal.npz\",\n      \"fixtures\": \"fx.npz\"";

class TuneCli : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test_folder("tune_cli"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string registry(const std::string& extra = kWithData, const std::string& mode = "fp32") {
    return write_scratch_registry(dir_, mode, extra, kCalibrationRows, kFixtureRows).string();
  }
  fs::path dir_;
};

TEST_F(TuneCli, ChoosesWritesAndRecordsTheReason) {
  const std::string reg = registry();
  const fs::path out = dir_ / "tune.json";
  Outcome r = run_cli("tune --registry " + reg + " --model nr --budget 0.5 --allow-slower --json " + out.string() + kNarrow);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("tinyq tune: [1/2] dynamic per-channel: drop"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("skipped static: a cheaper mode already meets the budget"), std::string::npos) << r.output;
  const json j = json::parse(read_bytes(out));
  ASSERT_EQ(j["chosen"], 0);  // dynamic is the cheapest mode and met the budget
  EXPECT_EQ(j["quant_mode"], "dynamic");
  EXPECT_EQ(j["written"], true);

  auto loaded = Registry::load(reg);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  const RegistryEntry* e = loaded->find("nr");
  EXPECT_EQ(e->quant_mode, QuantMode::kDynamic);
  EXPECT_EQ(e->int8_sha256, sha_of(read_bytes(dir_ / "nr.int8.onnx")));
  EXPECT_EQ(e->int8_sha256, j["int8_sha256"]);
  EXPECT_EQ(e->notes, j["notes"]);
  EXPECT_EQ(e->notes.rfind("tinyq tune: dynamic per-channel; drop ", 0), 0u) << e->notes;
  Outcome valid = run_cli("registry validate " + reg);
  EXPECT_EQ(valid.code, 0) << valid.output;
  Outcome gate = run_cli("gate --registry " + reg + " --model nr --budget 0.5");
  EXPECT_EQ(gate.code, 0) << gate.output;
}

TEST_F(TuneCli, ReplayMakesTheSameBytes) {
  const std::string reg = registry();
  ASSERT_EQ(run_cli("tune --registry " + reg + " --model nr --budget 0.5 --allow-slower --try-all" + kNarrow).code, 0);
  const std::string registry_text = read_bytes(reg);
  const std::string artefact = read_bytes(dir_ / "nr.int8.onnx");
  fs::remove(dir_ / "nr.int8.onnx");
  Outcome r = run_cli("tune --registry " + reg + " --model nr --replay");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("the same bytes the registry recorded"), std::string::npos) << r.output;
  EXPECT_EQ(read_bytes(dir_ / "nr.int8.onnx"), artefact);
  EXPECT_EQ(read_bytes(reg), registry_text);
}

TEST_F(TuneCli, NothingMeetsTheBudgetExitsOneAndWritesNothing) {
  const std::string reg = registry();
  const std::string before = read_bytes(reg);
  // No int8 model matches fp32 exactly, so a zero budget is never met, even with one layer kept
  // in fp32 per mode.
  Outcome r = run_cli("tune --registry " + reg + " --model nr --budget 0 --max-fp32-layers 1" + kNarrow);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("nothing chosen: no candidate meets the budget 0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("in fp32 (SQNR"), std::string::npos) << "one layer is kept in fp32 per retry\n" << r.output;
  EXPECT_EQ(read_bytes(reg), before);
  EXPECT_FALSE(fs::exists(dir_ / "nr.int8.onnx"));
}

TEST_F(TuneCli, BadInputIsExitTwoWithAClearMessage) {
  const std::string reg = registry();
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"--model nope", "has no model 'nope' (models: nr)"},
      {"--model nr --budget nan", "--budget is nan; a PLCC-drop budget must be a number in [0, 1]"},
      {"--model nr --budget=-0.5", "--budget is -0.5; a PLCC-drop budget must be a number in [0, 1]"},
      {"--model nr --budget abc", "--budget 'abc' is not a number"},
      {"--model nr --methods median", "median"},
  };
  for (const Case& c : cases) {
    Outcome r = run_cli("tune --registry " + reg + " " + c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
  }
}

TEST_F(TuneCli, MissingOrIllShapedDataIsExitTwo) {
  struct Case {
    std::string extra, message;
  };
  const std::vector<Case> cases = {
      {"\"quant_calibration_set\": \"cal.npz\"", "names no fixture set"},
      {"\"quant_calibration_set\": \"cal.npz\",\n      \"fixtures\": \"absent.npz\"", "absent.npz"},
      {"\"quant_calibration_set\": \"cal.npz\",\n      \"fixtures\": \"small.npz\"", "does not fit the model's input 'frame'"},
      {"\"quant_calibration_set\": \"small.npz\",\n      \"fixtures\": \"fx.npz\"", "quant_calibration_set"},
      {"\"quant_calibration_set\": \"cal.npz\",\n      \"fixtures\": \"other.npz\"", "has no array for model input 'frame'"},
  };
  for (const Case& c : cases) {
    const std::string reg = registry(c.extra);
    ASSERT_TRUE(io::write_npz((dir_ / "small.npz").string(),
                              {{"frame", Tensor::from_vector<float>({3, 1, 32, 32}, std::vector<float>(3 * 32 * 32, 0.5f))}})
                    .is_ok());
    ASSERT_TRUE(io::write_npz((dir_ / "other.npz").string(),
                              {{"image", Tensor::from_vector<float>({3, 1, 224, 224}, std::vector<float>(3 * 224 * 224, 0.5f))}})
                    .is_ok());
    const std::string before = read_bytes(reg);
    Outcome r = run_cli("tune --registry " + reg + " --model nr" + kNarrow);
    EXPECT_EQ(r.code, 2) << c.extra << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.extra << "\n" << r.output;
    EXPECT_EQ(read_bytes(reg), before);
  }
}

TEST_F(TuneCli, ReplayWithoutARecipeIsExitTwo) {
  const std::string reg = registry();
  Outcome r = run_cli("tune --registry " + reg + " --model nr --replay");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("run `tinyq tune` first"), std::string::npos) << r.output;
}

// The committed int8 files of models/ are what their recorded recipes make: quantisation is
// deterministic, and the registry's digests are reproducible by anyone (scripts/demo.sh relies
// on it).
TEST(BundledModels, CommittedArtefactsAreMadeAgainByteForByte) {
  const fs::path copy = test_folder("bundled");
  fs::copy(bundled_models(), copy / "models", fs::copy_options::recursive);
  const fs::path reg = copy / "models" / "registry.json";
  auto loaded = Registry::load(reg.string());
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  int tuned = 0;
  for (const RegistryEntry& e : loaded->models()) {
    if (e.quant_mode == QuantMode::kFp32) continue;
    ++tuned;
    const fs::path artefact = copy / "models" / e.int8_onnx();
    const std::string committed = read_bytes(artefact);
    fs::remove(artefact);
    Outcome r = run_cli("tune --registry " + reg.string() + " --model " + e.id + " --replay");
    ASSERT_EQ(r.code, 0) << e.id << "\n" << r.output;
    EXPECT_EQ(read_bytes(artefact), committed) << e.id;
  }
  EXPECT_GT(tuned, 0) << "models/registry.json has no tuned model";
  EXPECT_EQ(read_bytes(reg), read_bytes(bundled_models() / "registry.json"));
  fs::remove_all(copy);
}

TEST(BundledModels, PassTheGate) {
  Outcome r = run_cli("gate --registry " + (bundled_models() / "registry.json").string() + " --all");
  EXPECT_EQ(r.code, 0) << r.output;
}

}  // namespace
}  // namespace tinyq::cli::testing
