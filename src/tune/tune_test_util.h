// A scratch registry for the tune tests (unit and CLI) and the crash-safety test: the bundled
// nr_metric_v1 with the first rows of its bundled calibration and fixture sets (models/data/), so
// nothing outside the repository is needed and a tune run takes seconds.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/npy.h"
#include "tinyq/registry.h"

namespace tinyq::tune_testing {

namespace scratch_fs = std::filesystem;

inline std::string read_bytes(const scratch_fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return {};
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

inline void write_bytes(const scratch_fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

inline std::string sha_of(const std::string& bytes) { return sha256_hex(bytes.data(), bytes.size()); }

// The first `rows` rows of every array of an .npz, as a stored .npz.
inline void write_rows(const scratch_fs::path& from, int64_t rows, const scratch_fs::path& to) {
  auto all = io::read_npz(from.string());
  ASSERT_TRUE(all.is_ok()) << all.status().message();
  io::NamedArrays part;
  for (auto& [name, t] : *all) {
    Shape s = t.shape();
    const int64_t row = t.numel() / s[0];
    s[0] = rows;
    std::vector<float> v(t.data<float>(), t.data<float>() + rows * row);
    part.emplace_back(name, Tensor::from_vector<float>(s, v));
  }
  ASSERT_TRUE(io::write_npz(to.string(), part).is_ok());
}

inline scratch_fs::path bundled_models() { return scratch_fs::path(TINYQ_SOURCE_DIR) / "models"; }

// Writes into `dir`: nr.onnx (nr_metric_v1), cal.npz and fx.npz (the first rows of its bundled
// sets) and registry.json with one entry "nr" of `quant_mode` whose other fields are `extra`
// (JSON members, e.g. "\"fixtures\": \"fx.npz\""), and returns the registry's path.
inline scratch_fs::path write_scratch_registry(const scratch_fs::path& dir, const std::string& quant_mode,
                                               const std::string& extra, int64_t calibration_rows, int64_t fixture_rows) {
  scratch_fs::create_directories(dir);
  scratch_fs::copy_file(bundled_models() / "nr_metric_v1.onnx", dir / "nr.onnx", scratch_fs::copy_options::overwrite_existing);
  write_rows(bundled_models() / "data" / "nr_metric_v1.calibration.npz", calibration_rows, dir / "cal.npz");
  write_rows(bundled_models() / "data" / "nr_metric_v1.fixtures.npz", fixture_rows, dir / "fx.npz");
  const std::string registry = "{\n  \"schema_version\": 1,\n  \"models\": [\n    {\n      \"id\": \"nr\",\n      \"kind\": \"nr\",\n"
                               "      \"onnx\": \"nr.onnx\",\n      \"sha256\": \"" + sha_of(read_bytes(dir / "nr.onnx")) +
                               "\",\n      \"quant_mode\": \"" + quant_mode + "\"" + (extra.empty() ? "" : ",\n      " + extra) +
                               "\n    }\n  ]\n}\n";
  write_bytes(dir / "registry.json", registry);
  return dir / "registry.json";
}

// A fresh folder under the system temp folder, named after the running test.
inline scratch_fs::path test_folder(const std::string& tag) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  scratch_fs::path p = scratch_fs::temp_directory_path() /
                       ("tinyq_" + tag + "_" + std::to_string(::getpid()) + "_" + info->name());
  scratch_fs::remove_all(p);
  scratch_fs::create_directories(p);
  return p;
}

}  // namespace tinyq::tune_testing
