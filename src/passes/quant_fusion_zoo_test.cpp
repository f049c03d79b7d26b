// The int8 fusion pass on the zoo's int8 files and on static stand-ins of its conv models: every
// quantised op fuses, outputs match the unfused graph, and int8 sessions keep few weight bytes.
#include "passes/quant_fusion.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "../../bench/qdq_stand_in.h"
#include "io/npy.h"
#include "kernels/kernel.h"
#include "onnx/onnx_io.h"
#include "passes/quant_fusion_test_util.h"
#include "tinyq/session.h"

namespace tinyq::passes {
namespace {

namespace fs = std::filesystem;
using namespace fusion_test;

// ---- The zoo's int8 models ----

fs::path zoo() { return fs::path(TINYQ_TEST_SHARED_DIR) / "zoo"; }

struct ZooInt8 {
  std::string model;
  int fused_nodes;
  int rows;
};

// Fixture rows of a model as per-row input vectors.
std::vector<std::vector<Tensor>> fixture_rows(const std::string& model, const std::string& set, int rows,
                                              const std::vector<TensorSpec>& inputs) {
  auto data = io::read_npz((zoo() / "fixtures" / (model + "." + set + ".npz")).string());
  EXPECT_TRUE(data.is_ok()) << data.status().message();
  std::vector<std::vector<Tensor>> out;
  if (!data.is_ok()) return out;
  for (int r = 0; r < rows; ++r) {
    std::vector<Tensor> row;
    for (const auto& spec : inputs)
      for (const auto& [name, t] : *data)
        if (name == spec.name) {
          Shape s = t.shape();
          const int64_t per = t.numel() / s[0];
          s[0] = 1;
          Tensor one(t.dtype(), s);
          std::memcpy(one.raw(), static_cast<const std::byte*>(t.raw()) + r * per * dtype_size(t.dtype()),
                      one.nbytes());
          row.push_back(one);
        }
    out.push_back(row);
  }
  return out;
}

TEST(QuantFusion, ZooDynamicModelsFuseAndMatchUnfused) {
  const std::vector<ZooInt8> cases = {
      {"learned_filter_v1", 10, 1}, {"nr_metric_v1", 12, 3}, {"vmaf_tiny_v3", 3, 8}, {"vmaf_tiny_v4", 4, 8}};
  for (const auto& c : cases) {
    const fs::path file = zoo() / "models" / (c.model + ".int8.onnx");
    if (!fs::exists(file)) GTEST_SKIP() << "no zoo at " << file;
    auto m = onnx_io::load_model(file.string());
    ASSERT_TRUE(m.is_ok()) << m.status().message();
    ir::Graph g = m->graph;
    const QuantFusionCounts counts = fuse_quantized(g, m->opset());
    EXPECT_EQ(counts.dynamic_nodes, c.fused_nodes) << c.model;
    EXPECT_EQ(count_op(g, "DynamicQuantizeLinear"), 0) << c.model;
    EXPECT_EQ(count_op(g, "Cast"), 0) << c.model;
    auto probe = Session::from_ir(*m, c.model);
    ASSERT_TRUE(probe.is_ok());
    for (const auto& row : fixture_rows(c.model, "fixtures", c.rows, (*probe)->inputs()))
      expect_fused_equals_unfused(*m, row, c.model, /*with_reference=*/false);
  }
}

// The weights an int8 session keeps are at most 30% of the fp32 session's for the conv models,
// both for their int8 files (ONNX Runtime's dynamic, per-tensor ones) and for static per-channel
// stand-ins. Each side counts its initializers and what its kernels keep besides (fp32: the packed
// copies of DirectConv and packed GEMM, and for XNNPACK's depthwise operators the floats their
// packing holds at least; int8: per-channel tables). Per channel a static file keeps a float scale
// and an int32 bias where fp32 keeps one float bias, so the initializers alone would put
// nr_metric_v1 (545 channels, 18,018 weights) at (18018 + 8 * 545) / (4 * 18018 + 4 * 545) = 30.1%.
TEST(QuantFusion, Int8SessionsKeepAtMost30PercentOfFp32Weights) {
  constexpr double kMaxRatio = 0.30;
  for (const std::string model : {"learned_filter_v1", "nr_metric_v1"}) {
    const fs::path fp32_file = zoo() / "models" / (model + ".onnx");
    if (!fs::exists(fp32_file)) GTEST_SKIP() << "no zoo";
    auto fp32 = Session::open(fp32_file.string());
    auto dyn = Session::open((zoo() / "models" / (model + ".int8.onnx")).string());
    ASSERT_TRUE(fp32.is_ok() && dyn.is_ok());
    const double base = static_cast<double>((*fp32)->resident_weight_bytes());
    const double dyn_ratio = static_cast<double>((*dyn)->resident_weight_bytes()) / base;
    EXPECT_LE(dyn_ratio, kMaxRatio) << model << " dynamic: " << (*dyn)->resident_weight_bytes() << " of " << base;

    auto fp32_model = onnx_io::load_model(fp32_file.string());
    ASSERT_TRUE(fp32_model.is_ok());
    auto rows = fixture_rows(model, "calibration", 2, (*fp32)->inputs());
    auto qdq = bench::make_static_qdq(*fp32_model, rows);
    ASSERT_TRUE(qdq.is_ok()) << qdq.status().message();
    auto stat = Session::from_ir(*qdq, model + " static");
    ASSERT_TRUE(stat.is_ok()) << stat.status().message();
    const double static_ratio = static_cast<double>((*stat)->resident_weight_bytes()) / base;
    EXPECT_LE(static_ratio, kMaxRatio)
        << model << " static: " << (*stat)->resident_weight_bytes() << " of " << base;
    std::printf("%s resident weights: fp32 %.0f B, int8 dynamic %zu B (%.1f%%), static %zu B (%.1f%%)\n",
                model.c_str(), base, (*dyn)->resident_weight_bytes(), 100 * dyn_ratio,
                (*stat)->resident_weight_bytes(), 100 * static_ratio);
  }
}

// The static stand-ins fuse completely (every Conv/Gemm) and run like their unfused graphs,
// within one quantisation step of the float-accumulated unfused result.
TEST(QuantFusion, ZooStaticStandInsFuse) {
  for (const std::string model : {"nr_metric_v1", "learned_filter_v1"}) {
    const fs::path fp32_file = zoo() / "models" / (model + ".onnx");
    if (!fs::exists(fp32_file)) GTEST_SKIP() << "no zoo";
    auto fp32_model = onnx_io::load_model(fp32_file.string());
    ASSERT_TRUE(fp32_model.is_ok());
    auto probe = Session::from_ir(*fp32_model, model);
    ASSERT_TRUE(probe.is_ok());
    auto qdq = bench::make_static_qdq(*fp32_model, fixture_rows(model, "calibration", 2, (*probe)->inputs()));
    ASSERT_TRUE(qdq.is_ok()) << qdq.status().message();
    ir::Graph g = qdq->graph;
    const int convs = count_op(g, "Conv") + count_op(g, "Gemm") + count_op(g, "MatMul");
    EXPECT_EQ(fuse_quantized(g, qdq->opset()).static_nodes, convs) << model;
    EXPECT_EQ(count_op(g, "Conv") + count_op(g, "Gemm"), 0) << model;
  }
}

}  // namespace
}  // namespace tinyq::passes
