// The registry, its validation and the loader: the zoo and the project's registries as they
// are, and one test per kind of bad input.
#include "tinyq/registry.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "registry/json_schema.h"
#include "util/file.h"
#include "util/test_files.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace tinyq;
using Level = ValidationLine::Level;

namespace {

fs::path shared_dir() {
  if (const char* env = std::getenv("TINYQ_SHARED_DIR"); env && *env) return env;
  return TINYQ_TEST_SHARED_DIR;
}
fs::path zoo_models() { return shared_dir() / "zoo" / "models"; }
fs::path source_dir() { return TINYQ_SOURCE_DIR; }

using test_files::slurp;

std::string sha_of(const fs::path& p) {
  std::string b = slurp(p);
  return sha256_hex(b.data(), b.size());
}

std::vector<const ValidationLine*> lines_at(const ValidationReport& r, Level level) {
  std::vector<const ValidationLine*> out;
  for (const auto& l : r.lines)
    if (l.level == level) out.push_back(&l);
  return out;
}

std::string dump(const ValidationReport& r) {
  std::string s;
  for (const auto& l : r.lines) s += std::to_string(static_cast<int>(l.level)) + " " + l.pointer + " " + l.model + ": " + l.message + "\n";
  return s;
}

std::string problems_of(const Registry& r) {
  std::string s;
  for (const auto& p : r.problems()) s += p.pointer + ": " + p.message + "\n";
  return s;
}

bool has_problem(const Registry& r, const std::string& pointer, const std::string& fragment) {
  for (const auto& p : r.problems())
    if (p.pointer == pointer && p.message.find(fragment) != std::string::npos) return true;
  return false;
}

// A scratch registry folder with copies of the bundled models.
class RegistryDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test_files::fresh_test_dir("tinyq_registry_test");
    fs::create_directories(dir_ / "reg");
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path reg() const { return dir_ / "reg"; }
  // Copies a bundled model into the registry folder under `name`.
  std::string copy_model(const std::string& bundled, const std::string& name) const {
    fs::copy_file(source_dir() / "models" / bundled, reg() / name, fs::copy_options::overwrite_existing);
    return sha_of(reg() / name);
  }
  std::string write_registry(const std::vector<json>& models) const {
    std::string path = (reg() / "registry.json").string();
    std::ofstream(path) << json{{"schema_version", 1}, {"models", json(models)}}.dump(2);
    return path;
  }
  std::string write_text(const std::string& text) const {
    std::string path = (reg() / "registry.json").string();
    std::ofstream(path) << text;
    return path;
  }
  static json entry(const std::string& id, const std::string& onnx, const std::string& sha) {
    return {{"id", id}, {"kind", "fr"}, {"onnx", onnx}, {"sha256", sha}};
  }
  fs::path dir_;
};

// ---- The schema ----

TEST(RegistrySchema, CompiledInSchemaIsThePublishedFile) {
  std::string published = slurp(source_dir() / "schemas" / "registry.schema.json");
  ASSERT_FALSE(published.empty());
  EXPECT_EQ(registry_schema_text(), published) << "regenerate src/registry/schema_text.cpp from schemas/registry.schema.json";
  auto doc = registry::parse_json_strict(published, "registry.schema.json", nullptr);
  ASSERT_TRUE(doc.is_ok());
  auto compiled = registry::JsonSchema::compile(*doc);
  EXPECT_TRUE(compiled.is_ok()) << compiled.status().to_string();
}

