#include "tune/candidate.h"

#include <algorithm>
#include <cmath>

#include "util/file.h"

namespace tinyq::tune {

namespace {

QuantizePlacement placement_of(const TuneRecipe& r) {
  QuantizePlacement p;
  p.per_channel = r.per_channel;
  p.exclude_nodes = r.fp32_nodes;
  return p;
}

}  // namespace

Status make_candidate(const Bench& bench, const TuneRecipe& recipe, const std::string& output,
                      std::vector<std::string>* quantized, const PhaseProgress& progress) {
  Result<QuantizeResult> made = Status::internal("no quantiser ran");
  switch (recipe.mode) {
    case QuantMode::kDynamic: {
      DynamicQuantizeOptions d;
      d.placement = placement_of(recipe);
      made = quantize_dynamic(bench.fp32_path, output, d);
      break;
    }
    case QuantMode::kStatic: {
      if (bench.calibration.empty()) return Status::invalid_argument("static quantisation needs the entry's quant_calibration_set");
      StaticQuantizeOptions s;
      s.calibration = bench.calibration;
      s.method = recipe.method;
      s.activations = recipe.activations;
      s.placement = placement_of(recipe);
      if (progress)
        s.progress = [&progress](const QuantizeProgress& p) {
          progress("calibrating", p.pass * p.rows_total + p.rows_done, static_cast<int64_t>(p.passes) * p.rows_total);
        };
      made = quantize_static(bench.fp32_path, output, s);
      break;
    }
    case QuantMode::kQat: {
      if (!bench.qat || !*bench.qat) return Status::unsupported("this tinyq was built without QAT");
      if (bench.train_set.empty()) return Status::invalid_argument("QAT needs the entry's train_set");
      QatRequest q;
      q.train_set = bench.train_set;
      q.recipe = recipe;
      q.epochs = bench.qat_epochs;
      if (progress) q.progress = [&progress](int epoch, int epochs) { progress("training", epoch, epochs); };
      if (quantized) quantized->clear();
      return (*bench.qat)(bench.fp32_path, output, q);
    }
    case QuantMode::kFp32:
      return Status::invalid_argument("fp32 is not a quantisation candidate");
  }
  if (!made.is_ok()) return made.status();
  if (quantized) *quantized = made->quantized_nodes;
  return Status::ok();
}

TuneTrial measure_candidate(const Bench& bench, const TuneRecipe& recipe, const std::string& output,
                            const PhaseProgress& progress) {
  TuneTrial t;
  t.recipe = recipe;
  auto fail = [&t](const Status& st) {
    t.outcome = TuneTrial::Outcome::kFailed;
    t.message = st.message();
    return t;
  };
  auto bytes = util::read_file(output);
  if (!bytes.is_ok()) return fail(bytes.status());
  t.sha256 = sha256_hex(bytes->data(), bytes->size());
  t.bytes = bytes->size();
  auto int8 = Session::open(output, bench.session);
  if (!int8.is_ok()) return fail(int8.status());
  EvaluateOptions eo;
  eo.reference = bench.reference;
  eo.bootstrap_resamples = 0;  // the verdict uses the point drop; the gate computes the interval
  if (progress) eo.progress = [&progress](int64_t done, int64_t total) { progress("evaluating", done, total); };
  auto metrics = evaluate_pair(*bench.fp32, **int8, *bench.fixtures, eo);
  if (!metrics.is_ok()) return fail(metrics.status());
  t.outcome = TuneTrial::Outcome::kMeasured;
  t.drop = 0;
  for (const OutputMetrics& o : metrics->outputs) t.drop = std::isnan(o.drop) || std::isnan(t.drop) ? NAN : std::max(t.drop, o.drop);
  t.fp32_us = metrics->fp32_median_us;
  t.int8_us = metrics->int8_median_us;
  t.latency_ratio = metrics->latency_ratio;
  t.meets_budget = judge(*metrics, GatePolicy{bench.budget, GateOn::kPoint, false}).passed;
  t.faster = t.latency_ratio < 1.0;
  return t;
}

}  // namespace tinyq::tune
