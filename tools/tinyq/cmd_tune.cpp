// tinyq tune: chooses a registry entry's quant_mode (include/tinyq/tune.h does the work). Progress
// goes to stderr (a bar on a terminal, plain lines otherwise), the candidate table to stdout.
// Exit 0 chosen (and written), 1 nothing meets the budget (registry unchanged), 2 error.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli.h"
#include "progress.h"
#include "tinyq/tune.h"
#include "util/file.h"
#ifdef TINYQ_WITH_QAT
#include "tinyq/qat.h"
#endif

namespace tinyq::cli {

namespace {

struct TuneCmdOptions {
  std::string registry, id;
  std::string budget;  // parsed here, so that NaN and negative values reach check_budget's message
  bool no_qat = false;
  std::string json_out;
  bool try_all = false;
  bool allow_slower = false;
  bool dry_run = false;
  bool replay = false;
  std::vector<std::string> methods, activations, granularity;
  int max_fp32_layers = 4;
  int qat_epochs = 10;
  uint64_t max_model_bytes = kDefaultMaxModelBytes;
};

QatTrainer qat_trainer() {
#ifdef TINYQ_WITH_QAT
  return [](const std::string& model, const std::string& output, const QatRequest& r) -> Status {
    QatOptions q;
    q.train = r.train_set;
    q.epochs = r.epochs;
    q.method = r.recipe.method;
    q.activations = r.recipe.activations;
    q.placement.per_channel = r.recipe.per_channel;
    q.placement.exclude_nodes = r.recipe.fp32_nodes;
    if (r.progress) q.on_epoch = [progress = r.progress, epochs = r.epochs](const QatEpoch& e) { progress(e.epoch, epochs); };
    return quantize_qat(model, output, q).status();
  };
#else
  return {};
#endif
}

Result<double> parse_budget(const std::string& text) {
  char* end = nullptr;
  double b = std::strtod(text.c_str(), &end);
  if (text.empty() || end == text.c_str() || *end != '\0') return Status::invalid_argument("--budget '" + text + "' is not a number");
  TINYQ_RETURN_IF_ERROR(check_budget(b, "--budget"));
  return b;
}

// Fills the search space from --methods / --activations / --granularity (empty: all).
Status search_space(const TuneCmdOptions& o, TuneOptions* t) {
  if (!o.methods.empty()) {
    t->methods.clear();
    for (const auto& m : o.methods) {
      TINYQ_ASSIGN_OR_RETURN(CalibrationMethod method, parse_calibration_method(m));
      t->methods.push_back(method);
    }
  }
  if (!o.activations.empty()) {
    t->activations.clear();
    for (const auto& a : o.activations) {
      TINYQ_ASSIGN_OR_RETURN(ActivationFormat act, parse_activation_format(a));
      t->activations.push_back(act);
    }
  }
  if (!o.granularity.empty()) {
    t->per_channel.clear();
    for (const auto& g : o.granularity) {
      if (g != "per-channel" && g != "per-tensor")
        return Status::invalid_argument("--granularity '" + g + "': expected per-channel or per-tensor");
      t->per_channel.push_back(g == "per-channel");
    }
  }
  return Status::ok();
}

std::string trial_line(const TuneEvent& e) {
  const TuneTrial& t = *e.trial;
  char head[64];
  std::snprintf(head, sizeof head, "tinyq tune: [%d/%d] ", e.index, e.planned);
  std::string line = head + e.text;
  if (t.outcome == TuneTrial::Outcome::kFailed) return line + ": failed: " + t.message;
  char tail[160];
  std::snprintf(tail, sizeof tail, ": drop %.3g, int8/fp32 latency %.3f (%s, %s)", t.drop, t.latency_ratio,
                t.meets_budget ? "meets budget" : "over budget", t.faster ? "faster" : "not faster");
  line += tail;
  if (!t.excluded_because.empty()) line += " [" + t.excluded_because + "]";
  return line;
}

// Progress on stderr: a line per stage and per finished candidate; on a terminal also a bar for
// the candidate under way.
std::function<void(const TuneEvent&)> progress_printer(ProgressBar* bar) {
  return [bar](const TuneEvent& e) {
    auto line = [bar](const std::string& text) {
      bar->finish();
      std::fprintf(stderr, "%s\n", text.c_str());
    };
    switch (e.kind) {
      case TuneEvent::Kind::kStage: line("tinyq tune: trying " + e.text); break;
      case TuneEvent::Kind::kSkipped: line("tinyq tune: skipped " + e.text); break;
      case TuneEvent::Kind::kCandidateStart: bar->update(e.index - 1, e.planned, e.text); break;
      case TuneEvent::Kind::kCandidateProgress:
        bar->update(e.index - 1, e.planned,
                    e.text + ": " + e.phase + " " + std::to_string(e.done) + "/" + std::to_string(e.total));
        break;
      case TuneEvent::Kind::kCandidateDone: line(trial_line(e)); break;
    }
  };
}

int do_replay(const TuneCmdOptions& o) {
  ReplayOptions ro;
  ro.loader.max_model_bytes = o.max_model_bytes;
  ro.qat_trainer = qat_trainer();
  ro.qat_epochs = o.qat_epochs;
  auto r = replay_tuned(o.registry, o.id, ro);
  if (!r.is_ok()) return fail(r.status());
  auto recipe = tune_recipe_text(r->recipe);
  std::printf("wrote %s (%s, sha256 %s): %s\n", r->artefact.c_str(), recipe.is_ok() ? recipe->c_str() : "?", r->sha256.c_str(),
              r->sha256 == r->previous_sha256 ? "the same bytes the registry recorded"
                                              : ("the registry recorded " + r->previous_sha256 + "; updated").c_str());
  return kExitOk;
}

int do_tune(const TuneCmdOptions& o) {
  if (o.replay) return do_replay(o);
  TuneOptions t;
  if (!o.budget.empty()) {
    auto b = parse_budget(o.budget);
    if (!b.is_ok()) return fail(b.status());
    t.budget = *b;
  }
  if (Status st = search_space(o, &t); !st.is_ok()) return fail(st);
  t.qat = !o.no_qat;
  t.qat_trainer = qat_trainer();
  t.qat_epochs = o.qat_epochs;
  t.try_all = o.try_all;
  t.allow_slower = o.allow_slower;
  t.max_fp32_layers = o.max_fp32_layers;
  t.write = !o.dry_run;
  t.loader.max_model_bytes = o.max_model_bytes;
  ProgressBar bar("tuning");
  t.on_event = progress_printer(&bar);
  auto r = tune_registered(o.registry, o.id, t);
  bar.finish();
  if (!r.is_ok()) return fail(r.status());
  std::fputs(tune_report_table(*r).c_str(), stdout);
  if (!o.json_out.empty())
    if (Status st = util::write_file_atomic(o.json_out, tune_report_json(*r)); !st.is_ok()) return fail(st);
  return r->chosen ? kExitOk : kExitCheckFailed;
}

}  // namespace

void register_tune(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<TuneCmdOptions>();
  CLI::App* cmd = app.add_subcommand(
      "tune", "choose a registry entry's quant_mode: try dynamic, static, qat on its fixtures; record the cheapest that meets "
              "the budget and is faster than fp32 (exit 0 chosen, 1 none, 2 error)");
  cmd->add_option("--registry", o->registry, "the registry.json")->required();
  cmd->add_option("--model", o->id, "the model id to tune")->required();
  cmd->add_option("--budget", o->budget, "largest allowed PLCC drop (default: the entry's quant_accuracy_budget_plcc)");
  cmd->add_flag("--no-qat", o->no_qat, "do not try quantisation-aware training");
  cmd->add_option("--json", o->json_out, "also write every candidate and the choice as JSON to this file");
  cmd->add_flag("--try-all", o->try_all, "keep trying costlier modes after a cheaper one qualified (a complete table)");
  cmd->add_flag("--allow-slower", o->allow_slower, "accept a candidate that is not faster than fp32");
  cmd->add_flag("--dry-run", o->dry_run, "choose and report, but leave the registry and files alone");
  cmd->add_flag("--replay", o->replay, "quantise again with the recipe tune recorded in the entry's notes and record the file");
  cmd->add_option("--methods", o->methods, "static calibration methods to try (default: minmax,percentile,entropy,mse)")->delimiter(',');
  cmd->add_option("--activations", o->activations, "static activation formats to try (default: u8,s8)")->delimiter(',');
  cmd->add_option("--granularity", o->granularity, "weight scales to try (default: per-channel,per-tensor)")->delimiter(',');
  cmd->add_option("--max-fp32-layers", o->max_fp32_layers, "layers kept in fp32, one per retry, when nothing meets the budget")
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--qat-epochs", o->qat_epochs, "QAT training epochs")->check(CLI::Range(1, 100000));
  cmd->add_option("--max-model-bytes", o->max_model_bytes, "refuse model files larger than this")->check(CLI::PositiveNumber);
  cmd->callback([o, exit_code] { *exit_code = do_tune(*o); });
}

}  // namespace tinyq::cli
