// The real models of ../shared/zoo: each fp32 model runs every row of its calibration and
// fixture sets on its own (batch 1, as the references were made) and must match ONNX Runtime's
// fp32 outputs stored in the zoo.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "io/npy.h"
#include "tinyq/session.h"
#include "zoo_rows.h"

namespace fs = std::filesystem;
using namespace tinyq;

namespace {

// Per element: |tinyq - ort| <= kZooRtol * |ort| + kZooRtol * max|ort over the output|. Both
// runtimes are fp32; only summation order and transcendental approximations differ.
constexpr double kZooRtol = 1e-4;

fs::path shared_dir() {
  if (const char* env = std::getenv("TINYQ_SHARED_DIR")) return env;
  return fs::path(TINYQ_SOURCE_DIR) / ".." / "shared";
}

const io::NamedArrays::value_type* find(const io::NamedArrays& arrays, const std::string& name) {
  for (const auto& a : arrays)
    if (a.first == name) return &a;
  return nullptr;
}

Tensor row(const Tensor& t, int64_t r) {
  Shape shape = t.shape();
  shape[0] = 1;
  Tensor out(t.dtype(), shape);
  std::memcpy(out.raw(), static_cast<const std::byte*>(t.raw()) + r * out.nbytes(), out.nbytes());
  return out;
}

struct ZooCase {
  std::string model;
  std::string set;
  bool reference_kernels;
};

// Readable test parameters in gtest/ctest output.
void PrintTo(const ZooCase& c, std::ostream* os) { *os << c.model << "." << c.set << (c.reference_kernels ? " reference" : " fast"); }


class ZooFp32 : public ::testing::TestWithParam<ZooCase> {};

TEST_P(ZooFp32, MatchesOnnxRuntime) {
  const ZooCase& c = GetParam();
  fs::path zoo = shared_dir() / "zoo";
  ASSERT_TRUE(fs::is_directory(zoo)) << zoo << " is missing (set TINYQ_SHARED_DIR)";
  SessionOptions opts;
  opts.reference_kernels = c.reference_kernels;
  auto session = Session::open((zoo / "models" / (c.model + ".onnx")).string(), opts);
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  auto data = io::read_npz((zoo / "fixtures" / (c.model + "." + c.set + ".npz")).string());
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  auto ref = io::read_npz((zoo / "reference" / (c.model + "." + c.set + ".ort_fp32.npz")).string());
  ASSERT_TRUE(ref.is_ok()) << ref.status().to_string();

  std::vector<Tensor> inputs;
  for (const auto& spec : (*session)->inputs()) {
    auto* a = find(*data, spec.name);
    ASSERT_NE(a, nullptr) << "fixture set lacks input " << spec.name;
    inputs.push_back(a->second);
  }
  const int64_t rows = tinyq::testing::zoo_rows(inputs[0].shape()[0]);
  ASSERT_GT(rows, 0);
  const auto& outs = (*session)->outputs();
  std::vector<std::vector<float>> got(outs.size());
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<Tensor> feed;
    for (const auto& t : inputs) feed.push_back(row(t, r));
    auto result = (*session)->run(feed);
    ASSERT_TRUE(result.is_ok()) << "row " << r << ": " << result.status().to_string();
    for (size_t o = 0; o < outs.size(); ++o) {
      const Tensor& t = (*result)[o];
      ASSERT_EQ(t.dtype(), DType::kFloat32);
      got[o].insert(got[o].end(), t.data<float>(), t.data<float>() + t.numel());
    }
  }
  for (size_t o = 0; o < outs.size(); ++o) {
    auto* want = find(*ref, outs[o].name);
    ASSERT_NE(want, nullptr) << "reference lacks output " << outs[o].name;
    const Tensor w = tinyq::testing::zoo_first_rows(want->second);  // the rows that ran
    ASSERT_EQ(static_cast<int64_t>(got[o].size()), w.numel()) << outs[o].name;
    double max_ref = 0;
    for (int64_t i = 0; i < w.numel(); ++i) max_ref = std::max(max_ref, std::fabs(double(w.data<float>()[i])));
    int bad = 0;
    double worst = 0;
    for (int64_t i = 0; i < w.numel(); ++i) {
      double g = got[o][i], e = w.data<float>()[i];
      double err = std::fabs(g - e);
      worst = std::max(worst, err);
      if (!(err <= kZooRtol * std::fabs(e) + kZooRtol * max_ref) && ++bad <= 5)
        ADD_FAILURE() << outs[o].name << "[" << i << "]: tinyq " << g << ", ORT " << e;
    }
    EXPECT_EQ(bad, 0) << outs[o].name << ": " << bad << " of " << w.numel() << " values out of tolerance; max abs err " << worst;
  }
}

std::vector<ZooCase> zoo_cases() {
  std::vector<ZooCase> cases;
  for (const char* m : {"smoke_v0", "vmaf_tiny_v2", "vmaf_tiny_v3", "vmaf_tiny_v4", "fr_regressor_v1", "learned_filter_v1", "nr_metric_v1"})
    for (const char* s : {"calibration", "fixtures"})
      for (bool ref : {false, true}) cases.push_back({m, s, ref});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooFp32, ::testing::ValuesIn(zoo_cases()), [](const auto& info) {
  return info.param.model + "_" + info.param.set + (info.param.reference_kernels ? "_reference" : "_fast");
});

}  // namespace
