// Static PTQ against QAT on zoo models: both start from the same placement and calibration
// (the zoo's calibration set), QAT then trains on that same set, and both are measured on the
// fixtures set, which neither saw: drop = 1 - PLCC(int8, fp32), each row run on its own.
//   tinyq_qat_accuracy [--zoo DIR] [--model ID]... [--epochs N] [--lr X] [--batch B] [--seed S]
//                      [--learn-scales] [--method minmax|percentile|entropy|mse] [--per-tensor] [--distill]
//                      [--keep-last]
// Prints a markdown table; per-epoch progress goes to stderr.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "onnx/onnx_io.h"
#include "qat/export.h"
#include "qat/pipeline.h"
#include "quant/quantize.h"
#include "tinyq/gate.h"
#include "tinyq/qat.h"
#include "tinyq/session.h"

namespace fs = std::filesystem;
using namespace tinyq;

namespace {

struct Args {
  fs::path zoo = fs::path(TINYQ_SOURCE_DIR) / ".." / "shared" / "zoo";
  std::vector<std::string> models;
  QatOptions qat;
};

struct Row {
  std::string model, target;
  int64_t train_rows = 0, fixture_rows = 0;
  int exported_epoch = 0;
  double static_drop = 0, qat_drop = 0, qat_drop_fused = 0, train_drop_start = 0, train_drop_end = 0, seconds = 0;
};

// `fused`: through tinyq's int8 kernels (graph passes on); else node by node as ONNX defines Q/DQ.
Result<double> drop_on(const ir::Model& fp32, const ir::Model& int8, const std::string& fixtures, bool fused, int64_t* rows) {
  SessionOptions so;
  so.graph_passes = fused;
  TINYQ_ASSIGN_OR_RETURN(auto ref, Session::from_ir(fp32, "fp32"));
  TINYQ_ASSIGN_OR_RETURN(auto q, Session::from_ir(int8, "int8", so));
  TINYQ_ASSIGN_OR_RETURN(FixtureSet set, load_fixtures(fixtures, *ref));
  *rows = set.rows;
  return qat::plcc_drop(*ref, *q, set);
}

Result<Row> measure(const Args& a, const std::string& id) {
  Row row;
  row.model = id;
  const fs::path model = a.zoo / "models" / (id + ".onnx");
  const std::string cal = (a.zoo / "fixtures" / (id + ".calibration.npz")).string();
  const std::string fix = (a.zoo / "fixtures" / (id + ".fixtures.npz")).string();
  TINYQ_ASSIGN_OR_RETURN(ir::Model fp32, onnx_io::load_model(model.string()));

  quant::StaticOptions so;
  so.placement.per_channel = a.qat.placement.per_channel;
  so.range.method = static_cast<quant::CalibrationMethod>(a.qat.method);
  if (a.qat.activations == ActivationFormat::kS8) {
    so.activations = quant::ActivationType::kS8Symmetric;
    so.range.symmetric = true;
  }
  TINYQ_ASSIGN_OR_RETURN(quant::Quantized ptq, quant::quantize_static(fp32, cal, so));
  TINYQ_ASSIGN_OR_RETURN(row.static_drop, drop_on(fp32, ptq.model, fix, false, &row.fixture_rows));

  QatOptions o = a.qat;
  o.train = cal;
  o.on_epoch = [&id](const QatEpoch& e) {
    std::fprintf(stderr, "%s epoch %d: loss %.6g, training-set drop %.6g\n", id.c_str(), e.epoch, e.loss, e.drop);
  };
  const auto t0 = std::chrono::steady_clock::now();
  TINYQ_ASSIGN_OR_RETURN(qat::QatRun run, qat::run_qat(fp32, id, o));
  row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  row.target = run.target;
  row.train_rows = run.train_rows;
  row.train_drop_start = run.epochs.front().drop;
  row.train_drop_end = run.epochs[static_cast<size_t>(run.exported_epoch)].drop;
  row.exported_epoch = run.exported_epoch;
  TINYQ_ASSIGN_OR_RETURN(row.qat_drop, drop_on(fp32, run.int8, fix, false, &row.fixture_rows));
  TINYQ_ASSIGN_OR_RETURN(row.qat_drop_fused, drop_on(fp32, run.int8, fix, true, &row.fixture_rows));
  return row;
}

bool parse(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (k == "--learn-scales") a->qat.learn_scales = true;
    else if (k == "--per-tensor") a->qat.placement.per_channel = false;
    else if (k == "--distill") a->qat.distill = true;
    else if (k == "--s8") a->qat.activations = ActivationFormat::kS8;
    else if (k == "--keep-last") a->qat.keep_best = false;
    else if ((v = next()) == nullptr) return false;
    else if (k == "--zoo") a->zoo = v;
    else if (k == "--model") a->models.push_back(v);
    else if (k == "--epochs") a->qat.epochs = std::atoi(v);
    else if (k == "--lr") a->qat.learning_rate = std::atof(v);
    else if (k == "--batch") a->qat.batch = std::atoll(v);
    else if (k == "--seed") a->qat.seed = std::strtoull(v, nullptr, 10);
    else if (k == "--method") {
      auto m = parse_calibration_method(v);
      if (!m.is_ok()) return false;
      a->qat.method = *m;
    } else return false;
  }
  if (a->models.empty()) a->models = {"nr_metric_v1", "learned_filter_v1", "vmaf_tiny_v4", "fr_regressor_v1"};
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, &a)) {
    std::fprintf(stderr,
                 "usage: %s [--zoo DIR] [--model ID]... [--epochs N] [--lr X] [--batch B] [--seed S] [--learn-scales]\n"
                 "          [--method minmax|percentile|entropy|mse] [--per-tensor] [--s8] [--distill] [--keep-last]\n",
                 argv[0]);
    return 2;
  }
  std::printf("QAT: %d epochs, lr %g, batch %lld, seed %llu, %s scales, %s weights, %s activations, calibration %s, %s epoch exported\n\n",
              a.qat.epochs,
              a.qat.learning_rate, static_cast<long long>(a.qat.batch), static_cast<unsigned long long>(a.qat.seed),
              a.qat.learn_scales ? "learned" : "fixed", a.qat.placement.per_channel ? "per-channel" : "per-tensor",
              a.qat.activations == ActivationFormat::kS8 ? "s8 symmetric" : "u8 asymmetric",
              quant::calibration_method_name(static_cast<quant::CalibrationMethod>(a.qat.method)),
              a.qat.keep_best ? "best (on the training set)" : "last");
  std::printf("Drops on the fixtures set, the int8 file run node by node as ONNX defines Q/DQ; the last drop\n"
              "column runs the QAT file through tinyq's fused int8 kernels instead.\n\n");
  std::printf("| model | trained on (calibration rows) | fixture rows | static PTQ drop | QAT drop | QAT train-set drop: static -> exported epoch | QAT drop, fused kernels | QAT time (s) |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  int status = 0;
  for (const auto& id : a.models) {
    auto r = measure(a, id);
    if (!r.is_ok()) {
      std::fprintf(stderr, "%s: %s\n", id.c_str(), r.status().to_string().c_str());
      status = 1;
      continue;
    }
    std::printf("| %s | %s (%lld) | %lld | %.6f | %.6f | %.6f -> %.6f (epoch %d) | %.6f | %.1f |\n", r->model.c_str(), r->target.c_str(),
                static_cast<long long>(r->train_rows), static_cast<long long>(r->fixture_rows), r->static_drop, r->qat_drop,
                r->train_drop_start, r->train_drop_end, r->exported_epoch, r->qat_drop_fused, r->seconds);
    std::fflush(stdout);
  }
  return status;
}
