// End-to-end tests of `tinyq quantize` (static, dynamic, --registry), its bad-input errors, and
// interop: every file it writes runs in ONNX Runtime (tools/ort-peer) with tinyq's outputs.
// To add a case: quantise into dir_ with cli(...), then check the file with tinyq run or ORT.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "cli_test_util.h"
#include "io/npy.h"
#include "tinyq/registry.h"
#include "util/test_files.h"

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;
using namespace tinyq;

namespace {

using cli::testing::Outcome;
Outcome cli(const std::string& args) { return cli::testing::run_cli(args); }

fs::path bundled() { return fs::path(TINYQ_SOURCE_DIR) / "models"; }
fs::path zoo() { return cli::testing::zoo_dir(); }

// ORT against tinyq, in steps of the output's own 8-bit grid, (max - min) / 255 over every value of
// the set. The two sum floats in different orders, so a value next to a rounding boundary of a
// later QuantizeLinear / DynamicQuantizeLinear can land on either side, and that flip travels on
// through the layers: tinyq running the QDQ file as plain float ops differs from ORT just as much
// as its int8 kernels do (nr_metric_v1 static: RMS 0.47 steps, mean signed 0.08, while int8 and
// fp32 differ by an RMS of 2 steps in both runtimes). A wrong scale, zero point or axis moves
// every value by steps, far past the RMS bound.
constexpr double kOrtRmsSteps = 1.0;  // RMS of the difference: at most one step
constexpr double kOrtMaxSteps = 4.0;  // no single value further than this (flip cascades)
constexpr double kU8Levels = 255.0;

using test_files::slurp;

std::string sha_of(const fs::path& p) {
  const std::string b = slurp(p);
  return sha256_hex(b.data(), b.size());
}

bool has(const std::string& text, const std::string& s) { return text.find(s) != std::string::npos; }

// Feature rows shaped like the canonical-6 libvmaf features (five in [0,1], motion in [0,30]).
Tensor feature_rows(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f), motion(0.0f, 30.0f);
  std::vector<float> v;
  for (int64_t r = 0; r < n; ++r)
    for (int c = 0; c < 6; ++c) v.push_back(c == 5 ? motion(rng) : unit(rng));
  return Tensor::from_vector<float>({n, 6}, v);
}

class QuantizeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_files::fresh_test_dir("tinyq_quantize_cli");  // a parameterised test's '/' becomes '_'
    cal_ = (dir_ / "cal.npz").string();
    ASSERT_TRUE(io::write_npz(cal_, {{"features", feature_rows(64, 1)}}).is_ok());
    inputs_ = (dir_ / "in.npz").string();
    ASSERT_TRUE(io::write_npz(inputs_, {{"features", feature_rows(16, 2)}}).is_ok());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string copy_model(const std::string& name) const {
    fs::copy_file(bundled() / name, dir_ / name, fs::copy_options::overwrite_existing);
    return (dir_ / name).string();
  }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  fs::path dir_;
  std::string cal_, inputs_;
};

TEST_F(QuantizeCli, DynamicWritesTheDefaultFileBesideTheModelAndItRuns) {
  const std::string model = copy_model("vmaf_tiny_v4.onnx");
  auto r = cli("quantize dynamic " + model);
  ASSERT_EQ(r.code, 0) << r.output;
  const fs::path out = dir_ / "vmaf_tiny_v4.int8.onnx";
  ASSERT_TRUE(fs::exists(out)) << r.output;
  EXPECT_TRUE(has(r.output, "wrote " + out.string() + " (dynamic")) << r.output;
  EXPECT_TRUE(has(r.output, "4 nodes int8")) << r.output;
  EXPECT_TRUE(has(r.output, sha_of(out))) << r.output;
  auto run = cli("run " + out.string() + " --inputs " + inputs_ + " --batch 1");
  EXPECT_EQ(run.code, 0) << run.output;
  EXPECT_TRUE(has(run.output, "vmaf float32[16]")) << run.output;
}

