// Determinism of the int8 models: the same rows give bit-identical outputs (memcmp, no tolerance)
// across repeated runs of one session, across thread counts, and between the fast (fused int8)
// and the reference (scalar, unfused) kernels. Runs each zoo *.int8.onnx on a few fixture rows,
// batch 1 as the zoo's references are; skipped when the zoo is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "io/npy.h"
#include "tinyq/session.h"

namespace fs = std::filesystem;

namespace tinyq {
namespace {

constexpr int64_t kRows = 3;        // fixture rows per model (the CNNs are 224x224 frames)
constexpr int kRepeats = 2;         // passes over the rows per session, interleaved
constexpr int kThreadCounts[] = {1, 2};

fs::path zoo_dir() {
  if (const char* env = std::getenv("TINYQ_SHARED_DIR")) return fs::path(env) / "zoo";
  return fs::path(TINYQ_TEST_SHARED_DIR) / "zoo";
}

std::vector<std::string> int8_models() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(zoo_dir() / "models", ec)) {
    const std::string name = f.path().filename().string();
    const std::string suffix = ".int8.onnx";
    if (name.size() > suffix.size() && name.ends_with(suffix)) out.push_back(name.substr(0, name.size() - suffix.size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Row r of every fixture array named after an input, as a batch of one.
Result<std::vector<std::vector<Tensor>>> fixture_rows(const Session& s, const std::string& model) {
  TINYQ_ASSIGN_OR_RETURN(io::NamedArrays arrays, io::read_npz((zoo_dir() / "fixtures" / (model + ".fixtures.npz")).string()));
  std::vector<std::vector<Tensor>> rows(kRows);
  for (const TensorSpec& spec : s.inputs()) {
    auto it = std::find_if(arrays.begin(), arrays.end(), [&](const auto& a) { return a.first == spec.name; });
    if (it == arrays.end()) return Status::not_found(model + ": the fixtures have no array '" + spec.name + "'");
    const Tensor& all = it->second;
    if (all.rank() == 0 || all.shape()[0] < kRows) return Status::invalid_argument(model + ": too few fixture rows");
    Shape shape = all.shape();
    shape[0] = 1;
    for (int64_t r = 0; r < kRows; ++r) {
      Tensor t(all.dtype(), shape);
      std::memcpy(t.raw(), static_cast<const std::byte*>(all.raw()) + r * t.nbytes(), t.nbytes());
      rows[r].push_back(t);
    }
  }
  return rows;
}

// Every output of every row, in run order: kRepeats passes over the rows.
using Outputs = std::vector<std::vector<Tensor>>;

Outputs run_all(const std::string& model, const SessionOptions& options, const std::vector<std::vector<Tensor>>& rows) {
  auto s = Session::open((zoo_dir() / "models" / (model + ".int8.onnx")).string(), options);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  if (!s.is_ok()) return {};
  Outputs out;
  for (int pass = 0; pass < kRepeats; ++pass)
    for (const auto& row : rows) {
      auto y = (*s)->run(row);
      EXPECT_TRUE(y.is_ok()) << y.status().to_string();
      if (!y.is_ok()) return {};
      out.push_back(std::move(y).value());
    }
  return out;
}

bool bit_identical(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

class Int8Determinism : public ::testing::TestWithParam<std::string> {};

TEST_P(Int8Determinism, BitIdenticalAcrossRunsThreadsAndKernels) {
  const std::string model = GetParam();
  if (!fs::is_directory(zoo_dir() / "models")) GTEST_SKIP() << zoo_dir() << " is absent (set TINYQ_SHARED_DIR)";
  auto probe = Session::open((zoo_dir() / "models" / (model + ".int8.onnx")).string());
  ASSERT_TRUE(probe.is_ok()) << probe.status().to_string();
  auto rows = fixture_rows(**probe, model);
  ASSERT_TRUE(rows.is_ok()) << rows.status().to_string();

  // The first pass of fast kernels on one thread is what every other run must reproduce.
  Outputs want;
  for (bool reference : {false, true})
    for (int threads : kThreadCounts) {
      SessionOptions o;
      o.reference_kernels = reference;
      o.threads = threads;
      const Outputs got = run_all(model, o, *rows);
      ASSERT_EQ(got.size(), static_cast<size_t>(kRepeats * kRows));
      if (want.empty()) want.assign(got.begin(), got.begin() + kRows);
      for (size_t i = 0; i < got.size(); ++i) {
        const std::vector<Tensor>& expected = want[i % kRows];
        ASSERT_EQ(got[i].size(), expected.size());
        for (size_t out = 0; out < expected.size(); ++out)
          EXPECT_TRUE(bit_identical(got[i][out], expected[out]))
              << model << " row " << i % kRows << " pass " << i / kRows << " output " << out << ": "
              << (reference ? "reference" : "fast") << " kernels, " << threads << " threads";
      }
    }
}

std::vector<std::string> params() {
  std::vector<std::string> m = int8_models();
  if (m.empty()) m.push_back("no_zoo");  // one case that skips, so the suite is never empty
  return m;
}

INSTANTIATE_TEST_SUITE_P(Zoo, Int8Determinism, ::testing::ValuesIn(params()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace tinyq
