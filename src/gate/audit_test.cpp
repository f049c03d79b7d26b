// The audit report and the per-tensor SQNR on the zoo's int8 models (read at run time).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "gate/gate_test_util.h"
#include "gate/layer_sqnr.h"
#include "onnx/onnx_io.h"

namespace tinyq {
namespace {

using namespace gate_testing;

// 10 log10(sum fp32^2 / sum (fp32 - int8)^2) of each model's output over the first 8 fixture
// rows, computed once with numpy from the zoo's references (ORT fp32, exact int8).
constexpr double kVmafV3OutputSqnrDb = 41.234692132316695;
constexpr double kNrMetricOutputSqnrDb = 32.42632712375807;
constexpr double kSqnrToleranceDb = 0.01;  // tinyq's fp32 is within ~1e-6 of ORT's
constexpr int64_t kAuditRows = 8;          // keeps the unfused int8 runs short

// The tensors named in both graphs (from the .onnx files; nr_metric_v1's val_0 is int64 and
// has no SQNR).
const std::vector<std::string> kVmafV3Shared = {"sub", "div", "linear", "relu", "linear_1", "relu_1", "linear_2", "vmaf"};
const std::vector<std::string> kNrMetricFloatShared = {
    "getitem",   "hardtanh",   "getitem_3",  "hardtanh_1", "getitem_6",  "hardtanh_2", "getitem_9",
    "hardtanh_3", "getitem_12", "hardtanh_4", "getitem_15", "hardtanh_5", "getitem_18", "hardtanh_6",
    "getitem_21", "hardtanh_7", "getitem_24", "hardtanh_8", "getitem_27", "hardtanh_9", "getitem_30",
    "hardtanh_10", "mean",      "view",       "linear",     "mos"};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

class Audit : public GateRegistry {};

TEST_F(Audit, SqnrOfAModelAgainstItselfIsInfinite) {
  write_fixtures({{"features", synthetic_features(5, 21)}});
  self_entry();
  auto m = onnx_io::load_model((dir_ / "self.onnx").string());
  ASSERT_TRUE(m.is_ok());
  auto s = Session::open((dir_ / "self.onnx").string());
  auto fx = load_fixtures((dir_ / "fx.npz").string(), **s);
  ASSERT_TRUE(fx.is_ok()) << fx.status().message();
  auto layers = gate::layer_sqnr(*m, *m, *fx);
  ASSERT_TRUE(layers.is_ok()) << layers.status().message();
  ASSERT_EQ(layers->size(), kVmafV3Shared.size());
  for (size_t i = 0; i < layers->size(); ++i) {
    EXPECT_EQ((*layers)[i].tensor, kVmafV3Shared[i]);
    EXPECT_TRUE(std::isinf((*layers)[i].sqnr_db) && (*layers)[i].sqnr_db > 0);
  }
  EXPECT_EQ((*layers)[2].op_type, "Gemm");
  EXPECT_EQ((*layers)[2].values, 5 * 32);  // linear: 32 features per row
}

TEST_F(Audit, ZooReportHasScatterPlotsAndASqnrRowPerSharedTensor) {
  SKIP_WITHOUT_ZOO();
  const std::string path = write_registry(json::array({zoo_entry("vmaf_tiny_v3", kAuditRows), zoo_entry("nr_metric_v1", kAuditRows)}));
  AuditOptions o;
  o.gate.bootstrap_resamples = 200;
  auto audits = write_audit_report(path, {}, (dir_ / "out").string(), o);
  ASSERT_TRUE(audits.is_ok()) << audits.status().message();
  ASSERT_EQ(audits->size(), 2u);

  const std::vector<std::vector<std::string>> expected{kVmafV3Shared, kNrMetricFloatShared};
  const double output_sqnr[] = {kVmafV3OutputSqnrDb, kNrMetricOutputSqnrDb};
  for (size_t m = 0; m < 2; ++m) {
    const ModelAudit& a = (*audits)[m];
    ASSERT_TRUE(a.entry.gate) << a.entry.message;
    std::vector<std::string> names;
    for (const auto& l : a.layers) names.push_back(l.tensor);
    EXPECT_EQ(names, expected[m]) << a.entry.id;
    EXPECT_NEAR(a.layers.back().sqnr_db, output_sqnr[m], kSqnrToleranceDb) << a.entry.id;
  }
  // vmaf_tiny_v3 computes its scaler in fp32 in both graphs: identical values.
  EXPECT_TRUE(std::isinf((*audits)[0].layers[0].sqnr_db));
  EXPECT_TRUE(std::isfinite((*audits)[0].layers[2].sqnr_db));

  const std::string md = slurp(dir_ / "out" / "report.md");
  const std::string html = slurp(dir_ / "out" / "report.html");
  for (const std::string* doc : {&md, &html}) {
    EXPECT_EQ(count(*doc, "<svg"), 2u);  // one output per model
    EXPECT_NE(doc->find("vmaf_tiny_v3"), std::string::npos);
    EXPECT_NE(doc->find("nr_metric_v1"), std::string::npos);
  }
  // One table row per shared tensor: in Markdown a line "| name | op |", in HTML a <td>name</td>.
  for (const auto& list : expected)
    for (const std::string& name : list) {
      EXPECT_GE(count(md, "\n| " + name + " | "), 1u) << name;
      EXPECT_GE(count(html, "<tr><td>" + name + "</td>"), 1u) << name;
    }
  EXPECT_EQ(count(md, "\n| getitem_27 | "), 1u);
  EXPECT_EQ(html.find("http"), std::string::npos);  // self-contained: nothing to fetch
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST_F(Audit, ErrorsAreReportedPerModel) {
  write_fixtures({{"features", synthetic_features(4, 22)}});
  json e = self_entry();
  e["fixtures"] = "absent.npz";
  auto audits = write_audit_report(write_registry(json::array({e})), {}, (dir_ / "out").string(), {});
  ASSERT_TRUE(audits.is_ok()) << audits.status().message();
  EXPECT_EQ((*audits)[0].entry.outcome, GateReport::Outcome::kError);
  EXPECT_NE((*audits)[0].entry.message.find("absent.npz"), std::string::npos);
  EXPECT_NE(slurp(dir_ / "out" / "report.md").find("absent.npz"), std::string::npos);
  auto none = write_audit_report(write_registry(json::array({e})), std::vector<std::string>{"nope"}, (dir_ / "out").string(), {});
  ASSERT_TRUE(none.is_ok());
  EXPECT_NE((*none)[0].entry.message.find("no model 'nope'"), std::string::npos);
}

}  // namespace
}  // namespace tinyq
