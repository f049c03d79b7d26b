// End-to-end tests of `tinyq registry validate` and of run/bench through --registry R --model ID.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_test_util.h"
#include "io/npy.h"
#include "tinyq/registry.h"
#include "util/test_files.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace tinyq;

namespace {

fs::path zoo_models() { return cli::testing::zoo_dir() / "models"; }
fs::path bundled() { return fs::path(TINYQ_SOURCE_DIR) / "models"; }

using cli::testing::Outcome;
Outcome cli(const std::string& args) { return cli::testing::run_cli(args); }

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  return out;
}

std::string sha_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string b((std::istreambuf_iterator<char>(in)), {});
  return sha256_hex(b.data(), b.size());
}

class RegistryCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_files::fresh_test_dir("tinyq_registry_cli");
    inputs_ = (dir_ / "in.npz").string();
    Tensor rows = Tensor::from_vector<float>({2, 6}, {0.95f, 0.45f, 0.8f, 0.88f, 0.92f, 3.5f, 0.8f, 0.3f, 0.6f, 0.7f, 0.78f, 12.0f});
    ASSERT_TRUE(io::write_npz(inputs_, {{"features", rows}}).is_ok());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write_registry(const json& entry) const {
    std::string path = (dir_ / "registry.json").string();
    std::ofstream(path) << json{{"schema_version", 1}, {"models", json::array({entry})}}.dump(2);
    return path;
  }
  std::string copy(const std::string& bundled_name, const std::string& name) const {
    fs::copy_file(bundled() / bundled_name, dir_ / name, fs::copy_options::overwrite_existing);
    return sha_of(dir_ / name);
  }
  fs::path dir_;
  std::string inputs_;
};

TEST_F(RegistryCli, ZooListsEachAbsentFileOnOneLineAndPassesThePresentModels) {
  auto r = cli("registry validate " + (zoo_models() / "registry.json").string());
  EXPECT_EQ(r.code, 0) << r.output;
  auto doc = json::parse(std::ifstream(zoo_models() / "registry.json"));
  size_t absent = 0, present = 0;
  for (const auto& m : doc["models"]) (fs::exists(zoo_models() / m["onnx"].get<std::string>()) ? present : absent) += 1;
  EXPECT_EQ(present, 7u);
  EXPECT_EQ(lines_starting(r.output, "absent").size(), absent) << r.output;
  EXPECT_EQ(lines_starting(r.output, "ok").size(), present) << r.output;
  EXPECT_TRUE(lines_starting(r.output, "error").empty()) << r.output;
  EXPECT_NE(r.output.find("vmaf_tiny_v4.int8.onnx' sha256 verified"), std::string::npos) << r.output;
  EXPECT_EQ(cli("registry validate --strict " + (zoo_models() / "registry.json").string()).code, 1);
}

TEST_F(RegistryCli, ProjectRegistryValidatesStrictly) {
  auto r = cli("registry validate --strict " + (bundled() / "registry.json").string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(lines_starting(r.output, "absent").empty()) << r.output;
  auto j = cli("registry validate --json " + (bundled() / "registry.json").string());
  ASSERT_EQ(j.code, 0) << j.output;
  auto report = json::parse(j.output);
  EXPECT_EQ(report["valid"], true);
  EXPECT_EQ(report["verified"], report["models"]);
}

TEST_F(RegistryCli, ExitCodesUnreadableIsTwoInvalidIsOne) {
  std::ofstream(dir_ / "bad.json") << "{\"models\": [1,";
  auto not_json = cli("registry validate " + (dir_ / "bad.json").string());
  EXPECT_EQ(not_json.code, 2) << not_json.output;
  EXPECT_NE(not_json.output.find("bad.json' is not JSON"), std::string::npos) << not_json.output;
  EXPECT_EQ(cli("registry validate " + (dir_ / "missing.json").string()).code, 2);

  std::string sha = copy("smoke_v0.onnx", "m.onnx");
  write_registry({{"id", "m"}, {"kind", "fr"}, {"onnx", "m.onnx"}, {"sha256", sha}, {"quant_mode", "int4"}});
  auto invalid = cli("registry validate " + (dir_ / "registry.json").string());
  EXPECT_EQ(invalid.code, 1) << invalid.output;
  auto errors = lines_starting(invalid.output, "error");
  ASSERT_EQ(errors.size(), 1u) << invalid.output;
  EXPECT_NE(errors[0].find("/models/0/quant_mode: \"int4\" is not one of"), std::string::npos) << errors[0];
}

TEST_F(RegistryCli, RunJsonSaysWhichFileWasLoadedAndThatItWasVerified) {
  std::string reg = (bundled() / "registry.json").string();
  auto r = cli("run --registry " + reg + " --model vmaf_tiny_v2 --inputs " + inputs_ + " --json");
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = json::parse(r.output);
  EXPECT_EQ(j["model"], "vmaf_tiny_v2");
  EXPECT_EQ(fs::path(j["file_loaded"].get<std::string>()).filename(), "vmaf_tiny_v2.onnx");
  EXPECT_EQ(j["sha256"], "d7000bf5c5fd1ed39528546dd8464db44a13cb73cfed33fd8f134e5848b009a7");
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["quant_mode"], "fp32");
  EXPECT_EQ(j["outputs"][0]["shape"], json::array({2}));

  auto v = cli("run --registry " + reg + " --model vmaf_tiny_v2 --inputs " + inputs_ + " -v");
  ASSERT_EQ(v.code, 0) << v.output;
  EXPECT_NE(v.output.find("vmaf_tiny_v2.onnx for model 'vmaf_tiny_v2'"), std::string::npos) << v.output;
  EXPECT_NE(v.output.find("d7000bf5c5fd1ed39528546dd8464db44a13cb73cfed33fd8f134e5848b009a7 verified"), std::string::npos) << v.output;

  auto plain = cli("run " + (bundled() / "vmaf_tiny_v2.onnx").string() + " --inputs " + inputs_ + " --json");
  ASSERT_EQ(plain.code, 0) << plain.output;
  EXPECT_EQ(json::parse(plain.output)["verified"], false) << "a bare path is not digest-checked";
  EXPECT_EQ(json::parse(plain.output)["outputs"], j["outputs"]);
}

