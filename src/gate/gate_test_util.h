// Scratch registries for the gate and audit tests: a bundled model registered as its own int8
// twin with synthetic fixtures (no zoo needed), or the zoo's real int8 models and fixtures
// copied at run time (the feature-MLP data is GPL-derived and never enters the repository).
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "io/npy.h"
#include "tinyq/gate.h"

namespace tinyq::gate_testing {

namespace fs = std::filesystem;
using nlohmann::json;

inline fs::path shared_dir() {
  if (const char* env = std::getenv("TINYQ_SHARED_DIR"); env && *env) return env;
  return TINYQ_TEST_SHARED_DIR;
}
inline fs::path zoo() { return shared_dir() / "zoo"; }

inline std::string sha_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string b((std::istreambuf_iterator<char>(in)), {});
  return sha256_hex(b.data(), b.size());
}

// Synthetic canonical-6 features: plausible ranges, not data from any data set.
inline Tensor synthetic_features(int64_t rows, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> v;
  for (int64_t r = 0; r < rows; ++r) {
    v.push_back(0.6f + 0.4f * unit(rng));  // adm2
    for (int s = 0; s < 4; ++s) v.push_back(0.2f + 0.8f * unit(rng));  // vif scales
    v.push_back(20.0f * unit(rng));  // motion2
  }
  return Tensor::from_vector<float>({rows, 6}, v);
}

class GateRegistry : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tinyq_gate_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Registers the bundled vmaf_tiny_v3 as quant_mode dynamic, its "int8" file a copy of it.
  json self_entry(const std::string& id = "self") {
    fs::copy_file(fs::path(TINYQ_SOURCE_DIR) / "models" / "vmaf_tiny_v3.onnx", dir_ / (id + ".onnx"), fs::copy_options::overwrite_existing);
    fs::copy_file(dir_ / (id + ".onnx"), dir_ / (id + ".int8.onnx"), fs::copy_options::overwrite_existing);
    return json{{"id", id}, {"kind", "fr"}, {"onnx", id + ".onnx"}, {"sha256", sha_of(dir_ / (id + ".onnx"))},
                {"quant_mode", "dynamic"}, {"int8_sha256", sha_of(dir_ / (id + ".int8.onnx"))}, {"fixtures", "fx.npz"}};
  }
  void write_fixtures(const io::NamedArrays& arrays, const std::string& name = "fx.npz") {
    ASSERT_TRUE(io::write_npz((dir_ / name).string(), arrays).is_ok());
  }
  // Registers a zoo model (fp32, int8 and fixtures copied; `rows` > 0 keeps only the first rows).
  json zoo_entry(const std::string& id, int64_t rows = 0) {
    for (const std::string f : {id + ".onnx", id + ".int8.onnx"})
      fs::copy_file(zoo() / "models" / f, dir_ / f, fs::copy_options::overwrite_existing);
    const fs::path fixtures = zoo() / "fixtures" / (id + ".fixtures.npz");
    if (rows <= 0) {
      fs::copy_file(fixtures, dir_ / (id + ".fixtures.npz"), fs::copy_options::overwrite_existing);
    } else {
      auto all = io::read_npz(fixtures.string());
      EXPECT_TRUE(all.is_ok()) << all.status().message();
      io::NamedArrays part;
      for (auto& [name, t] : *all) {
        Shape s = t.shape();
        s[0] = rows;
        Tensor head(t.dtype(), s);
        std::memcpy(head.raw(), t.raw(), head.nbytes());
        part.emplace_back(name, head);
      }
      write_fixtures(part, id + ".fixtures.npz");
    }
    return json{{"id", id},
                {"kind", "nr"},
                {"onnx", id + ".onnx"},
                {"sha256", sha_of(dir_ / (id + ".onnx"))},
                {"quant_mode", "dynamic"},
                {"int8_sha256", sha_of(dir_ / (id + ".int8.onnx"))},
                {"quant_accuracy_budget_plcc", 0.01},
                {"fixtures", id + ".fixtures.npz"}};
  }
  std::string write_registry(const json& entries) {
    std::string path = (dir_ / "registry.json").string();
    std::ofstream(path) << json{{"schema_version", 1}, {"models", entries}}.dump(2);
    return path;
  }
  Result<ModelGate> gate(const json& entries, const std::string& id, GateOptions options = {}) {
    auto r = Registry::load(write_registry(entries));
    if (!r.is_ok()) return r.status();
    return gate_model(*r, id, options);
  }
  static void expect_error(const Result<ModelGate>& r, std::initializer_list<std::string> fragments) {
    ASSERT_FALSE(r.is_ok());
    for (const auto& f : fragments) EXPECT_NE(r.status().message().find(f), std::string::npos) << r.status().message();
  }
  fs::path dir_;
};

inline bool zoo_present() { return fs::exists(zoo() / "models" / "nr_metric_v1.int8.onnx"); }
#define SKIP_WITHOUT_ZOO() \
  if (!zoo_present()) GTEST_SKIP() << "no zoo at " << zoo()

}  // namespace tinyq::gate_testing