TEST_F(QuantizeCli, StaticTakesItsOptionsAndReportsJson) {
  const std::string model = copy_model("vmaf_tiny_v4.onnx");
  const std::string out = (dir_ / "v4.s8.onnx").string();
  auto r = cli("quantize static " + model + " --calibration " + cal_ + " -o " + out +
               " --method percentile --percentile 99.99 --activations s8 --per-tensor --exclude-nodes node_linear_3 --json");
  ASSERT_EQ(r.code, 0) << r.output;
  json j = json::parse(r.output);
  EXPECT_EQ(j["output"], out);
  EXPECT_EQ(j["mode"], "static");
  EXPECT_EQ(j["calibration_rows"], 64);
  EXPECT_EQ(j["quantized_nodes"], (json{"node_linear", "node_linear_1", "node_linear_2"}));
  EXPECT_EQ(j["sha256"], sha_of(out));
  EXPECT_EQ(j["bytes"], fs::file_size(out));
  EXPECT_FALSE(fs::exists(dir_ / "vmaf_tiny_v4.int8.onnx"));
  EXPECT_EQ(cli("run " + out + " --inputs " + inputs_ + " --batch 1").code, 0);
}

TEST_F(QuantizeCli, OpTypeSelectionAndIncludeList) {
  const std::string model = copy_model("vmaf_tiny_v4.onnx");
  auto r = cli("quantize dynamic " + model + " --include-nodes node_linear,node_linear_1 --json");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(json::parse(r.output)["quantized_nodes"], (json{"node_linear", "node_linear_1"}));
  r = cli("quantize dynamic " + model + " --exclude-op-types Gemm");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "no node can be quantised")) << r.output;
}

// ---- bad input: exit 2, a message naming the culprit, and no file written ----

TEST_F(QuantizeCli, CalibrationSetWithoutTheModelsInputIsAnErrorNamingIt) {
  const std::string model = copy_model("vmaf_tiny_v4.onnx");
  const std::string bad = (dir_ / "bad.npz").string();
  ASSERT_TRUE(io::write_npz(bad, {{"feature", feature_rows(8, 3)}}).is_ok());
  auto r = cli("quantize static " + model + " --calibration " + bad);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "bad.npz")) << r.output;
  EXPECT_TRUE(has(r.output, "'features'")) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "vmaf_tiny_v4.int8.onnx"));
}

TEST_F(QuantizeCli, BadCalibrationDataIsAnErrorNamingTheFile) {
  const std::string model = copy_model("vmaf_tiny_v4.onnx");
  struct Case {
    const char* what;
    Tensor data;
    const char* says;  // in the message besides the file
  };
  Tensor nan_rows = feature_rows(4, 4);
  nan_rows.data<float>()[7] = std::nanf("");
  Tensor inf_rows = feature_rows(4, 4);
  inf_rows.data<float>()[2] = std::numeric_limits<float>::infinity();
  const Case cases[] = {
      {"wrong dtype", Tensor(DType::kFloat64, {4, 6}), "'features'"},
      {"wrong shape", Tensor(DType::kFloat32, {4, 5}), "'features'"},
      {"NaN", nan_rows, "NaN at calibration row 1"},
      {"Inf", inf_rows, "Inf at calibration row 0"},
      {"no rows", Tensor(DType::kFloat32, {0, 6}), "no rows"},
  };
  for (const Case& c : cases) {
    const std::string bad = (dir_ / "bad.npz").string();
    ASSERT_TRUE(io::write_npz(bad, {{"features", c.data}}).is_ok());
    auto r = cli("quantize static " + model + " --calibration " + bad);
    EXPECT_EQ(r.code, 2) << c.what << ": " << r.output;
    EXPECT_TRUE(has(r.output, "bad.npz")) << c.what << ": " << r.output;
    EXPECT_TRUE(has(r.output, c.says)) << c.what << ": " << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "vmaf_tiny_v4.int8.onnx")) << c.what;
  }
}

TEST_F(QuantizeCli, ModelWithNothingToQuantiseIsAnError) {
  const std::string model = copy_model("vmaf_tiny_v4.onnx");
  auto r = cli("quantize dynamic " + model + " --op-types MatMul");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "no node can be quantised")) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "vmaf_tiny_v4.int8.onnx"));
}

TEST_F(QuantizeCli, UnknownMethodIsAnErrorNamingIt) {
  const std::string model = copy_model("vmaf_tiny_v4.onnx");
  auto r = cli("quantize static " + model + " --calibration " + cal_ + " --method kl");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "'kl'")) << r.output;
  r = cli("quantize static " + model + " --calibration " + cal_ + " --activations u16");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "'u16'")) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "vmaf_tiny_v4.int8.onnx"));
}