TEST(RegistrySchema, ExtendsTheForksSchemaOnlyWithOptionalFields) {
  auto fork = json::parse(slurp(zoo_models() / "registry.schema.json"));
  auto ours = json::parse(registry_schema_text());
  const json& fe = fork["$defs"]["model_entry"];
  const json& oe = ours["$defs"]["model_entry"];
  EXPECT_EQ(fe["required"], oe["required"]);
  EXPECT_EQ(fork["required"], ours["required"]);
  for (const auto& [key, value] : fe["properties"].items()) EXPECT_TRUE(oe["properties"].contains(key)) << key;
  for (const auto& [key, value] : fe["properties"].items()) {
    for (const char* rule : {"type", "enum", "pattern", "maxLength", "minimum", "maximum"}) {
      if (!value.contains(rule)) continue;
      // sha256 fields moved into a shared $def with the same rule.
      const json& mine = oe["properties"][key].contains("$ref") ? ours["$defs"]["sha256"] : oe["properties"][key];
      EXPECT_EQ(value[rule], mine[rule]) << key << "." << rule;
    }
  }
  std::set<std::string> added;
  for (const auto& [key, value] : oe["properties"].items())
    if (!fe["properties"].contains(key)) added.insert(key);
  EXPECT_EQ(added, (std::set<std::string>{"fixtures", "train_set", "quant_gate_reference"}));
}

// ---- Registries as they are ----

TEST(Registry, ReadsTheZooRegistryAsItIs) {
  auto r = Registry::load((zoo_models() / "registry.json").string());
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->schema_version(), 1);
  EXPECT_EQ(r->models().size(), 24u);
  const RegistryEntry* v4 = r->find("vmaf_tiny_v4");
  ASSERT_NE(v4, nullptr);
  EXPECT_EQ(v4->quant_mode, QuantMode::kDynamic);
  EXPECT_EQ(v4->int8_onnx(), "vmaf_tiny_v4.int8.onnx");
  EXPECT_EQ(v4->int8_sha256, "203a25905a3797b1cc3e3f347f4f6f491b491000d4424017beef64219767a9e9");
  EXPECT_DOUBLE_EQ(v4->quant_accuracy_budget_plcc, 0.01);
  EXPECT_EQ(r->find("vmaf_tiny_v2")->quant_mode, QuantMode::kFp32) << "absent quant_mode is fp32";
  EXPECT_EQ(r->find("nope"), nullptr);
}

TEST(Registry, ZooValidationPassesPresentModelsAndListsEachAbsentFile) {
  std::string path = (zoo_models() / "registry.json").string();
  auto report = validate_registry(path);
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_TRUE(report->valid()) << dump(*report);
  // Expected from the folder itself, independently of the validator.
  auto doc = json::parse(slurp(path));
  std::set<std::string> present, absent_files;
  for (const auto& m : doc["models"]) {
    std::string onnx = m["onnx"];
    if (fs::exists(zoo_models() / onnx)) {
      present.insert(m["id"].get<std::string>());
    } else {
      absent_files.insert(onnx);
      if (m.value("quant_mode", "fp32") != "fp32") absent_files.insert(onnx.substr(0, onnx.size() - 5) + ".int8.onnx");
    }
  }
  EXPECT_EQ(present.size(), 7u);
  EXPECT_EQ(report->models, doc["models"].size());
  EXPECT_EQ(report->present, 7u);
  EXPECT_EQ(report->verified, 7u);
  std::set<std::string> ok_ids;
  for (const auto* l : lines_at(*report, Level::kOk)) ok_ids.insert(l->model);
  EXPECT_EQ(ok_ids, present);
  std::set<std::string> reported_absent;
  for (const auto* l : lines_at(*report, Level::kAbsent)) {
    auto q1 = l->message.find('\''), q2 = l->message.find('\'', q1 + 1);
    reported_absent.insert(l->message.substr(q1 + 1, q2 - q1 - 1));
  }
  EXPECT_EQ(reported_absent, absent_files);
  EXPECT_EQ(lines_at(*report, Level::kAbsent).size(), absent_files.size()) << "one line per absent file";
  EXPECT_TRUE(lines_at(*report, Level::kWarning).empty()) << dump(*report);
  // The int8 digests of the present quantised models were checked too.
  for (const auto* l : lines_at(*report, Level::kOk))
    if (l->model == "vmaf_tiny_v3") EXPECT_NE(l->message.find("vmaf_tiny_v3.int8.onnx' sha256 verified"), std::string::npos);

  ValidateOptions strict;
  strict.absent_is_error = true;
  auto strict_report = validate_registry(path, strict);
  ASSERT_TRUE(strict_report.is_ok());
  EXPECT_FALSE(strict_report->valid());
  EXPECT_EQ(strict_report->count(Level::kError), absent_files.size());
}

