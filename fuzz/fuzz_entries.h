// Fuzz entry points: one function per untrusted input format tinyq reads. Each takes arbitrary
// bytes and must return normally (0) whatever they hold: any crash, sanitizer report, leak or
// hang is a bug. libFuzzer drives them (libfuzzer_main.cpp, clang, TINYQ_FUZZ=ON); the
// regression replay (replay_main.cpp) runs them with any compiler over fuzz/regressions/<name>/.
//
// How to add a target: write fuzz/<name>.cpp defining tinyq::fuzz::<name>, declare it here, add
// it to kEntries and to TINYQ_FUZZ_TARGETS in fuzz/CMakeLists.txt, and seed it in make-corpus.sh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace tinyq::fuzz {

// Model bytes: parse, open a Session under small limits, plan at a small fixed shape per graph
// input (symbolic dimensions at 1) and run once on zeros.
int onnx_load(const uint8_t* data, size_t size);
// Registry text: Registry::parse, `registry validate` on it as a file in a scratch folder, and
// open_registered for every entry.
int registry(const uint8_t* data, size_t size);
// .npy and .npz bytes: parse_npy from memory; read_npz and the streaming NpzReader (a few rows of
// every array) from a scratch file.
int npz(const uint8_t* data, size_t size);

struct Entry {
  const char* name;
  int (*run)(const uint8_t* data, size_t size);
};
inline constexpr Entry kEntries[] = {{"onnx_load", onnx_load}, {"registry", registry}, {"npz", npz}};

// A folder of this process's own under the system temp folder, removed at exit; entries that
// need a file (read_npz, validate_registry) write theirs there.
const std::string& scratch_dir();

}  // namespace tinyq::fuzz