TEST_F(QuantizeCli, NamesThatMatchNoNodeAreErrors) {
  const std::string model = copy_model("vmaf_tiny_v4.onnx");
  auto r = cli("quantize dynamic " + model + " --include-nodes node_linear,fc9");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "include node 'fc9'")) << r.output;
  r = cli("quantize static " + model + " --calibration " + cal_ + " --exclude-nodes nope");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "exclude node 'nope'")) << r.output;
  r = cli("quantize dynamic " + model + " --exclude-op-types Conv");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "exclude op type 'Conv'")) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "vmaf_tiny_v4.int8.onnx"));
}

TEST_F(QuantizeCli, UnreadableModelIsAnErrorNamingTheFile) {
  const fs::path junk = dir_ / "junk.onnx";
  std::ofstream(junk) << "not a model";
  auto r = cli("quantize dynamic " + junk.string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, junk.string())) << r.output;
  r = cli("quantize static " + (dir_ / "missing.onnx").string() + " --calibration " + cal_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "missing.onnx")) << r.output;
  EXPECT_EQ(files(), (std::vector<std::string>{"cal.npz", "in.npz", "junk.onnx"}));
}

TEST_F(QuantizeCli, AnExistingOutputSurvivesAFailedRun) {
  const std::string model = copy_model("vmaf_tiny_v4.onnx");
  const fs::path out = dir_ / "vmaf_tiny_v4.int8.onnx";
  std::ofstream(out) << "previous";
  auto r = cli("quantize static " + model + " --calibration " + (dir_ / "none.npz").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "none.npz")) << r.output;
  EXPECT_EQ(slurp(out), "previous");
}

TEST_F(QuantizeCli, TheOutputMayNotReplaceTheModel) {
  const std::string model = copy_model("vmaf_tiny_v4.onnx");
  const std::string before = slurp(model);
  auto r = cli("quantize dynamic " + model + " -o " + model);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "is the input file")) << r.output;
  EXPECT_EQ(slurp(model), before);
}

TEST_F(QuantizeCli, RegistryAndAPathDoNotGoTogether) {
  const std::string model = copy_model("vmaf_tiny_v4.onnx");
  auto r = cli("quantize --registry r.json --model m dynamic " + model);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "vmaf_tiny_v4.int8.onnx"));
  r = cli("quantize");
  EXPECT_EQ(r.code, 2) << r.output;
}

// ---- --registry R --model ID ----

class QuantizeRegistryCli : public QuantizeCli {
 protected:
  void SetUp() override {
    QuantizeCli::SetUp();
    for (const char* m : {"vmaf_tiny_v2.onnx", "vmaf_tiny_v3.onnx", "vmaf_tiny_v4.onnx", "fr_regressor_v1.onnx"}) copy_model(m);
    entries_ = ordered_json::array();
    entries_.push_back(entry("vmaf_tiny_v4", "static"));
    entries_.back()["quant_calibration_set"] = "cal.npz";
    entries_.push_back(entry("vmaf_tiny_v3", "dynamic"));
    entries_.back()["int8_sha256"] = std::string(64, '0');  // stale: quantize replaces it in place
    entries_.push_back(entry("vmaf_tiny_v2", "fp32"));
    entries_.push_back(entry("fr_regressor_v1", "qat"));
    entries_.back()["int8_sha256"] = std::string(64, '0');
    registry_ = (dir_ / "registry.json").string();
    std::ofstream(registry_) << ordered_json{{"schema_version", 1}, {"models", entries_}}.dump(2) << "\n";
    before_ = slurp(registry_);
  }
  ordered_json entry(const std::string& id, const std::string& mode) const {
    return ordered_json{{"id", id}, {"kind", "fr"}, {"onnx", id + ".onnx"}, {"sha256", sha_of(dir_ / (id + ".onnx"))},
                        {"quant_mode", mode}, {"license", "BSD-3-Clause-Plus-Patent"}};
  }
  ordered_json read_registry() const { return ordered_json::parse(slurp(registry_)); }
  std::string registry_, before_;
  ordered_json entries_;
};