TEST(Registry, ProjectRegistryIsValidCompleteAndEveryModelLoads) {
  std::string path = (source_dir() / "models" / "registry.json").string();
  ValidateOptions strict;
  strict.absent_is_error = true;
  auto report = validate_registry(path, strict);
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_TRUE(report->valid()) << dump(*report);
  EXPECT_EQ(report->verified, report->models);
  EXPECT_TRUE(lines_at(*report, Level::kWarning).empty()) << dump(*report);
  auto r = Registry::load(path);
  ASSERT_TRUE(r.is_ok());
  // Entries quantised by `tinyq tune` load their int8 artefact; the rest their fp32 file.
  for (const auto& e : r->models()) {
    auto loaded = open_registered(*r, e.id);
    ASSERT_TRUE(loaded.is_ok()) << e.id << ": " << loaded.status().to_string();
    EXPECT_TRUE(loaded->verified);
    const bool int8 = e.quant_mode != QuantMode::kFp32;
    EXPECT_EQ(loaded->int8, int8) << e.id;
    EXPECT_EQ(loaded->sha256, int8 ? e.int8_sha256 : e.sha256) << e.id;
    EXPECT_EQ(fs::path(loaded->file).filename(), int8 ? e.int8_onnx() : e.onnx) << e.id;
  }
}

TEST(Registry, ReadsBothSidecarLayouts) {
  auto r = Registry::load((zoo_models() / "registry.json").string());
  ASSERT_TRUE(r.is_ok());
  auto old_layout = r->read_sidecar(*r->find("smoke_v0"));
  ASSERT_TRUE(old_layout.is_ok()) << old_layout.status().to_string();
  ASSERT_TRUE(old_layout->has_value());
  EXPECT_EQ((*old_layout)->id, "vmaf_tiny_smoke_v0");
  EXPECT_EQ((*old_layout)->opset, 17);
  EXPECT_EQ((*old_layout)->input_names, std::vector<std::string>{"features"});
  EXPECT_EQ((*old_layout)->output_names, std::vector<std::string>{"score"});
  auto new_layout = r->read_sidecar(*r->find("fr_regressor_v1"));
  ASSERT_TRUE(new_layout.is_ok() && new_layout->has_value());
  EXPECT_EQ((*new_layout)->sha256, r->find("fr_regressor_v1")->sha256);
  EXPECT_EQ((*new_layout)->input_names, std::vector<std::string>{"features"});
  auto v3 = r->read_sidecar(*r->find("vmaf_tiny_v3"));
  ASSERT_TRUE(v3.is_ok() && v3->has_value());
  EXPECT_EQ((*v3)->quant_mode, "dynamic");
  EXPECT_EQ((*v3)->output_names, std::vector<std::string>{"vmaf"});
  auto none = r->read_sidecar(*r->find("transnet_v2"));
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->has_value());
}

TEST(Registry, ZooInt8EntryPicksTheInt8File) {
  // tinyq may not run the zoo's int8 ops yet: either the int8 session loads, or the failure is
  // about that file's content, after its digest was accepted.
  auto loaded = open_registered((zoo_models() / "registry.json").string(), "vmaf_tiny_v4");
  if (loaded.is_ok()) {
    EXPECT_TRUE(loaded->int8);
    EXPECT_EQ(fs::path(loaded->file).filename(), "vmaf_tiny_v4.int8.onnx");
    EXPECT_EQ(loaded->sha256, "203a25905a3797b1cc3e3f347f4f6f491b491000d4424017beef64219767a9e9");
  } else {
    EXPECT_NE(loaded.status().code(), StatusCode::kIntegrity);
    EXPECT_NE(loaded.status().message().find("vmaf_tiny_v4.int8.onnx"), std::string::npos) << loaded.status().message();
  }
}

// ---- Bad documents ----

