// tune_registered(): the search. Candidates are tried cheapest mode first; each is a file in a
// temp folder measured on the entry's fixtures. The choice and its reason go into the registry
// through write_registry_entry() (crash-safe); when nothing qualifies nothing is written.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "gate/layer_sqnr.h"
#include "ir/graph.h"
#include "onnx/onnx_io.h"
#include "tinyq/tune.h"
#include "tune/candidate.h"
#include "tune/notes.h"
#include "tune/recipe.h"
#include "tune/work_dir.h"
#include "util/file.h"

namespace tinyq {

namespace {

using tune::Bench;

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// Cheapest first: dynamic needs nothing but the model, static a calibration set, qat training.
int mode_rank(QuantMode m) {
  switch (m) {
    case QuantMode::kDynamic: return 0;
    case QuantMode::kStatic: return 1;
    case QuantMode::kQat: return 2;
    case QuantMode::kFp32: break;
  }
  return 3;
}

// A registry whose only problems are missing int8_sha256 fields (what tune writes) is usable.
Status check_registry(const Registry& r) {
  for (const auto& p : r.problems())
    if (p.message.find("int8_sha256") == std::string::npos)
      return Status::invalid_argument("'" + r.path() + "' is not a valid registry (" + p.pointer + ": " + p.message +
                                      "); run `tinyq registry validate` for every problem");
  return Status::ok();
}

std::string list_ids(const Registry& r) {
  std::string out;
  for (const auto& e : r.models()) out += (out.empty() ? "" : ", ") + e.id;
  return out.empty() ? "none" : out;
}

class Search {
 public:
  Search(const TuneOptions& options, const Bench& bench, const tune::WorkDir& work, const ir::Model& fp32_ir, TuneResult& result)
      : options_(options), bench_(bench), work_(work), fp32_ir_(fp32_ir), result_(result) {}

  void plan(int more) { planned_ += more; }

  void stage(const std::string& name) { emit(event(TuneEvent::Kind::kStage, name, 0)); }

  void skip(const std::string& why) {
    result_.skipped.push_back(why);
    emit(event(TuneEvent::Kind::kSkipped, why, 0));
  }

  bool qualifies(const TuneTrial& t) const {
    return t.outcome == TuneTrial::Outcome::kMeasured && t.meets_budget && (t.faster || options_.allow_slower);
  }
  bool any_qualifies() const {
    return std::any_of(result_.trials.begin(), result_.trials.end(), [this](const TuneTrial& t) { return qualifies(t); });
  }

  // Makes and measures one candidate; returns its index in result.trials.
  size_t run(const TuneRecipe& recipe, const std::string& excluded_because = {}) {
    const int index = static_cast<int>(result_.trials.size()) + 1;
    auto text = tune_recipe_text(recipe);
    const std::string name = text.is_ok() ? *text : "?";
    emit(event(TuneEvent::Kind::kCandidateStart, name, index));
    auto progress = [&](const char* phase, int64_t done, int64_t total) {
      TuneEvent e = event(TuneEvent::Kind::kCandidateProgress, name, index);
      e.phase = phase;
      e.done = done;
      e.total = total;
      emit(e);
    };
    const std::string file = work_.file("candidate" + std::to_string(index) + ".int8.onnx");
    std::vector<std::string> quantized;
    TuneTrial trial;
    Status made = text.is_ok() ? tune::make_candidate(bench_, recipe, file, &quantized, progress) : text.status();
    if (made.is_ok()) {
      trial = tune::measure_candidate(bench_, recipe, file, progress);
    } else {
      trial.recipe = recipe;
      trial.message = made.message();
    }
    trial.excluded_because = excluded_because;
    result_.trials.push_back(std::move(trial));
    files_.push_back(file);
    quantized_.push_back(std::move(quantized));
    TuneEvent done = event(TuneEvent::Kind::kCandidateDone, name, index);
    done.trial = &result_.trials.back();
    emit(done);
    return result_.trials.size() - 1;
  }

  // The measured trial of `mode` with the smallest drop, if any.
  std::optional<size_t> best_of(QuantMode mode) const {
    std::optional<size_t> best;
    for (size_t i = 0; i < result_.trials.size(); ++i) {
      const TuneTrial& t = result_.trials[i];
      if (t.recipe.mode != mode || t.outcome != TuneTrial::Outcome::kMeasured || std::isnan(t.drop)) continue;
      if (!best || t.drop < result_.trials[*best].drop) best = i;
    }
    return best;
  }

