// write_registry_entry() (tinyq tune's record, its sidecar included) and load_registered_model().
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ir/graph.h"
#include "tinyq/registry.h"
#include "util/test_files.h"

namespace tinyq {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) { return test_files::slurp(p); }
void write(const fs::path& p, const std::string& s) { test_files::spit(p, s); }
std::string sha(const std::string& s) { return sha256_hex(s.data(), s.size()); }

class RegistryEdit : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_files::fresh_test_dir("tinyq_registry_edit_test");
    fs::copy_file(fs::path(TINYQ_SOURCE_DIR) / "models" / "smoke_v0.onnx", dir_ / "m.onnx");
    write(dir_ / "cal.npz", "calibration");
    original_ = "{\n  \"schema_version\": 1,\n  \"models\": [\n    {\n      \"id\": \"m\",\n      \"kind\": \"fr\",\n"
                "      \"onnx\": \"m.onnx\",\n      \"sha256\": \"" + sha(read(dir_ / "m.onnx")) + "\",\n"
                "      \"opset\": 17,\n      \"quant_mode\": \"fp32\",\n      \"description\": \"d\",\n      \"notes\": \"n\"\n    }\n  ]\n}\n";
    write(reg(), original_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path reg() const { return dir_ / "registry.json"; }
  void expect_untouched() const {
    EXPECT_EQ(read(reg()), original_);
    EXPECT_FALSE(fs::exists(dir_ / "m.int8.onnx"));
    for (const auto& e : fs::directory_iterator(dir_)) EXPECT_NE(e.path().filename().string()[0], '.') << e.path();
  }
  fs::path dir_;
  std::string original_;
};

TEST_F(RegistryEdit, SetsTheFieldsTogetherWithTheArtefactAndKeepsTheOrder) {
  EntryUpdate u;
  u.quant_mode = QuantMode::kStatic;
  u.quant_calibration_set = "cal.npz";
  u.notes = "n tinyq tune: static minmax per-channel u8; drop 1e-4";
  auto written = write_registry_entry(reg().string(), "m", "int8 bytes", u);
  ASSERT_TRUE(written.is_ok()) << written.status().message();
  EXPECT_EQ(fs::path(*written), dir_ / "m.int8.onnx");
  EXPECT_EQ(read(dir_ / "m.int8.onnx"), "int8 bytes");
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(read(reg()));
  const auto& e = doc["models"][0];
  std::vector<std::string> keys;
  for (auto it = e.begin(); it != e.end(); ++it) keys.push_back(it.key());
  // int8_sha256 after sha256 (ptq's rule), quant_calibration_set after quant_mode; the rest as it was.
  EXPECT_EQ(keys, (std::vector<std::string>{"id", "kind", "onnx", "sha256", "int8_sha256", "opset", "quant_mode",
                                            "quant_calibration_set", "description", "notes"}));
  EXPECT_EQ(e["int8_sha256"], sha("int8 bytes"));
  EXPECT_EQ(e["quant_mode"], "static");
  EXPECT_EQ(e["notes"], u.notes);
  auto loaded = Registry::load(reg().string());
  EXPECT_TRUE(loaded.is_ok()) << loaded.status().message();
}

TEST_F(RegistryEdit, AnUpdateTheSchemaRefusesWritesNothing) {
  EntryUpdate too_long;
  too_long.quant_mode = QuantMode::kDynamic;
  too_long.notes = std::string(513, 'x');
  auto r = write_registry_entry(reg().string(), "m", "int8", too_long);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("/models/0/notes"), std::string::npos) << r.status().message();
  expect_untouched();

  EntryUpdate no_calibration;
  no_calibration.quant_mode = QuantMode::kStatic;
  r = write_registry_entry(reg().string(), "m", "int8", no_calibration);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("quant_calibration_set"), std::string::npos) << r.status().message();
  expect_untouched();

  EntryUpdate fp32;
  fp32.quant_mode = QuantMode::kFp32;
  EXPECT_EQ(write_registry_entry(reg().string(), "m", "int8", fp32).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(write_registry_entry(reg().string(), "nope", "int8", EntryUpdate{}).status().code(), StatusCode::kNotFound);
  expect_untouched();
}

TEST_F(RegistryEdit, TheSidecarsQuantModeAndDigestFollowTheRegistry) {
  const std::string before = "{\n  \"id\": \"m\",\n  \"onnx\": \"m.onnx\",\n  \"quant_mode\": \"fp32\",\n  \"int8_sha256\": \"\",\n"
                             "  \"notes\": \"a \\u2014 b\"\n}\n";
  write(dir_ / "m.json", before);
  EntryUpdate u;
  u.quant_mode = QuantMode::kDynamic;
  u.notes = "tinyq tune: dynamic per-channel";
  ASSERT_TRUE(write_registry_entry(reg().string(), "m", "int8 bytes", u).is_ok());
  EXPECT_EQ(read(dir_ / "m.json"), "{\n  \"id\": \"m\",\n  \"onnx\": \"m.onnx\",\n  \"quant_mode\": \"dynamic\",\n  \"int8_sha256\": \"" +
                                       sha("int8 bytes") + "\",\n  \"notes\": \"a \\u2014 b\"\n}\n");
  // A sidecar that is not JSON stops the next write before anything changes.
  const std::string registry = read(reg());
  write(dir_ / "m.json", "{");
  auto r = write_registry_entry(reg().string(), "m", "other bytes", u);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find((dir_ / "m.json").string()), std::string::npos) << r.status().message();
  EXPECT_EQ(read(reg()), registry);
  EXPECT_EQ(read(dir_ / "m.int8.onnx"), "int8 bytes");
  EXPECT_EQ(read(dir_ / "m.json"), "{");
}

TEST_F(RegistryEdit, LoadsTheVerifiedGraphOrRefusesAMismatch) {
  auto reg_ok = Registry::load(reg().string());
  ASSERT_TRUE(reg_ok.is_ok());
  VerifiedFile v;
  auto model = load_registered_model(*reg_ok, "m", RegisteredFile::kFp32, {}, &v);
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  EXPECT_EQ(model->graph.nodes.size(), 2u);  // smoke_v0: Conv, Identity
  EXPECT_EQ(v.sha256, sha(read(dir_ / "m.onnx")));
  EXPECT_EQ(fs::path(v.file), dir_ / "m.onnx");

  auto no_int8 = load_registered_model(*reg_ok, "m", RegisteredFile::kInt8);
  EXPECT_EQ(no_int8.status().code(), StatusCode::kInvalidArgument);

  std::string bytes = read(dir_ / "m.onnx");
  bytes.back() ^= 1;
  write(dir_ / "m.onnx", bytes);
  auto tampered = load_registered_model(*reg_ok, "m", RegisteredFile::kFp32);
  ASSERT_EQ(tampered.status().code(), StatusCode::kIntegrity);
  EXPECT_NE(tampered.status().message().find(sha(bytes)), std::string::npos) << tampered.status().message();
  EXPECT_EQ(load_registered_model(*reg_ok, "nope", RegisteredFile::kFp32).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tinyq
