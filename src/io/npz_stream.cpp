#include "io/npz_stream.h"

#include <zip.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <new>
#include <set>
#include <string_view>

#include "io/npy.h"

namespace tinyq::io {

namespace {

// An npy header is at most npy.cpp's 64 KiB limit plus magic, version and length: reading this
// much of an entry always holds the whole header (or the length field that the parser refuses).
constexpr size_t kHeaderProbeBytes = 65536 + 16;
// Forward skips in a deflated entry decompress into a buffer of this size.
constexpr size_t kSkipChunk = size_t{1} << 16;
constexpr std::string_view kNpySuffix = ".npy";

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileClose>;

std::string in_quotes(std::string_view s) {
  std::string out(1, '\'');
  out.append(s);
  out += '\'';
  return out;
}

Status open_error(const std::string& path, int code) {
  zip_error_t err;
  zip_error_init_with_code(&err, code);
  const std::string text = zip_error_strerror(&err);
  zip_error_fini(&err);
  if (code == ZIP_ER_NOENT) return Status::not_found(path + ": no such file");
  if (code == ZIP_ER_OPEN || code == ZIP_ER_READ) return Status::io_error(path + ": cannot read: " + text);
  return Status::corrupt(path + ": not a readable npz archive: " + text);
}

}  // namespace

// One array's entry and the read cursor into its (uncompressed) bytes.
struct Entry {
  zip_uint64_t index = 0;
  size_t data_offset = 0;  // where the array data starts in the entry's bytes
  uint64_t row_bytes = 0;
  ZipFilePtr file;         // opened on first read
  uint64_t pos = 0;        // next byte `file` yields
};

struct NpzReader::Impl {
  std::string path;
  ZipPtr za;
  std::vector<NpzArrayInfo> arrays;
  std::vector<Entry> entries;  // parallel to arrays
  std::vector<unsigned char> skip;

  std::string where(size_t i) const { return path + ": array " + in_quotes(arrays[i].name); }

  Status reopen(size_t i) {
    Entry& e = entries[i];
    e.file.reset(zip_fopen_index(za.get(), e.index, 0));
    e.pos = 0;
    if (!e.file) return Status::corrupt(where(i) + ": cannot open the entry: " + zip_strerror(za.get()));
    return Status::ok();
  }

  // Reads exactly n bytes; short data is a truncated entry.
  Status read_exact(size_t i, void* dst, uint64_t n) {
    Entry& e = entries[i];
    auto* out = static_cast<unsigned char*>(dst);
    uint64_t got = 0;
    while (got < n) {
      zip_int64_t r = zip_fread(e.file.get(), out + got, n - got);
      if (r < 0) return Status::corrupt(where(i) + ": cannot read the entry: " + zip_file_strerror(e.file.get()));
      if (r == 0) return Status::corrupt(where(i) + ": entry is truncated at byte " + std::to_string(e.pos));
      got += static_cast<uint64_t>(r);
      e.pos += static_cast<uint64_t>(r);
    }
    return Status::ok();
  }

  // Positions entry i's cursor at `offset`: a seek where libzip can (stored entries), else a
  // forward read, restarting the entry when the offset lies behind the cursor.
  Status seek(size_t i, uint64_t offset) {
    Entry& e = entries[i];
    if (!e.file) TINYQ_RETURN_IF_ERROR(reopen(i));
    if (e.pos == offset) return Status::ok();
    if (!arrays[i].compressed) {
      if (zip_fseek(e.file.get(), static_cast<zip_int64_t>(offset), SEEK_SET) == 0) {
        e.pos = offset;
        return Status::ok();
      }
      TINYQ_RETURN_IF_ERROR(reopen(i));  // a failed seek leaves the file in an error state
    }
    if (offset < e.pos) TINYQ_RETURN_IF_ERROR(reopen(i));
    skip.resize(kSkipChunk);
    while (e.pos < offset) TINYQ_RETURN_IF_ERROR(read_exact(i, skip.data(), std::min<uint64_t>(kSkipChunk, offset - e.pos)));
    return Status::ok();
  }

