// Names shared by the recipe text and the reports.
#pragma once

#include <string>

#include "tinyq/tune.h"

namespace tinyq::tune {

const char* method_name(CalibrationMethod method);        // "minmax", "percentile", "entropy", "mse"
const char* activation_name(ActivationFormat activations);  // "u8", "s8"
// tune_recipe_text(), or "?" for a recipe that cannot be written (for messages and reports).
std::string recipe_label(const TuneRecipe& recipe);

}  // namespace tinyq::tune
