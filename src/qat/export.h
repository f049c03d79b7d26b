// From a trained state to what QAT hands out: the QDQ model, and how far it strays from fp32.
#pragma once

#include "ir/graph.h"
#include "qat/qat_model.h"
#include "quant/plan.h"
#include "tinyq/gate.h"
#include "tinyq/session.h"
#include "tinyq/status.h"

namespace tinyq::qat {

// The QDQ file of a trained state. The trained weights and biases replace the model's own
// initializers (biases too, which write_qdq's weight_overrides do not cover); write_qdq then
// rounds the weights with the learned scales (or max|w| / 127) and uses the trained activation
// parameters, so the file computes what the fake-quantised forward pass computed.
Result<ir::Model> export_qdq(const ir::Model& fp32, const quant::QuantPlan& plan, const TrainedState& state);

// 1 - PLCC(int8, fp32) over every row of `set`, each row run on its own; the worst output's
// (NaN when any output's is).
Result<double> plcc_drop(Session& fp32, Session& int8, const FixtureSet& set);

}  // namespace tinyq::qat