TEST_F(RegistryCli, BenchThroughTheRegistry) {
  auto r = cli("bench --registry " + (bundled() / "registry.json").string() + " --model vmaf_tiny_v3 --batch 4 --iters 10 --json");
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = json::parse(r.output);
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["batch"], 4);
  EXPECT_GT(j["median_us"].get<double>(), 0.0);
}

TEST_F(RegistryCli, DigestMismatchIsExit2WithBothDigests) {
  std::string actual = copy("vmaf_tiny_v2.onnx", "m.onnx");
  std::string wrong(64, 'e');
  std::string reg = write_registry({{"id", "m"}, {"kind", "fr"}, {"onnx", "m.onnx"}, {"sha256", wrong}});
  auto r = cli("run --registry " + reg + " --model m --inputs " + inputs_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("m.onnx"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(wrong), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(actual), std::string::npos) << r.output;
}

TEST_F(RegistryCli, MissingInt8NeedsTheFallbackFlag) {
  std::string sha = copy("vmaf_tiny_v2.onnx", "m.onnx");
  std::string reg = write_registry(
      {{"id", "m"}, {"kind", "fr"}, {"onnx", "m.onnx"}, {"sha256", sha}, {"quant_mode", "dynamic"}, {"int8_sha256", std::string(64, 'a')}});
  auto refused = cli("run --registry " + reg + " --model m --inputs " + inputs_);
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_NE(refused.output.find("m.int8.onnx' is missing"), std::string::npos) << refused.output;
  auto fallback = cli("run --registry " + reg + " --model m --inputs " + inputs_ + " --allow-fp32-fallback --json");
  ASSERT_EQ(fallback.code, 0) << fallback.output;
  EXPECT_NE(fallback.output.find("tinyq: warning:"), std::string::npos) << fallback.output;
  auto j = json::parse(fallback.output.substr(fallback.output.find('{')));
  EXPECT_EQ(j["fp32_fallback"], true);
  EXPECT_EQ(j["int8"], false);
  EXPECT_EQ(j["verified"], true);
}

TEST_F(RegistryCli, ModelSourceMustBeOneOrTheOther) {
  std::string reg = (bundled() / "registry.json").string();
  EXPECT_EQ(cli("run " + (bundled() / "smoke_v0.onnx").string() + " --registry " + reg + " --model smoke_v0").code, 2);
  EXPECT_EQ(cli("run --registry " + reg).code, 2);
  EXPECT_EQ(cli("run --model smoke_v0").code, 2);
  auto unknown = cli("run --registry " + reg + " --model nope --inputs " + inputs_);
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.output.find("no model 'nope'"), std::string::npos) << unknown.output;
  auto capped = cli("run --registry " + reg + " --model vmaf_tiny_v2 --max-model-bytes 1000 --inputs " + inputs_);
  EXPECT_EQ(capped.code, 2);
  EXPECT_NE(capped.output.find("over the limit of 1000"), std::string::npos) << capped.output;
}

}  // namespace
