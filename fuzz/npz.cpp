#include <algorithm>
#include <fstream>

#include "fuzz_entries.h"
#include "io/npy.h"
#include "io/npz_stream.h"

namespace tinyq::fuzz {

namespace {

// Rows a streamed read asks for: the first two and the last, as a calibration pass would.
void read_some_rows(io::NpzReader& reader) {
  for (const io::NpzArrayInfo& a : reader.arrays()) {
    if (a.shape.empty()) continue;
    const int64_t rows = a.shape[0];
    (void)reader.read_rows(a.name, 0, std::min<int64_t>(rows, 2));
    if (rows > 2) (void)reader.read_rows(a.name, rows - 1, 1);
  }
}

}  // namespace

int npz(const uint8_t* data, size_t size) {
  auto npy = io::parse_npy(data, size, "fuzz.npy");
  (void)npy;
  // The .npz readers go through libzip from a path, so the bytes go to a scratch file first.
  const std::string path = scratch_dir() + "/fuzz.npz";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto arrays = io::read_npz(path);
  (void)arrays;
  auto reader = io::NpzReader::open(path);
  if (reader.is_ok()) read_some_rows(*reader);
  return 0;
}

}  // namespace tinyq::fuzz
