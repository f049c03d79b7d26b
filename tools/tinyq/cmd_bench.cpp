// tinyq bench: latency of one model, per run and per sample. Its --json keys match the ONNX
// Runtime peer's (tools/ort-peer/bench.js) so the two compare line by line.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>

#include "cli.h"

namespace tinyq::cli {

namespace {

// Auto iteration count: aim for about this much measured time.
constexpr double kTargetBenchSeconds = 1.0;
constexpr int kMinIters = 10;
constexpr int kMaxIters = 200000;
constexpr double kSampleMicros = 20.0;  // the shortest sample (see do_bench)
constexpr int kMaxRepsPerSample = 1000;

struct BenchOptions {
  ModelSource model;
  InputOptions inputs;
  int64_t batch = 1;
  int iters = 0;
  int warmup = 0;
  int threads = 1;
  bool json = false;
  bool reference = false;
};

// Inputs for one bench run: `batch` rows from the data (tiled when short), or uniform [0,1).
Result<std::vector<Tensor>> bench_inputs(const Session& session, const BenchOptions& o) {
  std::vector<Tensor> data;
  if (!o.inputs.inputs_file.empty() || !o.inputs.named_inputs.empty()) {
    TINYQ_ASSIGN_OR_RETURN(data, load_inputs(session, o.inputs));
  }
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::vector<Tensor> out;
  for (size_t i = 0; i < session.inputs().size(); ++i) {
    const TensorSpec& s = session.inputs()[i];
    if (!s.has_shape) return Status::invalid_argument("input '" + s.name + "' has no declared shape; give --inputs");
    Shape shape;
    for (size_t d = 0; d < s.dims.size(); ++d) shape.push_back(s.dims[d] >= 0 ? s.dims[d] : (d == 0 ? o.batch : 1));
    Tensor t(s.dtype, shape);
    if (!data.empty()) {
      const Tensor& src = data[i];
      size_t bytes = t.nbytes(), have = src.nbytes();
      if (have == 0) return Status::invalid_argument("input '" + s.name + "' is empty");
      for (size_t off = 0; off < bytes; off += std::min(have, bytes - off))
        std::memcpy(static_cast<std::byte*>(t.raw()) + off, src.raw(), std::min(have, bytes - off));
    } else if (s.dtype == DType::kFloat32) {
      for (int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] = uni(rng);
    }
    out.push_back(std::move(t));
  }
  return out;
}

int do_bench(const BenchOptions& o) {
  SessionOptions so;
  so.threads = o.threads;
  so.reference_kernels = o.reference;
  auto opened = open_model(o.model, so);
  if (!opened.is_ok()) return fail(opened.status());
  auto* session = &opened->session;
  auto inputs = bench_inputs(**session, o);
  if (!inputs.is_ok()) return fail(inputs.status());
  std::vector<TensorView> views;
  for (const auto& t : *inputs) views.push_back(TensorView::of(t));
  auto outputs = (*session)->allocate_outputs(views);
  if (!outputs.is_ok()) return fail(outputs.status());

  using clock = std::chrono::steady_clock;
  // One sample: the mean of `reps` back-to-back runs.
  auto sample = [&](int reps) -> Result<double> {
    auto t0 = clock::now();
    for (int r = 0; r < reps; ++r) TINYQ_RETURN_IF_ERROR((*session)->run_into(views, *outputs));
    auto t1 = clock::now();
    return std::chrono::duration<double, std::micro>(t1 - t0).count() / reps;
  };
  auto first = sample(1);
  if (!first.is_ok()) return fail(first.status());
  int iters = o.iters;
  if (iters <= 0) iters = std::clamp(static_cast<int>(kTargetBenchSeconds * 1e6 / std::max(*first, 0.01)), kMinIters, kMaxIters);
  int warmup = o.warmup > 0 ? o.warmup : std::max(1, iters / 10);
  for (int i = 0; i < warmup; ++i) (void)sample(1);
  // Runs shorter than a few microseconds (once warm) are timed in groups, so that the clock's
  // resolution (tens of nanoseconds here) does not round a 0.17 us run to 0.16 or 0.18.
  auto warm = sample(10);
  if (!warm.is_ok()) return fail(warm.status());
  const int reps = std::clamp(static_cast<int>(kSampleMicros / std::max(*warm, 0.001)), 1, std::min(kMaxRepsPerSample, iters));
  const int samples = std::max(1, iters / reps);
  std::vector<double> times(static_cast<size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    auto t = sample(reps);
    if (!t.is_ok()) return fail(t.status());
    times[i] = *t;
  }
  std::sort(times.begin(), times.end());
  double median = times[times.size() / 2];
  double p10 = times[times.size() / 10];
  double batch = static_cast<double>(std::max<int64_t>(o.batch, 1));
  if (o.json) {
    nlohmann::json j{{"runtime", "tinyq"}, {"model", opened->name}, {"median_us", median}, {"p10_us", p10},
                     {"batch", o.batch}, {"median_us_per_sample", median / batch},
                     {"p10_us_per_sample", p10 / batch}, {"threads", o.threads}, {"iters", samples * reps},
                     {"runs_per_sample", reps}};
    describe_loaded(*opened, j);
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s: batch %lld, %d iters (%d a timing), threads %d\n  median %.3f us  p10 %.3f us  per sample %.4f us\n",
                opened->name.c_str(), static_cast<long long>(o.batch), samples * reps, reps, o.threads, median, p10,
                median / batch);
  }
  return kExitOk;
}

}  // namespace

void register_bench(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "time a model (median and p10 latency)");
  add_model_source(cmd, &opts->model);
  add_input_options(cmd, &opts->inputs);
  cmd->add_option("--batch", opts->batch, "rows per run for a symbolic batch dimension")->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  cmd->add_option("--iters", opts->iters,
                  "timed runs (default: about one second's worth); runs under a few microseconds are timed in groups");
  cmd->add_option("--warmup", opts->warmup, "untimed runs first");
  cmd->add_option("--threads", opts->threads, "intra-op threads")->check(CLI::Range(1, 256));
  cmd->add_flag("--json", opts->json, "print one JSON object");
  cmd->add_flag("--reference", opts->reference, "use the scalar reference kernels");
  cmd->callback([opts, exit_code] { *exit_code = do_bench(*opts); });
}

}  // namespace tinyq::cli