  // Lists entry `index`: name, npy header, and a size check against the header.
  Status add_entry(zip_uint64_t index, std::set<std::string>& seen) {
    zip_stat_t st;
    if (zip_stat_index(za.get(), index, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) || !(st.valid & ZIP_STAT_SIZE))
      return Status::corrupt(path + ": cannot read entry " + std::to_string(index) + ": " + zip_strerror(za.get()));
    const std::string entry = st.name;
    if (!entry.empty() && entry.back() == '/') return Status::ok();  // a folder record carries no array
    if (entry.size() <= kNpySuffix.size() || !entry.ends_with(kNpySuffix))
      return Status::corrupt(path + ": entry " + in_quotes(entry) + " is not an .npy array");
    NpzArrayInfo info;
    info.name = entry.substr(0, entry.size() - kNpySuffix.size());
    if (!seen.insert(info.name).second) return Status::corrupt(path + ": array " + in_quotes(info.name) + " appears twice");
    info.compressed = (st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method != ZIP_CM_STORE;
    arrays.push_back(info);
    entries.emplace_back().index = index;
    const size_t i = arrays.size() - 1;

    TINYQ_RETURN_IF_ERROR(reopen(i));
    std::vector<unsigned char> probe(static_cast<size_t>(std::min<zip_uint64_t>(st.size, kHeaderProbeBytes)));
    TINYQ_RETURN_IF_ERROR(read_exact(i, probe.data(), probe.size()));
    TINYQ_ASSIGN_OR_RETURN(NpyHeaderInfo h, parse_npy_header(probe.data(), probe.size(), where(i)));
    if (st.size != h.data_offset + h.data_bytes)
      return Status::corrupt(where(i) + ": entry holds " + std::to_string(st.size - std::min<uint64_t>(st.size, h.data_offset)) +
                             " data bytes; " + dtype_name(h.dtype) + " " + shape_str(h.shape) + " needs " +
                             std::to_string(h.data_bytes));
    arrays[i].dtype = h.dtype;
    arrays[i].shape = h.shape;
    entries[i].data_offset = h.data_offset;
    entries[i].row_bytes = h.shape.empty() || h.shape[0] == 0 ? 0 : h.data_bytes / static_cast<uint64_t>(h.shape[0]);
    // Deflated entries keep their cursor (reads usually start at row 0); stored ones seek anyway.
    return Status::ok();
  }
};

NpzReader::NpzReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NpzReader::NpzReader(NpzReader&&) noexcept = default;
NpzReader& NpzReader::operator=(NpzReader&&) noexcept = default;
NpzReader::~NpzReader() = default;

Result<NpzReader> NpzReader::open(const std::string& path) {
  // libzip opens a 0-byte file as an empty archive; numpy (and read_npz) call it an error.
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec) && std::filesystem::file_size(path, ec) == 0 && !ec)
    return Status::corrupt(path + ": empty file (0 bytes), not an npz archive");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  int code = 0;
  impl->za.reset(zip_open(path.c_str(), ZIP_RDONLY, &code));
  if (!impl->za) return open_error(path, code);
  const zip_int64_t n = zip_get_num_entries(impl->za.get(), 0);
  if (n < 0) return Status::corrupt(path + ": cannot list the npz archive");
  std::set<std::string> seen;
  try {
    for (zip_int64_t i = 0; i < n; ++i) TINYQ_RETURN_IF_ERROR(impl->add_entry(static_cast<zip_uint64_t>(i), seen));
  } catch (const std::bad_alloc&) {
    return Status::limit(path + ": out of memory listing the npz archive");
  }
  return NpzReader(std::move(impl));
}

const std::string& NpzReader::path() const { return impl_->path; }
const std::vector<NpzArrayInfo>& NpzReader::arrays() const { return impl_->arrays; }

const NpzArrayInfo* NpzReader::find(const std::string& name) const {
  for (const auto& a : impl_->arrays)
    if (a.name == name) return &a;
  return nullptr;
}

Result<Tensor> NpzReader::read_rows(const std::string& name, int64_t begin, int64_t count) {
  Impl& im = *impl_;
  const NpzArrayInfo* info = find(name);
  if (!info) return Status::not_found(im.path + ": no array " + in_quotes(name));
  const size_t i = static_cast<size_t>(info - im.arrays.data());
  if (info->shape.empty()) return Status::invalid_argument(im.where(i) + " is a scalar (rank 0) and has no rows");
  const int64_t rows = info->shape[0];
  if (begin < 0 || count < 0 || begin > rows || count > rows - begin)
    return Status::invalid_argument(im.where(i) + " has " + std::to_string(rows) + " rows; rows [" +
                                    std::to_string(begin) + ", " + std::to_string(begin + count) + ") are out of range");
  Shape shape = info->shape;
  shape[0] = count;
  const Entry& e = im.entries[i];
  try {
    Tensor t(info->dtype, std::move(shape));
    if (t.nbytes() == 0) return t;
    TINYQ_RETURN_IF_ERROR(im.seek(i, e.data_offset + static_cast<uint64_t>(begin) * e.row_bytes));
    TINYQ_RETURN_IF_ERROR(im.read_exact(i, t.raw(), t.nbytes()));
    return t;
  } catch (const std::bad_alloc&) {
    return Status::limit(im.where(i) + ": out of memory reading " + std::to_string(count) + " rows");
  }
}

}  // namespace tinyq::io