TEST_F(QuantizeRegistryCli, StaticEntryGetsItsFileAndDigest) {
  auto r = cli("quantize --registry " + registry_ + " --model vmaf_tiny_v4");
  ASSERT_EQ(r.code, 0) << r.output;
  const fs::path out = dir_ / "vmaf_tiny_v4.int8.onnx";
  ASSERT_TRUE(fs::exists(out));
  EXPECT_TRUE(has(r.output, "calibrated on 64 rows")) << r.output;
  ordered_json doc = read_registry();
  ordered_json want = entries_;
  // The new key goes after sha256 (these entries' keys are not sorted); nothing else moves.
  ordered_json e = ordered_json::object();
  for (auto it = want[0].begin(); it != want[0].end(); ++it) {
    e[it.key()] = it.value();
    if (it.key() == "sha256") e["int8_sha256"] = sha_of(out);
  }
  want[0] = e;
  EXPECT_EQ(doc["models"].dump(), want.dump());
  const ordered_json whole{{"schema_version", 1}, {"models", want}};
  EXPECT_EQ(slurp(registry_), whole.dump(2) + "\n");
  // The loader accepts it: digest verified, int8 loaded.
  auto run = cli("run --registry " + registry_ + " --model vmaf_tiny_v4 --inputs " + inputs_ + " --batch 1 --json");
  ASSERT_EQ(run.code, 0) << run.output;
  json j = json::parse(run.output);
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["int8"], true);
}

TEST_F(QuantizeRegistryCli, DynamicEntryNeedsNoCalibrationSet) {
  auto r = cli("quantize --registry " + registry_ + " --model vmaf_tiny_v3 --json");
  ASSERT_EQ(r.code, 0) << r.output;
  json j = json::parse(r.output);
  EXPECT_EQ(j["mode"], "dynamic");
  const ordered_json doc = read_registry();
  EXPECT_EQ(doc["models"][1]["int8_sha256"], sha_of(dir_ / "vmaf_tiny_v3.int8.onnx"));
  ordered_json want = entries_[1];
  want["int8_sha256"] = sha_of(dir_ / "vmaf_tiny_v3.int8.onnx");  // replaced where it was
  EXPECT_EQ(doc["models"][1].dump(), want.dump());
  // Once the static entry has its digest too, the registry loads and the digest verifies.
  ASSERT_EQ(cli("quantize --registry " + registry_ + " --model vmaf_tiny_v4").code, 0);
  auto run = cli("run --registry " + registry_ + " --model vmaf_tiny_v3 --inputs " + inputs_ + " --batch 1 --json");
  ASSERT_EQ(run.code, 0) << run.output;
  EXPECT_EQ(json::parse(run.output)["verified"], true);
}

TEST_F(QuantizeRegistryCli, Fp32AndQatEntriesAreErrorsAndChangeNothing) {
  auto r = cli("quantize --registry " + registry_ + " --model vmaf_tiny_v2");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "nothing to quantise")) << r.output;
  // A qat entry needs training: with QAT built in, from its train_set, which this one lacks;
  // without QAT, the command says where training lives.
  r = cli("quantize --registry " + registry_ + " --model fr_regressor_v1");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "has quant_mode qat but no train_set") || has(r.output, "needs training: tinyq qat"))
      << r.output;
  r = cli("quantize --registry " + registry_ + " --model nope");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "'nope'")) << r.output;
  EXPECT_EQ(slurp(registry_), before_);
  EXPECT_FALSE(fs::exists(dir_ / "vmaf_tiny_v2.int8.onnx"));
  EXPECT_FALSE(fs::exists(dir_ / "fr_regressor_v1.int8.onnx"));
}

TEST_F(QuantizeRegistryCli, AFailureLeavesTheOldArtefactAndRegistry) {
  ASSERT_EQ(cli("quantize --registry " + registry_ + " --model vmaf_tiny_v4").code, 0);
  const fs::path out = dir_ / "vmaf_tiny_v4.int8.onnx";
  const std::string artefact = slurp(out), registry = slurp(registry_);
  // The calibration set loses its input: quantising again fails before anything is written.
  ASSERT_TRUE(io::write_npz(cal_, {{"other", feature_rows(4, 5)}}).is_ok());
  auto r = cli("quantize --registry " + registry_ + " --model vmaf_tiny_v4");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "'features'")) << r.output;
  EXPECT_EQ(slurp(out), artefact);
  EXPECT_EQ(slurp(registry_), registry);
  // A tampered fp32 file is refused by its digest.
  std::ofstream(dir_ / "vmaf_tiny_v3.onnx", std::ios::app) << " ";
  r = cli("quantize --registry " + registry_ + " --model vmaf_tiny_v3");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, "sha256 mismatch")) << r.output;
  EXPECT_EQ(slurp(registry_), registry);
  EXPECT_FALSE(fs::exists(dir_ / "vmaf_tiny_v3.int8.onnx"));
}

