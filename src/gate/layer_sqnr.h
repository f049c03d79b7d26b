// Per-tensor SQNR of an int8 model against its fp32 original: which layer's output the
// quantisation disturbs most. Works on any pair of IR models whose shared tensor names mean the
// same values (quantisers keep the names of quantised nodes' outputs), so tinyq tune can use it
// to pick the layers to keep in fp32.
#pragma once

#include <vector>

#include "ir/graph.h"
#include "tinyq/gate.h"

namespace tinyq::gate {

// Names produced by nodes of both graphs (graph outputs included), in the fp32 graph's order.
std::vector<std::string> shared_tensors(const ir::Graph& fp32, const ir::Graph& int8);

// Runs both models as written (graph passes off, so every named tensor exists) over every
// fixture row, one row at a time, with the shared tensors exposed, and returns the SQNR of each
// one that is float32 in both. A shared tensor whose shape differs between the models is an
// error naming it.
Result<std::vector<LayerSqnr>> layer_sqnr(const ir::Model& fp32, const ir::Model& int8, const FixtureSet& fixtures,
                                          const SessionOptions& session = {});

}  // namespace tinyq::gate