  // The next layer of trial i's model to keep in fp32: of the nodes it quantised, the one whose
  // output has the lowest SQNR against the fp32 model on the fixtures.
  Result<std::optional<std::pair<std::string, double>>> worst_layer(size_t i) const {
    TINYQ_ASSIGN_OR_RETURN(ir::Model int8, onnx_io::load_model(files_[i]));
    TINYQ_ASSIGN_OR_RETURN(std::vector<LayerSqnr> layers, gate::layer_sqnr(fp32_ir_, int8, *bench_.fixtures, bench_.session));
    std::map<std::string, std::string> producer;
    for (const ir::Node& n : fp32_ir_.graph.nodes)
      for (const std::string& out : n.outputs) producer[out] = n.name;
    const std::set<std::string> quantized(quantized_[i].begin(), quantized_[i].end());
    const std::vector<std::string>& kept = result_.trials[i].recipe.fp32_nodes;
    std::optional<std::pair<std::string, double>> worst;
    for (const LayerSqnr& l : layers) {
      auto p = producer.find(l.tensor);
      if (p == producer.end() || !std::isfinite(l.sqnr_db) || !quantized.count(p->second)) continue;
      if (std::find(kept.begin(), kept.end(), p->second) != kept.end()) continue;
      TuneRecipe probe;
      probe.fp32_nodes = {p->second};
      if (!tune_recipe_text(probe).is_ok()) continue;  // a name the notes cannot carry
      if (!worst || l.sqnr_db < worst->second) worst = std::make_pair(p->second, l.sqnr_db);
    }
    return worst;
  }

  const std::string& file(size_t i) const { return files_[i]; }

 private:
  TuneEvent event(TuneEvent::Kind kind, const std::string& text, int index) const {
    TuneEvent e;
    e.kind = kind;
    e.text = text;
    e.index = index;
    e.planned = std::max(planned_, index);
    return e;
  }
  void emit(const TuneEvent& e) const {
    if (options_.on_event) options_.on_event(e);
  }

