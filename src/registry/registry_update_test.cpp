#include "registry/registry_update.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "tinyq/registry.h"
#include "util/test_files.h"

namespace tinyq::registry {
namespace {

namespace fs = std::filesystem;

const std::string kDigest(64, 'a');

using test_files::slurp;
using test_files::spit;

class TempDir {
 public:
  TempDir() {
    path_ = test_files::fresh_test_dir("tinyq_regupd");
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

// A registry written by Python's json (all ASCII, other characters as \u escapes) keeps its
// escapes, so the edit changes only the digest's line; a registry holding raw UTF-8 keeps it.
TEST(RegistryUpdateTest, AnAsciiRegistryKeepsItsEscapesAndUtf8StaysUtf8) {
  const std::string escaped =
      "{\n  \"models\": [\n    {\n      \"description\": \"a \\u2014 b\",\n      \"id\": \"a\",\n"
      "      \"int8_sha256\": \"old\",\n      \"onnx\": \"a.onnx\"\n    }\n  ]\n}\n";
  std::string onnx;
  auto out = set_int8_sha256(escaped, "r.json", "a", kDigest, &onnx);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  std::string want = escaped;
  want.replace(want.find("\"old\""), 5, "\"" + kDigest + "\"");
  EXPECT_EQ(*out, want);
  const std::string raw = "{\"models\": [{\"description\": \"a \u2014 b\", \"id\": \"a\", \"onnx\": \"a.onnx\"}]}";
  out = set_int8_sha256(raw, "r.json", "a", kDigest, &onnx);
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_NE(out->find("a \u2014 b"), std::string::npos) << *out;
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

// ---- the sidecar follows the registry ----

// A newer-layout sidecar as lusoris/vmaf's Python writes it: 2-space indent, \u escapes, floats.
const std::string kOldDigest(64, '0');
const std::string kFp32Digest = sha256_hex("fp32 bytes", 10);
std::string newer_sidecar(const std::string& int8_sha256, const std::string& quant_mode) {
  return "{\n  \"id\": \"m\",\n  \"kind\": \"nr\",\n  \"onnx\": \"m.onnx\",\n  \"opset\": 17,\n  \"sha256\": \"" + kFp32Digest +
         "\",\n  \"quant_mode\": \"" + quant_mode + "\",\n  \"int8_sha256\": \"" + int8_sha256 +
         "\",\n  \"quant_accuracy_budget_plcc\": 0.01,\n  \"input_shape\": [\n    1,\n    6\n  ],\n"
         "  \"training\": {\n    \"loso_mean_plcc\": 0.9977367045485502,\n    \"n_pairs\": 70\n  },\n"
         "  \"notes\": \"Tiny NR \\u2014 frame \\u2192 MOS, 224\\u00d7224.\"\n}\n";
}
// The older layout: no digests, no quant_mode.
const std::string kOlderSidecar =
    "{\n  \"input_name\": \"features\",\n  \"kind\": \"fr\",\n  \"name\": \"m_v0\",\n  \"onnx_opset\": 17,\n  \"output_name\": \"score\"\n}\n";

TEST(RegistryUpdateTest, SidecarKeysAreSetAndTheRestKeptByteForByte) {
  auto out = set_sidecar_quant_fields(newer_sidecar(kOldDigest, "static"), "m.json", kDigest, "dynamic");
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ(**out, newer_sidecar(kDigest, "dynamic"));
  // Without a final newline in, none out.
  std::string bare = newer_sidecar(kOldDigest, "static");
  bare.pop_back();
  out = set_sidecar_quant_fields(bare, "m.json", kDigest, "dynamic");
  ASSERT_TRUE(out.is_ok() && out->has_value());
  EXPECT_EQ(**out + "\n", newer_sidecar(kDigest, "dynamic"));
}

TEST(RegistryUpdateTest, SidecarGetsNoNewKeyAndUtf8StaysUtf8) {
  // Only quant_mode: int8_sha256 is not added. Raw UTF-8 in, raw UTF-8 out.
  const std::string in = "{\n  \"notes\": \"a \xe2\x80\x94 b\",\n  \"quant_mode\": \"static\"\n}";
  auto out = set_sidecar_quant_fields(in, "m.json", kDigest, "dynamic");
  ASSERT_TRUE(out.is_ok() && out->has_value());
  EXPECT_EQ(**out, "{\n  \"notes\": \"a \xe2\x80\x94 b\",\n  \"quant_mode\": \"dynamic\"\n}");
}

TEST(RegistryUpdateTest, SidecarWithoutTheKeysOrAlreadyAgreeingNeedsNoWrite) {
  auto out = set_sidecar_quant_fields(kOlderSidecar, "m.json", kDigest, "dynamic");
  ASSERT_TRUE(out.is_ok());
  EXPECT_FALSE(out->has_value());
  out = set_sidecar_quant_fields(newer_sidecar(kDigest, "dynamic"), "m.json", kDigest, "dynamic");
  ASSERT_TRUE(out.is_ok());
  EXPECT_FALSE(out->has_value());
}

TEST(RegistryUpdateTest, SidecarThatIsNotAnObjectIsAnErrorNamingIt) {
  for (const char* text : {"[1, 2]", "{\"quant_mode\": ", ""}) {
    auto out = set_sidecar_quant_fields(text, "dir/m.json", kDigest, "dynamic");
    ASSERT_FALSE(out.is_ok()) << text;
    EXPECT_EQ(out.status().code(), StatusCode::kCorrupt);
    EXPECT_NE(out.status().message().find("'dir/m.json'"), std::string::npos) << out.status().message();
  }
}

// A registry with one dynamic entry whose fp32 file is present, so validate checks its sidecar.
class SidecarWrite : public ::testing::Test {
 protected:
  void SetUp() override {
    spit(d_.path() / "m.onnx", "fp32 bytes");
    registry_ = (d_.path() / "registry.json").string();
    spit(registry_, "{\n  \"schema_version\": 1,\n  \"models\": [\n    {\n      \"id\": \"m\",\n      \"kind\": \"nr\",\n"
                    "      \"onnx\": \"m.onnx\",\n      \"sha256\": \"" + kFp32Digest + "\",\n"
                    "      \"quant_mode\": \"dynamic\"\n    }\n  ]\n}\n");
  }
  std::vector<std::string> warnings() const {
    auto report = validate_registry(registry_);
    EXPECT_TRUE(report.is_ok());
    std::vector<std::string> out;
    if (report.is_ok())
      for (const auto& l : report->lines)
        if (l.level != ValidationLine::Level::kOk) out.push_back(l.message);
    return out;
  }
  TempDir d_;
  std::string registry_;
};

TEST_F(SidecarWrite, TheSidecarChangesWithTheArtefactAndValidateAgrees) {
  spit(d_.path() / "m.json", newer_sidecar(kOldDigest, "static"));
  ASSERT_TRUE(write_int8_artifact(registry_, "m", "old int8").is_ok());
  ASSERT_TRUE(write_int8_artifact(registry_, "m", "new int8").is_ok());
  const std::string digest = sha256_hex("new int8", 8);
  EXPECT_EQ(slurp(d_.path() / "m.json"), newer_sidecar(digest, "dynamic"));
  EXPECT_TRUE(warnings().empty()) << warnings()[0];
  EXPECT_EQ(d_.entries(), 4u);  // registry, fp32, int8, sidecar: no temp, backup or journal left
}

TEST_F(SidecarWrite, AnOlderLayoutSidecarIsLeftAlone) {
  spit(d_.path() / "m.json", kOlderSidecar);
  ASSERT_TRUE(write_int8_artifact(registry_, "m", "new int8").is_ok());
  EXPECT_EQ(slurp(d_.path() / "m.json"), kOlderSidecar);
  EXPECT_TRUE(warnings().empty()) << warnings()[0];
}

TEST_F(SidecarWrite, ACorruptSidecarFailsTheWriteNamingItAndNothingChanges) {
  ASSERT_TRUE(write_int8_artifact(registry_, "m", "old int8").is_ok());
  const std::string registry = slurp(registry_);
  for (const std::string corrupt : {"{\"quant_mode\": \"static\",", "[\"quant_mode\"]"}) {
    spit(d_.path() / "m.json", corrupt);
    auto written = write_int8_artifact(registry_, "m", "new int8");
    ASSERT_FALSE(written.is_ok()) << corrupt;
    EXPECT_NE(written.status().message().find((d_.path() / "m.json").string()), std::string::npos) << written.status().message();
    EXPECT_EQ(slurp(registry_), registry);
    EXPECT_EQ(slurp(d_.path() / "m.int8.onnx"), "old int8");
    EXPECT_EQ(slurp(d_.path() / "m.json"), corrupt);
    EXPECT_EQ(d_.entries(), 4u);
  }
}

}  // namespace
}  // namespace tinyq::registry
