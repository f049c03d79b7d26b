// Shared by the CLI's end-to-end tests: runs the built tinyq binary and captures its output.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace tinyq::cli::testing {

struct Outcome {
  int code;
  std::string output;  // stdout and stderr together
};

// Runs `tinyq ARGS` through the shell; code is the exit status, -1 when it did not exit.
inline Outcome run_cli(const std::string& args) {
  std::string cmd = std::string(TINYQ_CLI) + " " + args + " 2>&1";
  Outcome out{-1, ""};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.output.append(buf.data(), n);
  int status = pclose(p);
  out.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// The shared zoo: $TINYQ_SHARED_DIR/zoo, or ../shared/zoo beside the source tree.
inline std::filesystem::path zoo_dir() {
  if (const char* env = std::getenv("TINYQ_SHARED_DIR"); env && *env) return std::filesystem::path(env) / "zoo";
  return std::filesystem::path(TINYQ_SOURCE_DIR) / ".." / "shared" / "zoo";
}

}  // namespace tinyq::cli::testing