  const TuneOptions& options_;
  const Bench& bench_;
  const tune::WorkDir& work_;
  const ir::Model& fp32_ir_;
  TuneResult& result_;
  int planned_ = 0;
  std::vector<std::string> files_;                   // per trial
  std::vector<std::vector<std::string>> quantized_;  // per trial: the nodes made int8
};

void try_dynamic(const TuneOptions& o, Search& s) {
  s.stage("dynamic");
  for (bool pc : o.per_channel) {
    TuneRecipe r;
    r.mode = QuantMode::kDynamic;
    r.per_channel = pc;
    s.run(r);
  }
}

void try_static(const TuneOptions& o, const Bench& bench, Search& s) {
  if (bench.calibration.empty()) return s.skip("static: the entry has no quant_calibration_set");
  s.stage("static");
  for (CalibrationMethod m : o.methods)
    for (bool pc : o.per_channel)
      for (ActivationFormat a : o.activations) {
        TuneRecipe r;
        r.mode = QuantMode::kStatic;
        r.method = m;
        r.per_channel = pc;
        r.activations = a;
        s.run(r);
      }
}

void try_qat(const TuneOptions& o, const Bench& bench, Search& s, const TuneResult& result) {
  if (!o.qat) return s.skip("qat: not asked for (--no-qat)");
  if (!o.qat_trainer) return s.skip("qat: this tinyq was built without QAT (TINYQ_WITH_QAT, libtorch)");
  if (bench.train_set.empty()) return s.skip("qat: the entry has no train_set");
  s.stage("qat");
  // Training starts from static calibration: the best static settings, if static was measured.
  TuneRecipe r;
  if (auto best = s.best_of(QuantMode::kStatic)) r = result.trials[*best].recipe;
  r.mode = QuantMode::kQat;
  r.fp32_nodes.clear();
  s.run(r);
}

// Keeps the worst layer in fp32, one more per round, on the best dynamic and static candidates.
void try_fp32_layers(const TuneOptions& o, Search& s, const TuneResult& result) {
  struct Branch {
    size_t trial;
    bool active = true;
  };
  std::vector<Branch> branches;
  for (QuantMode m : {QuantMode::kDynamic, QuantMode::kStatic})
    if (auto best = s.best_of(m)) branches.push_back({*best});
  if (branches.empty()) return s.skip("fp32 layers: no candidate was measured to start from");
  s.stage("fp32 layers");
  for (int round = 0; round < o.max_fp32_layers && !s.any_qualifies(); ++round) {
    s.plan(static_cast<int>(branches.size()));
    bool any_active = false;
    for (Branch& b : branches) {
      if (!b.active) continue;
      const TuneTrial& t = result.trials[b.trial];
      // More fp32 layers never make a candidate faster.
      if (t.meets_budget && !t.faster && !o.allow_slower) {
        b.active = false;
        continue;
      }
      auto worst = s.worst_layer(b.trial);
      if (!worst.is_ok() || !worst->has_value()) {
        s.skip("fp32 layers after " + tune::recipe_label(t.recipe) + ": " +
               (worst.is_ok() ? std::string("no quantised layer left") : worst.status().message()));
        b.active = false;
        continue;
      }
      TuneRecipe r = t.recipe;
      r.fp32_nodes.push_back((*worst)->first);
      size_t i = s.run(r, "kept " + (*worst)->first + " in fp32 (SQNR " + fmt("%.1f", (*worst)->second) + " dB)");
      b.trial = i;
      b.active = result.trials[i].outcome == TuneTrial::Outcome::kMeasured;
      any_active = any_active || b.active;
    }
    if (!any_active) break;
  }
}

std::optional<size_t> choose(const TuneResult& result, const Search& s) {
  std::optional<size_t> best;
  for (size_t i = 0; i < result.trials.size(); ++i) {
    const TuneTrial& t = result.trials[i];
    if (!s.qualifies(t)) continue;
    if (!best) {
      best = i;
      continue;
    }
    const TuneTrial& b = result.trials[*best];
    const int rt = mode_rank(t.recipe.mode), rb = mode_rank(b.recipe.mode);
    if (rt < rb || (rt == rb && t.drop < b.drop)) best = i;
  }
  return best;
}

std::string mode_word(QuantMode m) { return quant_mode_name(m); }

// "(dynamic: drop 0.0071 but 1.08x slower)": why each cheaper mode lost.
std::string cheaper_modes(const TuneResult& result, const Search& s, QuantMode chosen) {
  std::string out;
  for (QuantMode m : {QuantMode::kDynamic, QuantMode::kStatic}) {
    if (mode_rank(m) >= mode_rank(chosen)) break;
    auto best = s.best_of(m);
    if (!best) continue;
    const TuneTrial& t = result.trials[*best];
    std::string why = t.meets_budget ? "but " + fmt("%.2f", t.latency_ratio) + "x fp32 latency" : "> budget";
    out += (out.empty() ? "" : "; ") + mode_word(m) + ": drop " + fmt("%.3g", t.drop) + " " + why;
  }
  return out.empty() ? "" : " (" + out + ")";
}

std::string no_choice_reason(const TuneResult& result, const TuneOptions& o) {
  std::string out = "no candidate meets the budget " + fmt("%g", result.budget) + (o.allow_slower ? "" : " and is faster than fp32");
  std::optional<size_t> best;
  for (size_t i = 0; i < result.trials.size(); ++i) {
    const TuneTrial& t = result.trials[i];
    if (t.outcome != TuneTrial::Outcome::kMeasured || std::isnan(t.drop)) continue;
    if (!best || t.drop < result.trials[*best].drop) best = i;
  }
  if (best) {
    const TuneTrial& t = result.trials[*best];
    out += ": the smallest drop was " + fmt("%.3g", t.drop) + " (" + tune::recipe_label(t.recipe) + ", " +
           fmt("%.2f", t.latency_ratio) + "x fp32 latency)";
  } else {
    out += ": no candidate could be measured";
  }
  return out + "; the registry is unchanged";
}

Result<Bench> prepare_bench(const Registry& reg, const RegistryEntry& e, const TuneOptions& o, double budget) {
  Bench b;
  b.budget = budget;
  b.session = o.loader.session;
  b.qat = &o.qat_trainer;
  b.qat_epochs = o.qat_epochs;
  auto reference = parse_gate_reference(e.quant_gate_reference);
  if (!reference.is_ok()) return reference.status().with_context("model '" + e.id + "'");
  b.reference = *reference;
  if (!e.quant_calibration_set.empty()) {
    auto cal = reg.resolve(e.quant_calibration_set);
    if (!cal.is_ok()) return cal.status().with_context("model '" + e.id + "' quant_calibration_set");
    b.calibration = *cal;
  }
  if (!e.train_set.empty()) {
    auto train = reg.resolve(e.train_set);
    if (!train.is_ok()) return train.status().with_context("model '" + e.id + "' train_set");
    b.train_set = *train;
  }
  return b;
}

}  // namespace

Result<TuneResult> tune_registered(const std::string& registry_path, const std::string& id, const TuneOptions& options) {
  if (options.methods.empty() || options.activations.empty() || options.per_channel.empty())
    return Status::invalid_argument("tune needs at least one calibration method, activation format and weight granularity");
  if (options.max_fp32_layers < 0)
    return Status::invalid_argument("max_fp32_layers is " + std::to_string(options.max_fp32_layers) + "; it cannot be negative");
  if (options.budget) TINYQ_RETURN_IF_ERROR(check_budget(*options.budget, "the budget"));
  if (options.write) TINYQ_RETURN_IF_ERROR(recover_registry_writes(registry_path));
  TINYQ_ASSIGN_OR_RETURN(Registry reg, Registry::read(registry_path));
  TINYQ_RETURN_IF_ERROR(check_registry(reg));
  const RegistryEntry* e = reg.find(id);
  if (!e) return Status::not_found("'" + registry_path + "' has no model '" + id + "' (models: " + list_ids(reg) + ")");
  const std::string who = "model '" + id + "'";

  TuneResult result;
  result.registry = registry_path;
  result.id = id;
  result.budget = options.budget.value_or(e->quant_accuracy_budget_plcc);
  if (!options.budget) TINYQ_RETURN_IF_ERROR(check_budget(result.budget, who + "'s quant_accuracy_budget_plcc"));
  if (e->fixtures.empty())
    return Status::invalid_argument(who + " names no fixture set (registry field " + e->pointer +
                                    "/fixtures); tune measures candidates on real inputs only");

  VerifiedFile fp32_file;
  TINYQ_ASSIGN_OR_RETURN(ir::Model fp32_ir, load_registered_model(reg, id, RegisteredFile::kFp32, options.loader, &fp32_file));
  TINYQ_ASSIGN_OR_RETURN(auto fp32, Session::from_ir(fp32_ir, fp32_file.file, options.loader.session));
  TINYQ_ASSIGN_OR_RETURN(Bench bench, prepare_bench(reg, *e, options, result.budget));
  bench.fp32_path = fp32_file.file;
  bench.fp32 = fp32.get();
  auto fixtures_path = reg.resolve(e->fixtures);
  if (!fixtures_path.is_ok()) return fixtures_path.status().with_context(who + " fixtures");
  auto fixtures = load_fixtures(*fixtures_path, *fp32);
  if (!fixtures.is_ok()) return fixtures.status().with_context(who);
  bench.fixtures = &*fixtures;
  // The calibration set must fit the model as the fixtures do; a bad one is the user's error,
  // not a candidate that fails sixteen times.
  if (!bench.calibration.empty())
    if (auto cal = load_fixtures(bench.calibration, *fp32); !cal.is_ok())
      return cal.status().with_context(who + " quant_calibration_set");

  TINYQ_ASSIGN_OR_RETURN(tune::WorkDir work, tune::WorkDir::create());
  Search s(options, bench, work, fp32_ir, result);
  const int statics = bench.calibration.empty() ? 0 : static_cast<int>(options.methods.size() * options.per_channel.size() * options.activations.size());
  const bool qat_possible = options.qat && options.qat_trainer && !bench.train_set.empty();
  s.plan(static_cast<int>(options.per_channel.size()) + statics + (qat_possible ? 1 : 0));

  try_dynamic(options, s);
  const std::string cheaper_qualified = "a cheaper mode already meets the budget";
  if (options.try_all || !s.any_qualifies()) try_static(options, bench, s);
  else s.skip("static: " + cheaper_qualified);
  if (options.try_all || !s.any_qualifies()) try_qat(options, bench, s, result);
  else s.skip("qat: " + cheaper_qualified);
  if (!s.any_qualifies() && options.max_fp32_layers > 0) try_fp32_layers(options, s, result);

  result.chosen = choose(result, s);
  if (!result.chosen) {
    result.reason = no_choice_reason(result, options);
    return result;
  }
  const TuneTrial& t = result.trials[*result.chosen];
  TINYQ_ASSIGN_OR_RETURN(std::string recipe, tune_recipe_text(t.recipe));
  const std::string segment = std::string(tune::kNotesMarker) + recipe + "; drop " + fmt("%.3g", t.drop) + " <= budget " +
                              fmt("%g", result.budget) + ", " + fmt("%.2f", t.latency_ratio) + "x fp32 latency";
  const std::string detail = cheaper_modes(result, s, t.recipe.mode);
  result.reason = segment.substr(tune::kNotesMarker.size()) + detail;
  TINYQ_ASSIGN_OR_RETURN(result.notes, tune::compose_notes(e->notes, segment, detail));
  if (!options.write) return result;
  TINYQ_ASSIGN_OR_RETURN(std::string bytes, util::read_file(s.file(*result.chosen)));
  EntryUpdate update;
  update.quant_mode = t.recipe.mode;
  update.notes = result.notes;
  TINYQ_ASSIGN_OR_RETURN(result.artefact, write_registry_entry(registry_path, id, bytes, update));
  result.written = true;
  return result;
}

}  // namespace tinyq