TEST_F(RegistryDir, NotJsonIsCorruptNamingTheFile) {
  std::string path = write_text("{\"schema_version\": 1, \"models\": [");
  auto r = Registry::read(path);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
  EXPECT_NE(r.status().message().find("registry.json' is not JSON"), std::string::npos) << r.status().message();
  auto report = validate_registry(path);
  EXPECT_FALSE(report.is_ok()) << "unreadable, not invalid";
  auto missing = Registry::read((reg() / "nope.json").string());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_F(RegistryDir, WrongTypesAreReportedWithPointers) {
  std::string path = write_text(R"({"schema_version": "1", "models": [
      {"id": "a", "kind": "fr", "onnx": "a.onnx", "sha256": 12, "opset": 17.5, "smoke": "yes"}]})");
  auto r = Registry::read(path);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->valid());
  EXPECT_TRUE(has_problem(*r, "/schema_version", "is string \"1\", expected integer")) << problems_of(*r);
  EXPECT_TRUE(has_problem(*r, "/models/0/sha256", "expected string")) << problems_of(*r);
  EXPECT_TRUE(has_problem(*r, "/models/0/opset", "expected integer")) << problems_of(*r);
  EXPECT_TRUE(has_problem(*r, "/models/0/smoke", "expected boolean")) << problems_of(*r);
  auto loaded = Registry::load(path);
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(loaded.status().message().find("/models/0/sha256"), std::string::npos) << loaded.status().message();

  auto models_not_array = Registry::parse(R"({"schema_version": 1, "models": {}})", (reg() / "r.json").string());
  ASSERT_TRUE(models_not_array.is_ok());
  EXPECT_TRUE(has_problem(*models_not_array, "/models", "expected array"));
  auto top_not_object = Registry::parse("[]", (reg() / "r.json").string());
  ASSERT_TRUE(top_not_object.is_ok());
  EXPECT_TRUE(has_problem(*top_not_object, "", "expected object"));
}

TEST_F(RegistryDir, UnknownQuantModeAndUnknownFields) {
  std::string sha(64, 'a');
  json e = entry("a", "a.onnx", sha);
  e["quant_mode"] = "int4";
  e["shaa256"] = sha;
  auto r = Registry::read(write_registry({e}));
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(has_problem(*r, "/models/0/quant_mode", "\"int4\" is not one of: \"fp32\", \"static\", \"dynamic\", \"qat\""))
      << problems_of(*r);
  EXPECT_TRUE(has_problem(*r, "/models/0/shaa256", "unknown property")) << problems_of(*r);
}

TEST_F(RegistryDir, QuantisedEntriesNeedInt8DigestAndStaticNeedsCalibration) {
  std::string sha(64, 'a');
  json dyn = entry("d", "d.onnx", sha);
  dyn["quant_mode"] = "dynamic";
  json stat = entry("s", "s.onnx", sha);
  stat["quant_mode"] = "static";
  stat["int8_sha256"] = sha;
  auto r = Registry::read(write_registry({dyn, stat}));
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(has_problem(*r, "/models/0", "missing required property \"int8_sha256\"")) << problems_of(*r);
  EXPECT_TRUE(has_problem(*r, "/models/1", "missing required property \"quant_calibration_set\"")) << problems_of(*r);
}

TEST_F(RegistryDir, DuplicateIdsAndDuplicateKeys) {
  std::string sha = copy_model("smoke_v0.onnx", "m.onnx");
  auto r = Registry::read(write_registry({entry("m", "m.onnx", sha), entry("n", "m.onnx", sha), entry("m", "m.onnx", sha)}));
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(has_problem(*r, "/models/2/id", "duplicate id 'm' (first at /models/0)")) << problems_of(*r);
  auto loaded = open_registered(*r, "m");
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);

  // A second "sha256" key could show one digest to a reviewer and another to a loader.
  std::string text = R"({"schema_version": 1, "models": [{"id": "m", "kind": "fr", "onnx": "m.onnx", "sha256": ")" + sha +
                     R"(", "sha256": ")" + std::string(64, '0') + R"("}]})";
  auto dup = Registry::read(write_text(text));
  ASSERT_TRUE(dup.is_ok());
  EXPECT_TRUE(has_problem(*dup, "/models/0/sha256", "duplicate key")) << problems_of(*dup);
}

