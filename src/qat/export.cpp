#include "qat/export.h"

#include "quant/plan.h"

namespace tinyq::qat {

Result<ir::Model> export_qdq(const ir::Model& fp32, const quant::QuantPlan& plan, const TrainedState& state) {
  ir::Model trained = fp32;  // tensors are shared; only the map entries below are replaced
  for (const auto& [name, value] : state.initializers) {
    auto it = trained.graph.initializers.find(name);
    if (it == trained.graph.initializers.end()) return Status::internal("trained initializer '" + name + "' is not in the model");
    if (it->second.shape() != value.shape())
      return Status::internal("trained initializer '" + name + "' changed shape");
    it->second = value;
  }
  quant::QdqParams params;
  params.activations = state.activations;
  params.weight_scales = state.weight_scales;
  params.rounding = quant::QdqParams::Rounding::kNearest;  // as the fake quantisation rounded
  return quant::write_qdq(trained, plan, params);
}

Result<double> plcc_drop(Session& fp32, Session& int8, const FixtureSet& set) {
  EvaluateOptions options;
  options.reference = GateReference::kFp32;
  options.bootstrap_resamples = 0;
  TINYQ_ASSIGN_OR_RETURN(PairMetrics m, evaluate_pair(fp32, int8, set, options));
  double worst = 0.0;
  for (const auto& o : m.outputs)
    if (!(o.drop_fp32 <= worst)) worst = o.drop_fp32;  // a NaN drop wins
  return worst;
}

}  // namespace tinyq::qat
