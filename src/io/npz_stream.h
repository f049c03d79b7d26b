// Streaming .npz reading: lists an archive's arrays from their headers alone and reads row ranges
// (axis 0) without loading whole arrays, so a calibration set of any size costs one batch of memory.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tinyq/status.h"
#include "tinyq/tensor.h"

namespace tinyq::io {

struct NpzArrayInfo {
  std::string name;  // archive entry name without ".npy"
  DType dtype = DType::kUndefined;
  Shape shape;
  bool compressed = false;  // deflated (np.savez_compressed): read forward; going back restarts it
};

// An open .npz archive (np.savez or np.savez_compressed). Stored entries are read by offset;
// deflated ones are decompressed forward from the last read, so read them in increasing row order.
// Not thread-safe: one reader per thread. Errors name the file and the array.
class NpzReader {
 public:
  // Opens the archive and parses every entry's npy header (no array data is read).
  static Result<NpzReader> open(const std::string& path);
  NpzReader(NpzReader&&) noexcept;
  NpzReader& operator=(NpzReader&&) noexcept;
  ~NpzReader();

  const std::string& path() const;
  // Every array, in archive order.
  const std::vector<NpzArrayInfo>& arrays() const;
  // The array called `name`, or nullptr.
  const NpzArrayInfo* find(const std::string& name) const;
  // Rows [begin, begin + count) of `name` along axis 0: a tensor shaped [count, shape[1:]...].
  // kNotFound for an unknown array; kInvalidArgument for a rank-0 array or rows out of range.
  Result<Tensor> read_rows(const std::string& name, int64_t begin, int64_t count);

  struct Impl;

 private:
  explicit NpzReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tinyq::io