TEST_F(RegistryDir, PathsThatLeaveTheFolderAreRefused) {
  std::string sha(64, 'a');
  json dotdot = entry("a", "../a.onnx", sha);
  json sneaky = entry("b", "sub/../../b.onnx", sha);  // passes the fork's pattern
  json absolute = entry("c", "/tmp/c.onnx", sha);
  json calib = entry("d", "d.onnx", sha);
  calib["quant_mode"] = "static";
  calib["int8_sha256"] = sha;
  calib["quant_calibration_set"] = "/etc/passwd";
  auto r = Registry::read(write_registry({dotdot, sneaky, absolute, calib}));
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(has_problem(*r, "/models/0/onnx", "leaves the registry's folder")) << problems_of(*r);
  EXPECT_TRUE(has_problem(*r, "/models/1/onnx", "leaves the registry's folder")) << problems_of(*r);
  EXPECT_TRUE(has_problem(*r, "/models/2/onnx", "leaves the registry's folder")) << problems_of(*r);
  EXPECT_TRUE(has_problem(*r, "/models/3/quant_calibration_set", "leaves the registry's folder")) << problems_of(*r);
  auto report = validate_registry((reg() / "registry.json").string());
  ASSERT_TRUE(report.is_ok());
  EXPECT_FALSE(report->valid());
}

TEST_F(RegistryDir, SymlinkOutOfTheFolderIsAnIntegrityError) {
  copy_model("smoke_v0.onnx", "../outside.onnx");
  fs::create_symlink(dir_ / "outside.onnx", reg() / "m.onnx");
  std::string path = write_registry({entry("m", "m.onnx", sha_of(dir_ / "outside.onnx"))});
  auto loaded = open_registered(path, "m");
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kIntegrity);
  EXPECT_NE(loaded.status().message().find("outside its folder"), std::string::npos) << loaded.status().message();
  auto report = validate_registry(path);
  ASSERT_TRUE(report.is_ok());
  EXPECT_FALSE(report->valid());
  ASSERT_EQ(lines_at(*report, Level::kError).size(), 1u) << dump(*report);
  EXPECT_EQ(lines_at(*report, Level::kError)[0]->pointer, "/models/0/onnx");
  // A symlink that stays inside is fine.
  copy_model("smoke_v0.onnx", "real.onnx");
  fs::remove(reg() / "m.onnx");
  fs::create_symlink(reg() / "real.onnx", reg() / "m.onnx");
  EXPECT_TRUE(open_registered(path, "m").is_ok());
}

// ---- Files: digests, caps, the int8 switch ----

TEST_F(RegistryDir, DigestMismatchRefusesNamingTheFileAndBothDigests) {
  std::string actual = copy_model("smoke_v0.onnx", "m.onnx");
  std::string recorded = copy_model("vmaf_tiny_v2.onnx", "other.onnx");
  std::string path = write_registry({entry("m", "m.onnx", recorded)});
  auto loaded = open_registered(path, "m");
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kIntegrity);
  const std::string& msg = loaded.status().message();
  EXPECT_NE(msg.find("m.onnx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("registry says " + recorded), std::string::npos) << msg;
  EXPECT_NE(msg.find("file has " + actual), std::string::npos) << msg;
  LoaderOptions fallback;
  fallback.allow_fp32_fallback = true;
  EXPECT_EQ(open_registered(path, "m", fallback).status().code(), StatusCode::kIntegrity) << "a mismatch always refuses";
  auto report = validate_registry(path);
  ASSERT_TRUE(report.is_ok());
  EXPECT_FALSE(report->valid());
  ASSERT_EQ(lines_at(*report, Level::kError).size(), 1u);
  EXPECT_NE(lines_at(*report, Level::kError)[0]->message.find(actual), std::string::npos);
}

TEST_F(RegistryDir, ModelOverTheSizeCapIsRefusedBeforeReading) {
  std::string sha = copy_model("vmaf_tiny_v2.onnx", "m.onnx");  // 2446 bytes
  std::string path = write_registry({entry("m", "m.onnx", sha)});
  LoaderOptions small;
  small.max_model_bytes = 1000;
  auto loaded = open_registered(path, "m", small);
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kLimit);
  EXPECT_NE(loaded.status().message().find("over the limit of 1000"), std::string::npos) << loaded.status().message();
  EXPECT_TRUE(open_registered(path, "m").is_ok()) << "the 64 MiB default admits it";
  EXPECT_EQ(LoaderOptions{}.max_model_bytes, uint64_t{64} << 20);
  ValidateOptions vo;
  vo.max_model_bytes = 1000;
  auto report = validate_registry(path, vo);
  ASSERT_TRUE(report.is_ok());
  EXPECT_FALSE(report->valid()) << dump(*report);
}

