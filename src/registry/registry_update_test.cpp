#include "registry/registry_update.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "tinyq/registry.h"

namespace tinyq::registry {
namespace {

namespace fs = std::filesystem;

const std::string kDigest(64, 'a');

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("tinyq_regupd_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  size_t entries() const { return static_cast<size_t>(std::distance(fs::directory_iterator(path_), fs::directory_iterator())); }

 private:
  fs::path path_;
};

TEST(RegistryUpdateTest, NewKeyGoesInAlphabeticalPlaceWhenTheEntryIsSorted) {
  const std::string in =
      "{\n  \"models\": [\n    {\n      \"id\": \"a\",\n      \"onnx\": \"a.onnx\",\n      \"quant_mode\": \"dynamic\"\n    },\n"
      "    {\n      \"id\": \"b\",\n      \"onnx\": \"b.onnx\"\n    }\n  ],\n  \"schema_version\": 1\n}\n";
  std::string onnx;
  auto out = set_int8_sha256(in, "r.json", "a", kDigest, &onnx);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(onnx, "a.onnx");
  const std::string want =
      "{\n  \"models\": [\n    {\n      \"id\": \"a\",\n      \"int8_sha256\": \"" + kDigest +
      "\",\n      \"onnx\": \"a.onnx\",\n      \"quant_mode\": \"dynamic\"\n    },\n"
      "    {\n      \"id\": \"b\",\n      \"onnx\": \"b.onnx\"\n    }\n  ],\n  \"schema_version\": 1\n}\n";
  EXPECT_EQ(*out, want);
}

TEST(RegistryUpdateTest, NewKeyFollowsSha256WhenTheEntryIsNotSorted) {
  const std::string in = R"({"schema_version": 1, "models": [{"onnx": "a.onnx", "id": "a", "sha256": "x", "quant_mode": "static"}]})";
  std::string onnx;
  auto out = set_int8_sha256(in, "r.json", "a", kDigest, &onnx);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  const std::string want = "{\n  \"schema_version\": 1,\n  \"models\": [\n    {\n      \"onnx\": \"a.onnx\",\n      \"id\": \"a\",\n"
                           "      \"sha256\": \"x\",\n      \"int8_sha256\": \"" + kDigest +
                           "\",\n      \"quant_mode\": \"static\"\n    }\n  ]\n}";  // no final newline, as given
  EXPECT_EQ(*out, want);
}

TEST(RegistryUpdateTest, ExistingKeyIsReplacedInPlace) {
  const std::string in = R"({"models": [{"int8_sha256": "old", "id": "a", "onnx": "a.onnx"}]})";
  std::string onnx;
  auto out = set_int8_sha256(in, "r.json", "a", kDigest, &onnx);
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(*out, "{\n  \"models\": [\n    {\n      \"int8_sha256\": \"" + kDigest +
                      "\",\n      \"id\": \"a\",\n      \"onnx\": \"a.onnx\"\n    }\n  ]\n}");
}

TEST(RegistryUpdateTest, UnknownIdAndBadJsonAreErrors) {
  std::string onnx;
  auto out = set_int8_sha256(R"({"models": []})", "r.json", "zz", kDigest, &onnx);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::kNotFound);
  EXPECT_NE(out.status().message().find("'zz'"), std::string::npos);
  out = set_int8_sha256("{not json", "r.json", "a", kDigest, &onnx);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), StatusCode::kCorrupt);
}

TEST(RegistryUpdateTest, ReplacesBothFiles) {
  TempDir d;
  spit(d.path() / "a", "old a");
  ASSERT_TRUE(replace_files_together({{(d.path() / "a").string(), "new a"}, {(d.path() / "b").string(), "new b"}}).is_ok());
  EXPECT_EQ(slurp(d.path() / "a"), "new a");
  EXPECT_EQ(slurp(d.path() / "b"), "new b");
  EXPECT_EQ(d.entries(), 2u);  // no temp or backup left
}

TEST(RegistryUpdateTest, ReplacedFilesKeepTheirPermissions) {
  TempDir d;
  spit(d.path() / "a", "old a");
  fs::permissions(d.path() / "a", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  ASSERT_TRUE(replace_files_together({{(d.path() / "a").string(), "new a"}, {(d.path() / "b").string(), "new b"}}).is_ok());
  EXPECT_EQ(fs::status(d.path() / "a").permissions(), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_EQ(fs::status(d.path() / "b").permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
}

TEST(RegistryUpdateTest, AFailedSecondRenameRestoresTheFirstFile) {
  TempDir d;
  spit(d.path() / "a", "old a");
  spit(d.path() / "b", "old b");
  auto fault = [](size_t i) { return i == 1 ? Status::io_error("injected") : Status::ok(); };
  Status st = replace_files_together({{(d.path() / "a").string(), "new a"}, {(d.path() / "b").string(), "new b"}}, fault);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("injected"), std::string::npos);
  EXPECT_EQ(slurp(d.path() / "a"), "old a");
  EXPECT_EQ(slurp(d.path() / "b"), "old b");
  EXPECT_EQ(d.entries(), 2u);
}

TEST(RegistryUpdateTest, AFailedRenameRemovesAFileThatDidNotExist) {
  TempDir d;
  spit(d.path() / "b", "old b");
  auto fault = [](size_t i) { return i == 1 ? Status::io_error("injected") : Status::ok(); };
  ASSERT_FALSE(replace_files_together({{(d.path() / "a").string(), "new a"}, {(d.path() / "b").string(), "new b"}}, fault).is_ok());
  EXPECT_FALSE(fs::exists(d.path() / "a"));
  EXPECT_EQ(slurp(d.path() / "b"), "old b");
  EXPECT_EQ(d.entries(), 1u);
}

TEST(RegistryUpdateTest, WriteInt8ArtifactRecordsTheDigest) {
  TempDir d;
  const std::string reg = R"({"schema_version": 1, "models": [{"id": "m", "onnx": "sub/m.onnx", "sha256": ")" +
                          std::string(64, '0') + R"(", "quant_mode": "fp32"}]})";
  fs::create_directories(d.path() / "sub");
  spit(d.path() / "registry.json", reg);
  auto written = write_int8_artifact((d.path() / "registry.json").string(), "m", "int8 bytes");
  ASSERT_TRUE(written.is_ok()) << written.status().to_string();
  EXPECT_EQ(fs::path(*written).filename(), "m.int8.onnx");
  EXPECT_EQ(slurp(d.path() / "sub" / "m.int8.onnx"), "int8 bytes");
  auto r = Registry::read((d.path() / "registry.json").string());
  ASSERT_TRUE(r.is_ok());
  ASSERT_NE(r->find("m"), nullptr);
  EXPECT_EQ(r->find("m")->int8_sha256, sha256_hex("int8 bytes", 10));
}

TEST(RegistryUpdateTest, WriteInt8ArtifactForAnUnknownIdChangesNothing) {
  TempDir d;
  const std::string reg = R"({"schema_version": 1, "models": []})";
  spit(d.path() / "registry.json", reg);
  EXPECT_FALSE(write_int8_artifact((d.path() / "registry.json").string(), "m", "x").is_ok());
  EXPECT_EQ(slurp(d.path() / "registry.json"), reg);
  EXPECT_EQ(d.entries(), 1u);
}

}  // namespace
}  // namespace tinyq::registry
