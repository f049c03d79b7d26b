#include <fstream>

#include "fuzz_entries.h"
#include "io/npy.h"

namespace tinyq::fuzz {

int npz(const uint8_t* data, size_t size) {
  auto npy = io::parse_npy(data, size, "fuzz.npy");
  (void)npy;
  // read_npz reads through libzip from a path, so the bytes go to a scratch file first.
  const std::string path = scratch_dir() + "/fuzz.npz";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto arrays = io::read_npz(path);
  (void)arrays;
  return 0;
}

}  // namespace tinyq::fuzz
