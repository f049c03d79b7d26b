// Inline SVG for the audit report: a scatter plot of fp32 (x) against int8 (y) values with the
// y = x diagonal. Plain text out, no external resources, so the report stays self-contained
// (no xmlns either: inline SVG in HTML5 and Markdown needs none).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace tinyq::gate {

// Text made safe for XML/HTML element content and attribute values.
std::string xml_escape(std::string_view text);

// At most `max_points` points, taken evenly (every k-th value) when there are more, so an image
// output of millions of values stays a few hundred KB. x and y have the same length.
std::string scatter_svg(std::span<const float> x, std::span<const float> y, int max_points, const std::string& title,
                        const std::string& x_label, const std::string& y_label);

}  // namespace tinyq::gate
