// tinyq run: feeds inputs through a model and saves or prints the outputs.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "cli.h"
#include "io/npy.h"

namespace tinyq::cli {

namespace {

struct RunOptions {
  ModelSource model;
  InputOptions inputs;
  int64_t batch = 0;
  std::string save;
  int threads = 1;
  bool json = false;
  bool verbose = false;
  bool reference = false;
};

int do_run(const RunOptions& o) {
  SessionOptions so;
  so.threads = o.threads;
  so.reference_kernels = o.reference;
  auto opened = open_model(o.model, so);
  if (!opened.is_ok()) return fail(opened.status());
  auto& session = opened->session;
  if (o.verbose) std::fprintf(stderr, "%s (opset %lld)\n", describe_loaded(*opened).c_str(), static_cast<long long>(session->opset()));
  auto inputs = load_inputs(*session, o.inputs);
  if (!inputs.is_ok()) return fail(inputs.status());
  auto outputs = run_batched(*session, *inputs, o.batch);
  if (!outputs.is_ok()) return fail(outputs.status());
  const auto& specs = session->outputs();
  if (!o.save.empty()) {
    io::NamedArrays named;
    for (size_t i = 0; i < specs.size(); ++i) named.emplace_back(specs[i].name, (*outputs)[i]);
    Status st = io::write_npz(o.save, named);
    if (!st.is_ok()) return fail(st);
  }
  if (o.json) {
    nlohmann::json j;
    j["model"] = opened->name;
    describe_loaded(*opened, j);
    j["outputs"] = nlohmann::json::array();
    for (size_t i = 0; i < specs.size(); ++i) {
      const Tensor& t = (*outputs)[i];
      nlohmann::json out{{"name", specs[i].name}, {"dtype", dtype_name(t.dtype())}, {"shape", t.shape()}};
      if (t.numel() <= 64) out["values"] = t.to_double();
      j["outputs"].push_back(out);
    }
    if (!o.save.empty()) j["saved"] = o.save;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    for (size_t i = 0; i < specs.size(); ++i) {
      const Tensor& t = (*outputs)[i];
      std::vector<double> v = t.to_double();
      std::printf("%s %s%s", specs[i].name.c_str(), dtype_name(t.dtype()), shape_str(t.shape()).c_str());
      for (size_t k = 0; k < v.size() && k < 8; ++k) std::printf(" %.6g", v[k]);
      std::printf("%s\n", v.size() > 8 ? " ..." : "");
    }
    if (!o.save.empty()) std::printf("saved %s\n", o.save.c_str());
  }
  return kExitOk;
}

}  // namespace

void register_run(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "run a model on inputs from .npz/.npy/.pb files");
  add_model_source(cmd, &opts->model);
  add_input_options(cmd, &opts->inputs);
  cmd->add_option("--batch", opts->batch, "rows per run (default: all rows when the batch dimension is symbolic)");
  cmd->add_option("--save", opts->save, "write the outputs to this .npz, one array per output name");
  cmd->add_option("--threads", opts->threads, "intra-op threads")->check(CLI::Range(1, 256));
  cmd->add_flag("--json", opts->json, "print a JSON summary");
  cmd->add_flag("-v,--verbose", opts->verbose, "say what was loaded");
  cmd->add_flag("--reference", opts->reference, "use the scalar reference kernels");
  cmd->callback([opts, exit_code] { *exit_code = do_run(*opts); });
}

}  // namespace tinyq::cli
