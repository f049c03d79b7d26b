// Replays inputs through a fuzz entry point without libFuzzer, with any compiler:
//   tinyq_fuzz_replay TARGET PATH...   (a PATH that is a folder replays every file under it)
// Exit 0 when every input returned; a crash or sanitizer report ends the process. This is how
// fuzz/regressions/ runs as part of the normal test suite.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_entries.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TARGET PATH...\ntargets:", argv[0]);
    for (const auto& e : tinyq::fuzz::kEntries) std::fprintf(stderr, " %s", e.name);
    std::fprintf(stderr, "\n");
    return 2;
  }
  const tinyq::fuzz::Entry* entry = nullptr;
  for (const auto& e : tinyq::fuzz::kEntries)
    if (std::strcmp(e.name, argv[1]) == 0) entry = &e;
  if (!entry) {
    std::fprintf(stderr, "unknown fuzz target '%s'\n", argv[1]);
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 2; i < argc; ++i) {
    std::error_code ec;
    if (fs::is_directory(argv[i], ec)) {
      for (const auto& f : fs::recursive_directory_iterator(argv[i]))
        if (f.is_regular_file()) files.push_back(f.path());
    } else if (fs::is_regular_file(argv[i], ec)) {
      files.push_back(argv[i]);
    } else {
      std::fprintf(stderr, "no such file or folder: %s\n", argv[i]);
      return 2;
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::printf("%s: %s (%zu bytes)\n", entry->name, f.c_str(), bytes.size());
    std::fflush(stdout);
    entry->run(bytes.data(), bytes.size());
  }
  std::printf("%s: %zu inputs replayed\n", entry->name, files.size());
  return 0;
}
