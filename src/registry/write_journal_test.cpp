// Recovery from registry writes cut short: each test lays out the files a writer killed at one
// point leaves behind, then checks that recovery gives the old pair or the new pair, and nothing else.
#include "registry/write_journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tinyq/registry.h"
#include "util/test_files.h"

namespace tinyq::registry {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) { return test_files::slurp(p); }
void write(const fs::path& p, const std::string& s) { test_files::spit(p, s); }
std::string sha(const std::string& s) { return sha256_hex(s.data(), s.size()); }

std::string registry_text(const std::string& int8_digest) {
  return "{\n  \"schema_version\": 1,\n  \"models\": [\n    {\n      \"id\": \"m\",\n      \"kind\": \"nr\",\n      \"onnx\": \"m.onnx\",\n"
         "      \"sha256\": \"" + sha("fp32") + "\",\n      \"quant_mode\": \"dynamic\",\n      \"int8_sha256\": \"" + int8_digest +
         "\"\n    }\n  ]\n}\n";
}

class Journal : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_files::fresh_test_dir("tinyq_journal_test");
    write(dir_ / "m.onnx", "fp32");
    write(artefact(), kOld);
    write(reg(), registry_text(sha(kOld)));
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path reg() const { return dir_ / "registry.json"; }
  fs::path artefact() const { return dir_ / "m.int8.onnx"; }
  std::string old_reg() const { return registry_text(sha(kOld)); }
  std::string new_reg() const { return registry_text(sha(kNew)); }
  // The journal commit_change() writes for the new pair.
  void write_journal() const {
    write(journal_path(reg().string()), "{\"tinyq_registry_journal\": 1, \"files\": [{\"path\": \"m.int8.onnx\", \"sha256\": \"" +
                                            sha(kNew) + "\"}, {\"path\": \"registry.json\", \"sha256\": \"" + sha(new_reg()) + "\"}]}");
  }
  std::set<std::string> files() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.insert(e.path().filename().string());
    return out;
  }
  void expect_pair(const std::string& registry, const std::string& int8) const {
    EXPECT_EQ(read(reg()), registry);
    EXPECT_EQ(read(artefact()), int8);
    EXPECT_EQ(files(), (std::set<std::string>{"m.onnx", "m.int8.onnx", "registry.json"}));
  }

  static constexpr const char* kOld = "old int8 bytes";
  static constexpr const char* kNew = "new int8 bytes";
  fs::path dir_;
};

TEST_F(Journal, CommitReplacesBothFilesAndLeavesNothingBehind) {
  ASSERT_TRUE(commit_change(reg().string(), [&]() -> Result<std::vector<FileWrite>> {
                return std::vector<FileWrite>{{artefact().string(), kNew}, {reg().string(), new_reg()}};
              }).is_ok());
  expect_pair(new_reg(), kNew);
}

TEST_F(Journal, ABuildErrorChangesNothing) {
  Status st = commit_change(reg().string(), []() -> Result<std::vector<FileWrite>> { return Status::invalid_argument("no"); });
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  expect_pair(old_reg(), kOld);
}

TEST_F(Journal, KilledBetweenTheRenamesIsFinished) {
  // The artefact is renamed, the registry temp is complete, both backups exist.
  write_journal();
  write(dir_ / ".registry.json.tmp123", new_reg());
  write(dir_ / ".registry.json.old456", old_reg());
  write(dir_ / ".m.int8.onnx.old789", kOld);
  write(artefact(), kNew);
  ASSERT_TRUE(recover_registry_writes(reg().string()).is_ok());
  expect_pair(new_reg(), kNew);
}

TEST_F(Journal, KilledBeforeAnyRenameWithEveryTempCompleteIsFinished) {
  write_journal();
  write(dir_ / ".m.int8.onnx.tmp1", kNew);
  write(dir_ / ".registry.json.tmp2", new_reg());
  ASSERT_TRUE(recover_registry_writes(reg().string()).is_ok());
  expect_pair(new_reg(), kNew);
}

TEST_F(Journal, KilledWhileWritingATempKeepsTheOldPair) {
  write_journal();
  write(dir_ / ".m.int8.onnx.tmp1", kNew);
  write(dir_ / ".registry.json.tmp2", new_reg().substr(0, 20));  // cut short
  ASSERT_TRUE(recover_registry_writes(reg().string()).is_ok());
  expect_pair(old_reg(), kOld);
}

TEST_F(Journal, DebrisWithoutAJournalIsRemovedAndTheFilesKept) {
  write(dir_ / ".m.int8.onnx.tmp1", "x");
  write(dir_ / ".registry.json.tmp2", "{");
  write(dir_ / ".registry.json.old3", old_reg());
  write(dir_ / "..registry.json.journal.tmp4", "{");  // util::write_file_atomic of the journal
  write(dir_ / ".other.tmp5", "not ours");  // a temp of a file the registry does not name stays
  ASSERT_TRUE(recover_registry_writes(reg().string()).is_ok());
  EXPECT_TRUE(fs::exists(dir_ / ".other.tmp5"));
  fs::remove(dir_ / ".other.tmp5");
  expect_pair(old_reg(), kOld);
}

TEST_F(Journal, ARegistryTempWithoutAJournalIsDebris) {
  // Every tinyq writer journals first, so a temp with no journal never had a rename after it.
  write(dir_ / ".m.int8.onnx.tmp1", kNew);
  write(dir_ / ".registry.json.tmp2", new_reg());
  ASSERT_TRUE(recover_registry_writes(reg().string()).is_ok());
  expect_pair(old_reg(), kOld);
}

TEST_F(Journal, AnUnreadableJournalIsAnErrorAndTouchesNothing) {
  write(journal_path(reg().string()), "{\"files\": 3}");
  write(artefact(), kNew);
  Status st = recover_registry_writes(reg().string());
  EXPECT_EQ(st.code(), StatusCode::kCorrupt);
  EXPECT_NE(st.message().find("delete the journal"), std::string::npos) << st.message();
  EXPECT_EQ(read(reg()), old_reg());
  EXPECT_EQ(read(artefact()), kNew);
}

}  // namespace
}  // namespace tinyq::registry
