// Taps: expose internal tensors of a model as extra graph outputs, so a Session returns them
// (calibration observes them; the audit compares them). The model itself is never modified.
#pragma once

#include <span>
#include <string>

#include "ir/graph.h"
#include "tinyq/status.h"

namespace tinyq::quant {

// A copy of `model` whose graph also outputs every tensor in `names`, appended in the order given
// after the model's own outputs (names already outputs, or repeated, are not added twice). A name
// may be a graph input or a value produced by a node; an initializer, or a name nothing produces,
// is an error naming the tensor. Declared dtype/shape come from the graph's value_info or inputs
// when present, else they are left undeclared (the runtime infers them).
Result<ir::Model> expose_tensors(const ir::Model& model, std::span<const std::string> names);

}  // namespace tinyq::quant
