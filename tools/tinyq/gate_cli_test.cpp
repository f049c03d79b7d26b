// End-to-end tests of `tinyq gate` and `tinyq audit`: exit codes, the table, the JSON file and
// the report files. Bad-input cases use a bundled model registered as its own int8 twin with
// synthetic fixtures; the accuracy cases copy the zoo's int8 models and fixtures at run time.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "cli_test_util.h"
#include "io/npy.h"
#include "tinyq/registry.h"
#include "util/test_files.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace tinyq;

namespace {

using cli::testing::Outcome;
Outcome cli(const std::string& args) { return cli::testing::run_cli(args); }

using test_files::slurp;
std::string sha_of(const fs::path& p) {
  std::string b = slurp(p);
  return sha256_hex(b.data(), b.size());
}
bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

class GateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_files::fresh_test_dir("tinyq_gate_cli");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The bundled vmaf_tiny_v3 as quant_mode dynamic; its "int8" file is a copy of it (the loader
  // checks digests, not contents), so no zoo is needed.
  json twin(const std::string& id = "twin") const {
    fs::copy_file(fs::path(TINYQ_SOURCE_DIR) / "models" / "vmaf_tiny_v3.onnx", dir_ / (id + ".onnx"), fs::copy_options::overwrite_existing);
    fs::copy_file(dir_ / (id + ".onnx"), dir_ / (id + ".int8.onnx"), fs::copy_options::overwrite_existing);
    return json{{"id", id}, {"kind", "fr"}, {"onnx", id + ".onnx"}, {"sha256", sha_of(dir_ / (id + ".onnx"))},
                {"quant_mode", "dynamic"}, {"int8_sha256", sha_of(dir_ / (id + ".int8.onnx"))}, {"fixtures", "fx.npz"}};
  }
  // Synthetic feature rows (uniform in plausible ranges), `cols` wide.
  void write_fixtures(int64_t rows, int64_t cols = 6) const {
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(rows * cols));
    for (float& x : v) x = unit(rng);
    ASSERT_TRUE(io::write_npz((dir_ / "fx.npz").string(), {{"features", Tensor::from_vector<float>({rows, cols}, v)}}).is_ok());
  }
  json zoo_entry(const std::string& id) const {
    const fs::path zoo = cli::testing::zoo_dir();
    for (const std::string f : {id + ".onnx", id + ".int8.onnx"})
      fs::copy_file(zoo / "models" / f, dir_ / f, fs::copy_options::overwrite_existing);
    fs::copy_file(zoo / "fixtures" / (id + ".fixtures.npz"), dir_ / (id + ".fixtures.npz"), fs::copy_options::overwrite_existing);
    return json{{"id", id},         {"kind", "nr"}, {"onnx", id + ".onnx"}, {"sha256", sha_of(dir_ / (id + ".onnx"))},
                {"quant_mode", "dynamic"}, {"int8_sha256", sha_of(dir_ / (id + ".int8.onnx"))},
                {"quant_accuracy_budget_plcc", 0.01}, {"fixtures", id + ".fixtures.npz"}};
  }
  std::string registry(const json& entries) const {
    std::string path = (dir_ / "registry.json").string();
    std::ofstream(path) << json{{"schema_version", 1}, {"models", entries}}.dump(2);
    return path;
  }
  fs::path dir_;
};

TEST_F(GateCli, ZooModelsPassAtTheirBudgetAndFailAtATighterOne) {
  if (!fs::exists(cli::testing::zoo_dir() / "models" / "nr_metric_v1.int8.onnx")) GTEST_SKIP() << "no zoo";
  const std::string r = registry(json::array({zoo_entry("vmaf_tiny_v3"), zoo_entry("nr_metric_v1")}));
  const std::string out = (dir_ / "gate.json").string();
  Outcome ok = cli("gate --registry " + r + " --all --json " + out);
  EXPECT_EQ(ok.code, 0) << ok.output;
  EXPECT_TRUE(has(ok.output, "vmaf_tiny_v3")) << ok.output;
  EXPECT_TRUE(has(ok.output, "nr_metric_v1")) << ok.output;
  EXPECT_TRUE(has(ok.output, "PASSED")) << ok.output;
  json j = json::parse(slurp(out));
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(j["gate_on"], "point");
  EXPECT_EQ(j["bootstrap_resamples"], 1000);
  ASSERT_EQ(j["models"].size(), 2u);
  for (const json& m : j["models"]) {
    EXPECT_EQ(m["outcome"], "pass");
    for (const char* key : {"quant_mode", "budget", "fixtures", "rows", "fp32", "int8", "latency_ratio", "outputs", "failures"})
      EXPECT_TRUE(m.contains(key)) << key;
    const json& o = m["outputs"][0];
    for (const char* key : {"plcc", "srocc", "rmse", "max_abs_error", "drop_fp32", "reference", "drop", "drop_ci95", "labels"})
      EXPECT_TRUE(o.contains(key)) << key;
    EXPECT_LE(o["drop"].get<double>(), m["budget"].get<double>());
    EXPECT_LE(o["drop_ci95"][0].get<double>(), o["drop_ci95"][1].get<double>());
  }
  EXPECT_EQ(j["models"][0]["outputs"][0]["reference"], "labels");
  EXPECT_FALSE(j["models"][0]["outputs"][0]["labels"].is_null());
  EXPECT_EQ(j["models"][1]["outputs"][0]["reference"], "fp32");

  Outcome tight = cli("gate --registry " + r + " --all --budget 0.0001 --json " + out);
  EXPECT_EQ(tight.code, 1) << tight.output;
  EXPECT_TRUE(has(tight.output, "FAILED")) << tight.output;
  EXPECT_TRUE(has(tight.output, "nr_metric_v1: the PLCC drop (vs fp32) of output 'mos'")) << tight.output;
  json jt = json::parse(slurp(out));
  EXPECT_EQ(jt["exit_code"], 1);
  EXPECT_EQ(jt["models"][1]["outcome"], "fail");

  Outcome upper = cli("gate --registry " + r + " --model nr_metric_v1 --gate-on upper --budget 0.009 --bootstrap 500 --seed 3");
  EXPECT_EQ(upper.code, 1) << upper.output;  // drop 0.0070, 95% upper bound above 0.009
  EXPECT_TRUE(has(upper.output, "upper bound")) << upper.output;
}

