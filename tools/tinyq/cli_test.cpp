// End-to-end tests of the tinyq CLI: exit codes and messages for good and bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>

#include "cli_test_util.h"
#include "io/npy.h"

namespace fs = std::filesystem;
using namespace tinyq;

namespace {

fs::path zoo() { return cli::testing::zoo_dir(); }
using cli::testing::Outcome;
Outcome tinyq_cli(const std::string& args) { return cli::testing::run_cli(args); }

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::is_directory(zoo())) << zoo() << " is missing (set TINYQ_SHARED_DIR)";
    dir_ = fs::temp_directory_path() / ("tinyq_cli_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string model(const std::string& name) const { return (zoo() / "models" / (name + ".onnx")).string(); }
  std::string write_npz(const std::string& name, io::NamedArrays arrays) const {
    std::string path = (dir_ / name).string();
    EXPECT_TRUE(io::write_npz(path, arrays).is_ok());
    return path;
  }
  fs::path dir_;
};

TEST_F(CliTest, RunSavesOneArrayPerOutput) {
  std::string out = (dir_ / "out.npz").string();
  auto r = tinyq_cli("run " + model("vmaf_tiny_v4") + " --inputs " + (zoo() / "fixtures" / "vmaf_tiny_v4.fixtures.npz").string() +
                     " --save " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  auto saved = io::read_npz(out);
  ASSERT_TRUE(saved.is_ok()) << saved.status().to_string();
  ASSERT_EQ(saved->size(), 1u);
  EXPECT_EQ((*saved)[0].first, "vmaf");
  EXPECT_EQ((*saved)[0].second.shape(), (Shape{512}));
}

TEST_F(CliTest, FixedBatchModelRunsRowByRow) {
  std::string out = (dir_ / "out.npz").string();
  auto r = tinyq_cli("run " + model("smoke_v0") + " --inputs " + (zoo() / "fixtures" / "smoke_v0.fixtures.npz").string() +
                     " --save " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  auto saved = io::read_npz(out);
  ASSERT_TRUE(saved.is_ok());
  auto in = io::read_npz((zoo() / "fixtures" / "smoke_v0.fixtures.npz").string());
  ASSERT_TRUE(in.is_ok());
  EXPECT_EQ((*saved)[0].second.shape()[0], (*in)[0].second.shape()[0]);
}

TEST_F(CliTest, BenchJsonHasTheSharedKeys) {
  auto r = tinyq_cli("bench " + model("vmaf_tiny_v2") + " --batch 8 --iters 20 --json");
  ASSERT_EQ(r.code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  for (const char* key : {"median_us", "p10_us", "batch", "median_us_per_sample", "threads", "runs_per_sample"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["batch"], 8);
  EXPECT_GT(j["median_us"].get<double>(), 0.0);
  // A sub-microsecond model is timed in groups of runs; the total stays near the runs asked for.
  EXPECT_GE(j["runs_per_sample"].get<int>(), 1);
  EXPECT_LE(j["iters"].get<int>(), 20);
  EXPECT_GE(j["iters"].get<int>(), j["runs_per_sample"].get<int>());
}

TEST_F(CliTest, TruncatedModelIsExit2NamingTheFile) {
  std::ifstream in(model("vmaf_tiny_v4"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::string path = (dir_ / "truncated.onnx").string();
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  auto r = tinyq_cli("run " + path + " --inputs " + (zoo() / "fixtures" / "vmaf_tiny_v4.fixtures.npz").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("truncated.onnx"), std::string::npos) << r.output;
}

TEST_F(CliTest, CorruptModelIsExit2) {
  std::string path = (dir_ / "garbage.onnx").string();
  std::ofstream(path, std::ios::binary) << "this is not a protobuf \xff\xff\xff\xff";
  auto r = tinyq_cli("run " + path + " --inputs " + (zoo() / "fixtures" / "vmaf_tiny_v4.fixtures.npz").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("garbage.onnx"), std::string::npos) << r.output;
}

TEST_F(CliTest, MissingExternalDataIsExit2NamingTheDataFile) {
  fs::copy_file(model("fr_regressor_v1"), dir_ / "fr_regressor_v1.onnx");
  auto r = tinyq_cli("run " + (dir_ / "fr_regressor_v1.onnx").string() + " --inputs " +
                     (zoo() / "fixtures" / "fr_regressor_v1.fixtures.npz").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("fr_regressor_v1.onnx.data"), std::string::npos) << r.output;
}

TEST_F(CliTest, WrongInputShapeIsExit2NamingTheInput) {
  std::string npz = write_npz("bad.npz", {{"features", Tensor(DType::kFloat32, {3, 5})}});
  auto r = tinyq_cli("run " + model("vmaf_tiny_v4") + " --inputs " + npz);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("'features'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[3,5]"), std::string::npos) << r.output;
}

TEST_F(CliTest, WrongInputDtypeIsExit2NamingTheInput) {
  std::string npz = write_npz("bad.npz", {{"features", Tensor(DType::kFloat64, {3, 6})}});
  auto r = tinyq_cli("run " + model("vmaf_tiny_v4") + " --inputs " + npz);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("'features'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("float64"), std::string::npos) << r.output;
}

TEST_F(CliTest, NpzLackingAnInputIsExit2) {
  std::string npz = write_npz("bad.npz", {{"feats", Tensor(DType::kFloat32, {3, 6})}});
  auto r = tinyq_cli("run " + model("vmaf_tiny_v4") + " --inputs " + npz);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("'features'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("feats"), std::string::npos) << r.output;
}

TEST_F(CliTest, WrongInputNameViaInputFlagIsExit2) {
  std::string npy = (dir_ / "x.npy").string();
  ASSERT_TRUE(io::write_npy(npy, Tensor(DType::kFloat32, {2, 6})).is_ok());
  auto r = tinyq_cli("run " + model("vmaf_tiny_v4") + " --input nosuch=" + npy);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("'features'"), std::string::npos) << r.output;
}

TEST_F(CliTest, MissingModelFileIsExit2) {
  auto r = tinyq_cli("run " + (dir_ / "nope.onnx").string() + " --inputs x.npz");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("nope.onnx"), std::string::npos) << r.output;
}

TEST_F(CliTest, UsageErrorIsExit2) {
  auto r = tinyq_cli("run");
  EXPECT_EQ(r.code, 2) << r.output;
}

}  // namespace
