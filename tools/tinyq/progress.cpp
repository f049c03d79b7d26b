#include "progress.h"

#include <unistd.h>

#include <algorithm>

namespace tinyq::cli {

namespace {
// Cells in the bar itself.
constexpr int kBarCells = 30;
}  // namespace

ProgressBar::ProgressBar(std::string label) : ProgressBar(std::move(label), stderr, ::isatty(STDERR_FILENO) == 1) {}

ProgressBar::ProgressBar(std::string label, std::FILE* out, bool enabled)
    : label_(std::move(label)), out_(out), enabled_(enabled && out != nullptr) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(int64_t done, int64_t total, std::string_view detail) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool last = total > 0 && done >= total;
  if (drawn_ > 0 && !last && now - last_ < kRedrawInterval) return;
  last_ = now;
  const double frac = total > 0 ? std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0) : 0.0;
  const int filled = static_cast<int>(frac * kBarCells);
  std::string line = label_ + " [" + std::string(static_cast<size_t>(filled), '#') +
                     std::string(static_cast<size_t>(kBarCells - filled), '.') + "] " +
                     std::to_string(static_cast<int>(frac * 100.0)) + "% (" + std::to_string(done) + "/" +
                     std::to_string(total) + ")";
  if (!detail.empty()) {
    line += ' ';
    line.append(detail);
  }
  // Pad over a longer previous line so no stale characters remain.
  const size_t width = line.size();
  if (width < drawn_) line.append(drawn_ - width, ' ');
  std::fprintf(out_, "\r%s", line.c_str());
  std::fflush(out_);
  drawn_ = width;
}

void ProgressBar::finish() {
  if (!enabled_ || drawn_ == 0) return;
  std::fprintf(out_, "\r%s\r", std::string(drawn_, ' ').c_str());
  std::fflush(out_);
  drawn_ = 0;
}

}  // namespace tinyq::cli