// The sidecar lines of `tinyq registry validate --json`: warnings that it disagrees with the registry.
std::vector<std::string> sidecar_warnings(const std::string& registry) {
  const json report = json::parse(cli("registry validate " + registry + " --json").output);
  std::vector<std::string> out;
  for (const auto& l : report["lines"])
    if (l["level"] == "warning" && has(l["message"].get<std::string>(), "sidecar")) out.push_back(l["message"]);
  return out;
}

TEST_F(QuantizeRegistryCli, TheSidecarFollowsTheRegistry) {
  // A newer-layout sidecar as lusoris/vmaf writes it (2-space indent, \u escapes) with a digest
  // that disagrees with the registry, and an older-layout one that has no digest to follow.
  auto newer = [](const std::string& digest) {
    return "{\n  \"id\": \"vmaf_tiny_v3\",\n  \"onnx\": \"vmaf_tiny_v3.onnx\",\n  \"opset\": 17,\n  \"quant_mode\": \"dynamic\",\n"
           "  \"int8_sha256\": \"" + digest + "\",\n  \"input_shape\": [\n    1,\n    6\n  ],\n"
           "  \"notes\": \"tiny FR \\u2014 canonical-6 \\u2192 score\"\n}\n";
  };
  const std::string older = "{\n  \"input_name\": \"features\",\n  \"kind\": \"fr\",\n  \"name\": \"vmaf_tiny_v4\",\n"
                            "  \"onnx_opset\": 17,\n  \"output_name\": \"score\"\n}\n";
  std::ofstream(dir_ / "vmaf_tiny_v3.json", std::ios::binary) << newer(std::string(64, '1'));
  std::ofstream(dir_ / "vmaf_tiny_v4.json", std::ios::binary) << older;
  ASSERT_EQ(sidecar_warnings(registry_).size(), 1u);  // the stale digest
  ASSERT_EQ(cli("quantize --registry " + registry_ + " --model vmaf_tiny_v3").code, 0);
  ASSERT_EQ(cli("quantize --registry " + registry_ + " --model vmaf_tiny_v4").code, 0);
  EXPECT_EQ(slurp(dir_ / "vmaf_tiny_v3.json"), newer(sha_of(dir_ / "vmaf_tiny_v3.int8.onnx")));
  EXPECT_EQ(slurp(dir_ / "vmaf_tiny_v4.json"), older);
  const std::vector<std::string> left = sidecar_warnings(registry_);
  EXPECT_TRUE(left.empty()) << left[0];
}

TEST_F(QuantizeRegistryCli, ACorruptSidecarIsAnErrorNamingItAndNothingIsWritten) {
  const std::string corrupt = "{\n  \"quant_mode\": \"dynamic\",\n";
  std::ofstream(dir_ / "vmaf_tiny_v3.json", std::ios::binary) << corrupt;
  auto r = cli("quantize --registry " + registry_ + " --model vmaf_tiny_v3");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(has(r.output, (dir_ / "vmaf_tiny_v3.json").string())) << r.output;
  EXPECT_EQ(slurp(registry_), before_);
  EXPECT_FALSE(fs::exists(dir_ / "vmaf_tiny_v3.int8.onnx"));
  EXPECT_EQ(slurp(dir_ / "vmaf_tiny_v3.json"), corrupt);
  for (const auto& f : files()) EXPECT_NE(f[0], '.') << f << " left behind";
}

// ---- interop with ONNX Runtime ----

// node and tools/ort-peer/node_modules present; without them the test skips, unless
// TINYQ_REQUIRE_ORT=1 (CI), where it fails.
bool ort_available(std::string* why) {
  const fs::path peer = fs::path(TINYQ_SOURCE_DIR) / "tools" / "ort-peer";
  if (std::system("command -v node >/dev/null 2>&1") != 0) *why = "node is not installed";
  else if (!fs::exists(peer / "node_modules" / "onnxruntime-node")) *why = peer.string() + "/node_modules is missing (npm install)";
  return why->empty();
}

