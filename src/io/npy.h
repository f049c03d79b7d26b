// numpy .npy / .npz reading and writing: the data-set format of the CLI and the zoo.
// Supported: npy versions 1.0-3.0, little-endian f4 f8 i1 u1 i2 u2 i4 i8 b1, C order, any rank.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tinyq/status.h"
#include "tinyq/tensor.h"

namespace tinyq::io {

// Named arrays in archive order; names carry no ".npy" suffix.
using NamedArrays = std::vector<std::pair<std::string, Tensor>>;

// Reads one .npy file. Errors name the file and say what is wrong (dtype, order, truncation...).
Result<Tensor> read_npy(const std::string& path);
// Parses .npy bytes held in memory; `display_name` prefixes every error message.
Result<Tensor> parse_npy(const void* data, size_t size, const std::string& display_name);
// What an .npy header says: element type, shape, and where and how long the data is.
struct NpyHeaderInfo {
  DType dtype = DType::kUndefined;
  Shape shape;
  size_t data_offset = 0;  // bytes from the start of the file to the first element
  uint64_t data_bytes = 0;  // numel * item size
};
// Parses the header at the start of `data`, which may be just a prefix of the file (the data need
// not be there); errors are parse_npy's. For readers that stream the data (io/npz_stream.h).
Result<NpyHeaderInfo> parse_npy_header(const void* data, size_t size, const std::string& display_name);
// Serialises a tensor exactly as numpy's np.save does (version 1.0, or 2.0 for huge headers).
Result<std::string> serialize_npy(const Tensor& t);

// Reads every array of an .npz archive (np.savez or np.savez_compressed), in archive order.
Result<NamedArrays> read_npz(const std::string& path);

// Crash-safe writers: the bytes go to a temp file in the same folder, are fsync'ed, then renamed
// over `path`; on failure the temp file is removed and an existing `path` is left untouched.
Status write_npy(const std::string& path, const Tensor& t);
// Writes an uncompressed (ZIP_STORED) archive, one "<name>.npy" entry per array; names must be
// unique and non-empty.
Status write_npz(const std::string& path, const NamedArrays& arrays);

}  // namespace tinyq::io
