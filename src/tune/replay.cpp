// replay_tuned(): the artefact tune chose, made again from the recipe in the entry's notes.
#include "ir/graph.h"
#include "tinyq/tune.h"
#include "tune/candidate.h"
#include "tune/work_dir.h"
#include "util/file.h"

namespace tinyq {

Result<ReplayResult> replay_tuned(const std::string& registry_path, const std::string& id, const ReplayOptions& options) {
  TINYQ_RETURN_IF_ERROR(recover_registry_writes(registry_path));
  TINYQ_ASSIGN_OR_RETURN(Registry reg, Registry::load(registry_path));
  const RegistryEntry* e = reg.find(id);
  if (!e) return Status::not_found("'" + registry_path + "' has no model '" + id + "'");
  const std::string who = "model '" + id + "'";
  auto recipe = recorded_tune_recipe(e->notes);
  if (!recipe.is_ok())
    return Status::invalid_argument(who + ": " + recipe.status().message() + " in its notes; run `tinyq tune` first");
  if (recipe->mode != e->quant_mode)
    return Status::invalid_argument(who + " has quant_mode " + quant_mode_name(e->quant_mode) + " but its notes record a " +
                                    quant_mode_name(recipe->mode) + " recipe; run `tinyq tune` again");

  VerifiedFile fp32_file;
  TINYQ_ASSIGN_OR_RETURN(ir::Model fp32_ir, load_registered_model(reg, id, RegisteredFile::kFp32, options.loader, &fp32_file));
  (void)fp32_ir;  // parsed only to check the file; the quantisers read it by path
  tune::Bench bench;
  bench.fp32_path = fp32_file.file;
  bench.qat = &options.qat_trainer;
  bench.qat_epochs = options.qat_epochs;
  if (!e->quant_calibration_set.empty()) {
    TINYQ_ASSIGN_OR_RETURN(bench.calibration, reg.resolve(e->quant_calibration_set));
  }
  if (!e->train_set.empty()) {
    TINYQ_ASSIGN_OR_RETURN(bench.train_set, reg.resolve(e->train_set));
  }

  TINYQ_ASSIGN_OR_RETURN(tune::WorkDir work, tune::WorkDir::create());
  const std::string file = work.file("replay.int8.onnx");
  TINYQ_RETURN_IF_ERROR(tune::make_candidate(bench, *recipe, file, nullptr, {}).with_context(who));
  TINYQ_ASSIGN_OR_RETURN(std::string bytes, util::read_file(file));
  ReplayResult out;
  out.recipe = *recipe;
  out.previous_sha256 = e->int8_sha256;
  out.sha256 = sha256_hex(bytes.data(), bytes.size());
  EntryUpdate keep;
  keep.quant_mode = e->quant_mode;
  keep.notes = e->notes;
  TINYQ_ASSIGN_OR_RETURN(out.artefact, write_registry_entry(registry_path, id, bytes, keep));
  return out;
}

}  // namespace tinyq
