// One libFuzzer executable per entry point; TINYQ_FUZZ_TARGET names it (see fuzz/CMakeLists.txt).
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return tinyq::fuzz::TINYQ_FUZZ_TARGET(data, size);
}