TEST_F(RegistryDir, ExternalDataCountsAgainstTheCap) {
  std::string sha = copy_model("fr_regressor_v1.onnx", "fr.onnx");
  copy_model("fr_regressor_v1.onnx.data", "fr_regressor_v1.onnx.data");  // 17920 bytes; the model is 2799
  std::string path = write_registry({entry("fr", "fr.onnx", sha)});
  ASSERT_TRUE(open_registered(path, "fr").is_ok());
  LoaderOptions cap;
  cap.max_model_bytes = 10000;
  auto loaded = open_registered(path, "fr", cap);
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kLimit) << loaded.status().to_string();
  EXPECT_NE(loaded.status().message().find("fr_regressor_v1.onnx.data"), std::string::npos) << loaded.status().message();
}

// Fp32 content stands in for int8 files here: what is tested is which file and which digest the
// loader picks, which does not depend on the file's ops.
TEST_F(RegistryDir, QuantModePicksTheInt8FileCheckedAgainstInt8Sha256) {
  std::string fp32 = copy_model("vmaf_tiny_v2.onnx", "m.onnx");
  std::string int8 = copy_model("vmaf_tiny_v3.onnx", "m.int8.onnx");
  json e = entry("m", "m.onnx", fp32);
  e["quant_mode"] = "dynamic";
  e["int8_sha256"] = int8;
  json plain = entry("p", "m.onnx", fp32);  // fp32: the int8 file beside it is ignored
  std::string path = write_registry({e, plain});
  auto loaded = open_registered(path, "m");
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_TRUE(loaded->int8);
  EXPECT_FALSE(loaded->fp32_fallback);
  EXPECT_EQ(fs::path(loaded->file).filename(), "m.int8.onnx");
  EXPECT_EQ(loaded->sha256, int8);
  EXPECT_EQ(loaded->quant_mode, QuantMode::kDynamic);
  auto p = open_registered(path, "p");
  ASSERT_TRUE(p.is_ok());
  EXPECT_FALSE(p->int8);
  EXPECT_EQ(p->sha256, fp32);
  // The sessions really are the two files: v3 and v2 give different scores for the same row.
  Tensor row = Tensor::from_vector<float>({1, 6}, {0.95f, 0.45f, 0.8f, 0.88f, 0.92f, 3.5f});
  auto a = loaded->session->run(std::vector<Tensor>{row});
  auto b = p->session->run(std::vector<Tensor>{row});
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_NE((*a)[0].data<float>()[0], (*b)[0].data<float>()[0]);
  auto report = validate_registry(path);
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->valid()) << dump(*report);
  EXPECT_EQ(report->verified, 2u);

  // The fp32 digest does not open the int8 file.
  e["int8_sha256"] = fp32;
  path = write_registry({e});
  auto wrong = open_registered(path, "m");
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kIntegrity);
  EXPECT_NE(wrong.status().message().find("m.int8.onnx"), std::string::npos);
}