struct InteropCase {
  const char* model;     // zoo model
  const char* quantize;  // arguments after "quantize"
};

void PrintTo(const InteropCase& c, std::ostream* os) { *os << c.model << ": quantize " << c.quantize; }

class QuantizeOrtInterop : public QuantizeCli, public ::testing::WithParamInterface<InteropCase> {};

TEST_P(QuantizeOrtInterop, OrtRunsTheFileWithTinyqsOutputs) {
  std::string why;
  if (!ort_available(&why)) {
    const char* req = std::getenv("TINYQ_REQUIRE_ORT");
    if (req && std::string(req) == "1") FAIL() << "TINYQ_REQUIRE_ORT=1 but " << why;
    GTEST_SKIP() << why;
  }
  const InteropCase& c = GetParam();
  const fs::path models = zoo() / "models", fixtures = zoo() / "fixtures";
  if (!fs::exists(models / (std::string(c.model) + ".onnx"))) GTEST_SKIP() << "no zoo at " << zoo();
  const std::string model = (models / (std::string(c.model) + ".onnx")).string();
  const std::string fix = (fixtures / (std::string(c.model) + ".fixtures.npz")).string();
  const std::string cal = (fixtures / (std::string(c.model) + ".calibration.npz")).string();
  const std::string out = (dir_ / "q.onnx").string();
  std::string args = c.quantize;
  if (args.rfind("static", 0) == 0) args += " --calibration " + cal;
  auto q = cli("quantize " + args + " " + model + " -o " + out);
  ASSERT_EQ(q.code, 0) << q.output;

  const std::string mine = (dir_ / "tinyq.npz").string(), theirs = (dir_ / "ort.npz").string();
  auto run = cli("run " + out + " --inputs " + fix + " --batch 1 --save " + mine);
  ASSERT_EQ(run.code, 0) << run.output;
  const std::string node = "node " + (fs::path(TINYQ_SOURCE_DIR) / "tools" / "ort-peer" / "run.js").string() + " " + out +
                           " --inputs " + fix + " --save " + theirs + " --batch 1 --level basic 2>&1";
  ASSERT_EQ(std::system(node.c_str()), 0) << node;

  auto a = io::read_npz(mine), b = io::read_npz(theirs);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    const auto& [name, t] = (*a)[i];
    const Tensor* o = nullptr;
    for (const auto& [n2, t2] : *b)
      if (n2 == name) o = &t2;
    ASSERT_NE(o, nullptr) << "ORT has no output " << name;
    ASSERT_EQ(t.shape(), o->shape()) << name;
    const float* x = t.data<float>();
    const float* y = o->data<float>();
    const auto [lo, hi] = std::minmax_element(x, x + t.numel());
    const double step = (*hi - *lo) / kU8Levels;
    double worst = 0, sq = 0;
    for (int64_t k = 0; k < t.numel(); ++k) {
      const double d = std::fabs(static_cast<double>(x[k]) - y[k]);
      worst = std::max(worst, d);
      sq += d * d;
    }
    const double rms = std::sqrt(sq / static_cast<double>(t.numel()));
    EXPECT_LE(worst, kOrtMaxSteps * step) << c.model << " " << c.quantize << " output " << name << ", step " << step;
    EXPECT_LE(rms, kOrtRmsSteps * step) << c.model << " " << c.quantize << " output " << name << ", step " << step;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Zoo, QuantizeOrtInterop,
    ::testing::Values(InteropCase{"vmaf_tiny_v4", "static"}, InteropCase{"vmaf_tiny_v4", "dynamic"},
                      InteropCase{"vmaf_tiny_v2", "static --activations s8 --per-tensor"},
                      InteropCase{"vmaf_tiny_v3", "static --method mse --range-margin 0.25"},
                      InteropCase{"fr_regressor_v1", "static --per-tensor"}, InteropCase{"fr_regressor_v1", "dynamic"},
                      InteropCase{"nr_metric_v1", "static"},
                      InteropCase{"nr_metric_v1", "dynamic"}, InteropCase{"learned_filter_v1", "static --method entropy"},
                      InteropCase{"learned_filter_v1", "dynamic"}),
    [](const ::testing::TestParamInfo<InteropCase>& info) {
      std::string s = std::string(info.param.model) + "_" + info.param.quantize;
      for (char& ch : s)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return s;
    });

}  // namespace
