// A one-line progress bar for long CLI steps (calibration). It draws on stderr only when stderr is
// a terminal, redraws at most every kRedrawInterval, and erases itself when finished: logs,
// pipes and tests see nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace tinyq::cli {

class ProgressBar {
 public:
  // Redraws closer together than this are skipped (the final one never is).
  static constexpr std::chrono::milliseconds kRedrawInterval{100};

  // Draws on stderr when it is a TTY.
  explicit ProgressBar(std::string label);
  // Draws on `out` when `enabled` (for tests and callers that decide themselves).
  ProgressBar(std::string label, std::FILE* out, bool enabled);
  ~ProgressBar();  // finish()
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `done` of `total` units; `detail` (e.g. "pass 2/2") follows the counts.
  void update(int64_t done, int64_t total, std::string_view detail = {});
  // Erases the bar; later updates draw it again.
  void finish();
  bool enabled() const { return enabled_; }

 private:
  std::string label_;
  std::FILE* out_;
  bool enabled_;
  size_t drawn_ = 0;  // characters on the line now
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace tinyq::cli