TEST_F(RegistryDir, MissingInt8FileIsAnErrorUnlessTheFallbackIsAllowed) {
  std::string fp32 = copy_model("vmaf_tiny_v2.onnx", "m.onnx");
  json e = entry("m", "m.onnx", fp32);
  e["quant_mode"] = "qat";
  e["int8_sha256"] = std::string(64, 'b');
  std::string path = write_registry({e});

  auto refused = open_registered(path, "m");
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kNotFound);
  EXPECT_NE(refused.status().message().find("m.int8.onnx' is missing"), std::string::npos) << refused.status().message();
  EXPECT_NE(refused.status().message().find("fallback"), std::string::npos);

  std::vector<std::string> logged;
  LoaderOptions o;
  o.allow_fp32_fallback = true;
  o.log = [&logged](const std::string& m) { logged.push_back(m); };
  auto loaded = open_registered(path, "m", o);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_FALSE(loaded->int8);
  EXPECT_TRUE(loaded->fp32_fallback);
  EXPECT_TRUE(loaded->verified);
  EXPECT_EQ(loaded->sha256, fp32) << "the fallback is digest-checked too";
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("m.int8.onnx"), std::string::npos) << logged[0];

  auto report = validate_registry(path);
  ASSERT_TRUE(report.is_ok());
  EXPECT_FALSE(report->valid()) << "a present model with a missing int8 file cannot load as registered";
  ASSERT_EQ(lines_at(*report, Level::kError).size(), 1u) << dump(*report);
  EXPECT_EQ(lines_at(*report, Level::kError)[0]->pointer, "/models/0/int8_sha256");
}

TEST_F(RegistryDir, StaticModelsNeedTheirCalibrationSet) {
  std::string fp32 = copy_model("vmaf_tiny_v2.onnx", "m.onnx");
  std::string int8 = copy_model("vmaf_tiny_v2.onnx", "m.int8.onnx");
  json e = entry("m", "m.onnx", fp32);
  e["quant_mode"] = "static";
  e["int8_sha256"] = int8;
  e["quant_calibration_set"] = "calib/m.npz";
  std::string path = write_registry({e});
  auto report = validate_registry(path);
  ASSERT_TRUE(report.is_ok());
  EXPECT_FALSE(report->valid());
  ASSERT_EQ(lines_at(*report, Level::kError).size(), 1u) << dump(*report);
  EXPECT_EQ(lines_at(*report, Level::kError)[0]->pointer, "/models/0/quant_calibration_set");
  fs::create_directories(reg() / "calib");
  std::ofstream(reg() / "calib" / "m.npz") << "x";
  report = validate_registry(path);
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->valid()) << dump(*report);
}

TEST_F(RegistryDir, SidecarThatDisagreesIsAWarningTheRegistryDecides) {
  std::string fp32 = copy_model("smoke_v0.onnx", "m.onnx");
  std::ofstream(reg() / "m.json") << json{{"id", "m"}, {"onnx", "m.onnx"}, {"sha256", std::string(64, 'c')}, {"quant_mode", "dynamic"}}.dump();
  std::string path = write_registry({entry("m", "m.onnx", fp32)});
  auto report = validate_registry(path);
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->valid()) << dump(*report);
  EXPECT_EQ(lines_at(*report, Level::kWarning).size(), 2u) << dump(*report);
  auto loaded = open_registered(path, "m");
  ASSERT_TRUE(loaded.is_ok());
  EXPECT_FALSE(loaded->int8) << "quant_mode comes from the registry, not the sidecar";
  std::ofstream(reg() / "m.json") << "{not json";
  report = validate_registry(path);
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->valid());
  EXPECT_EQ(lines_at(*report, Level::kWarning).size(), 1u) << dump(*report);
}

TEST_F(RegistryDir, UnknownIdListsTheIds) {
  std::string sha = copy_model("smoke_v0.onnx", "m.onnx");
  std::string path = write_registry({entry("m", "m.onnx", sha)});
  auto loaded = open_registered(path, "x");
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kNotFound);
  EXPECT_NE(loaded.status().message().find("no model 'x' (models: m)"), std::string::npos) << loaded.status().message();
}

TEST_F(RegistryDir, RegistryOverItsOwnCapIsRefused) {
  std::string path = (reg() / "registry.json").string();
  {
    std::ofstream out(path);
    out << "{\"schema_version\": 1, \"models\": [], \"pad\": \"";
    out << std::string(kMaxRegistryBytes, ' ') << "\"}";
  }
  auto r = Registry::read(path);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kLimit);
}

}  // namespace