TEST_F(GateCli, RequireSpeedupFollowsTheMeasuredRatio) {
  write_fixtures(20);
  const std::string r = registry(json::array({twin()}));
  const std::string out = (dir_ / "gate.json").string();
  Outcome o = cli("gate --registry " + r + " --model twin --require-speedup --json " + out);
  json j = json::parse(slurp(out));
  EXPECT_EQ(j["require_speedup"], true);
  // Timings are not asserted: only that the verdict agrees with the ratio it reports.
  const bool faster = j["models"][0]["latency_ratio"].get<double>() < 1.0;
  EXPECT_EQ(o.code, faster ? 0 : 1) << o.output;
  EXPECT_EQ(has(o.output, "int8 is not faster"), !faster) << o.output;
}

// ---- Bad input: exit 2 with a message naming the file, field or model ----

TEST_F(GateCli, MissingFixtureFile) {
  json e = twin();
  e["fixtures"] = "gone.npz";
  Outcome o = cli("gate --registry " + registry(json::array({e})) + " --model twin");
  EXPECT_EQ(o.code, 2) << o.output;
  EXPECT_TRUE(has(o.output, "gone.npz")) << o.output;
}

TEST_F(GateCli, FixtureOfTheWrongShape) {
  write_fixtures(8, 4);
  Outcome o = cli("gate --registry " + registry(json::array({twin()})) + " --model twin");
  EXPECT_EQ(o.code, 2) << o.output;
  EXPECT_TRUE(has(o.output, "'features'") && has(o.output, "[8,4]") && has(o.output, "fx.npz")) << o.output;
}

TEST_F(GateCli, UnknownModelId) {
  write_fixtures(8);
  Outcome o = cli("gate --registry " + registry(json::array({twin()})) + " --model nope");
  EXPECT_EQ(o.code, 2) << o.output;
  EXPECT_TRUE(has(o.output, "no model 'nope'")) << o.output;
}

TEST_F(GateCli, NoFixturesField) {
  json e = twin();
  e.erase("fixtures");
  Outcome o = cli("gate --registry " + registry(json::array({e})) + " --all");
  EXPECT_EQ(o.code, 2) << o.output;
  EXPECT_TRUE(has(o.output, "names no fixture set") && has(o.output, "/models/0/fixtures")) << o.output;
}

TEST_F(GateCli, NegativeOrNaNBudget) {
  write_fixtures(8);
  json e = twin();
  const std::string r = registry(json::array({e}));
  for (const std::string bad : {"nan", "-0.1", "1e9", "abc"}) {
    Outcome o = cli("gate --registry " + r + " --model twin --budget=" + bad);
    EXPECT_EQ(o.code, 2) << bad << ": " << o.output;
    EXPECT_TRUE(has(o.output, "--budget") || has(o.output, "budget override")) << o.output;
  }
  e["quant_accuracy_budget_plcc"] = -0.01;
  Outcome o = cli("gate --registry " + registry(json::array({e})) + " --model twin");
  EXPECT_EQ(o.code, 2) << o.output;
  EXPECT_TRUE(has(o.output, "quant_accuracy_budget_plcc")) << o.output;
}

TEST_F(GateCli, Fp32ModelsAndUsage) {
  write_fixtures(8);
  json plain = twin("plain");
  plain["quant_mode"] = "fp32";
  plain.erase("int8_sha256");
  const std::string r = registry(json::array({plain}));
  Outcome by_id = cli("gate --registry " + r + " --model plain");
  EXPECT_EQ(by_id.code, 2) << by_id.output;
  EXPECT_TRUE(has(by_id.output, "nothing to gate")) << by_id.output;
  Outcome all = cli("gate --registry " + r + " --all");
  EXPECT_EQ(all.code, 0) << all.output;
  EXPECT_TRUE(has(all.output, "plain") && has(all.output, "skipped")) << all.output;
  EXPECT_EQ(cli("gate --registry " + r).code, 2);  // neither --model nor --all
  EXPECT_EQ(cli("gate --registry " + r + " --all --gate-on sideways").code, 2);
}

TEST_F(GateCli, AuditWritesBothReports) {
  write_fixtures(10);
  const std::string r = registry(json::array({twin()}));
  const fs::path out = dir_ / "audit";
  Outcome o = cli("audit --registry " + r + " -o " + out.string());
  EXPECT_EQ(o.code, 0) << o.output;
  const std::string md = slurp(out / "report.md"), html = slurp(out / "report.html");
  for (const std::string* doc : {&md, &html}) {
    EXPECT_TRUE(has(*doc, "<svg")) << *doc;
    EXPECT_TRUE(has(*doc, "twin"));
    EXPECT_TRUE(has(*doc, "SQNR"));
  }
  EXPECT_TRUE(has(md, "\n| linear_2 | Gemm | 10 | inf (identical) |")) << md;
  EXPECT_FALSE(has(html, "http"));

  json e = twin();
  e["fixtures"] = "gone.npz";
  Outcome bad = cli("audit --registry " + registry(json::array({e})) + " -o " + out.string());
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_TRUE(has(bad.output, "gone.npz")) << bad.output;
}

}  // namespace
