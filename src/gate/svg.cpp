#include "gate/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tinyq::gate {

namespace {

// Plot geometry in SVG user units: the canvas, and the margins that hold ticks and labels.
constexpr double kWidth = 420, kHeight = 420;
constexpr double kLeft = 64, kRight = 16, kTop = 32, kBottom = 52;
constexpr int kTicks = 5;           // tick marks per axis
constexpr double kPointRadius = 1.6;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string scatter_svg(std::span<const float> x, std::span<const float> y, int max_points, const std::string& title,
                        const std::string& x_label, const std::string& y_label) {
  const size_t n = std::min(x.size(), y.size());
  const size_t stride = max_points > 0 && n > static_cast<size_t>(max_points) ? (n + max_points - 1) / max_points : 1;
  // One range for both axes, so the diagonal is the 45-degree line and distance from it reads
  // the same in x and y.
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i += stride) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    lo = std::min({lo, static_cast<double>(x[i]), static_cast<double>(y[i])});
    hi = std::max({hi, static_cast<double>(x[i]), static_cast<double>(y[i])});
  }
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
  const double pad = (hi - lo) * 0.04;
  lo -= pad;
  hi += pad;
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto sx = [&](double v) { return kLeft + (v - lo) / (hi - lo) * pw; };
  auto sy = [&](double v) { return kTop + ph - (v - lo) / (hi - lo) * ph; };

  std::string s = "<svg class=\"scatter\" width=\"" + num(kWidth) + "\" height=\"" + num(kHeight) +
                  "\" viewBox=\"0 0 " + num(kWidth) + " " + num(kHeight) + "\" role=\"img\">\n";
  s += "<title>" + xml_escape(title) + "</title>\n";
  s += "<rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
       "\" fill=\"#fff\" stroke=\"#888\"/>\n";
  for (int t = 0; t <= kTicks; ++t) {
    double v = lo + (hi - lo) * t / kTicks;
    s += "<line x1=\"" + num(sx(v)) + "\" y1=\"" + num(kTop + ph) + "\" x2=\"" + num(sx(v)) + "\" y2=\"" + num(kTop + ph + 4) +
         "\" stroke=\"#888\"/>";
    s += "<text x=\"" + num(sx(v)) + "\" y=\"" + num(kTop + ph + 16) + "\" font-size=\"10\" text-anchor=\"middle\">" +
         tick_label(v) + "</text>";
    s += "<line x1=\"" + num(kLeft - 4) + "\" y1=\"" + num(sy(v)) + "\" x2=\"" + num(kLeft) + "\" y2=\"" + num(sy(v)) +
         "\" stroke=\"#888\"/>";
    s += "<text x=\"" + num(kLeft - 6) + "\" y=\"" + num(sy(v) + 3) + "\" font-size=\"10\" text-anchor=\"end\">" + tick_label(v) +
         "</text>\n";
  }
  s += "<line x1=\"" + num(sx(lo)) + "\" y1=\"" + num(sy(lo)) + "\" x2=\"" + num(sx(hi)) + "\" y2=\"" + num(sy(hi)) +
       "\" stroke=\"#c33\" stroke-dasharray=\"4 3\"/>\n";
  s += "<g fill=\"#1f5fa8\" fill-opacity=\"0.45\">";
  for (size_t i = 0; i < n; i += stride) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    s += "<circle cx=\"" + num(sx(x[i])) + "\" cy=\"" + num(sy(y[i])) + "\" r=\"" + num(kPointRadius) + "\"/>";
  }
  s += "</g>\n";
  s += "<text x=\"" + num(kWidth / 2) + "\" y=\"18\" font-size=\"12\" text-anchor=\"middle\">" + xml_escape(title) + "</text>\n";
  s += "<text x=\"" + num(kLeft + pw / 2) + "\" y=\"" + num(kHeight - 10) + "\" font-size=\"11\" text-anchor=\"middle\">" +
       xml_escape(x_label) + "</text>\n";
  s += "<text x=\"14\" y=\"" + num(kTop + ph / 2) + "\" font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 14 " +
       num(kTop + ph / 2) + ")\">" + xml_escape(y_label) + "</text>\n";
  s += "</svg>\n";
  return s;
}

}  // namespace tinyq::gate
