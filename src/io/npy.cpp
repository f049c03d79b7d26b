#include "io/npy.h"

#include <zip.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <new>
#include <optional>
#include <set>
#include <string_view>

#include "util/file.h"

namespace tinyq::io {

// Tensor bytes are copied verbatim into little-endian files.
static_assert(std::endian::native == std::endian::little, "npy I/O assumes a little-endian host");

namespace {

// "\x93NUMPY": the 6-byte magic every .npy file starts with.
constexpr std::string_view kMagic("\x93NUMPY", 6);
// Magic plus the major/minor version bytes.
constexpr size_t kMagicLen = kMagic.size() + 2;
// numpy pads the header so the data starts on a 64-byte boundary.
constexpr size_t kArrayAlign = 64;
// numpy leaves room for the first dimension to grow in place: len(str(8 * 2**64 - 1)).
constexpr size_t kGrowthAxisMaxDigits = 21;
// Longest header we parse; hostile files may declare up to 4 GiB. numpy's own reader stops at 10000.
constexpr uint32_t kMaxHeaderBytes = 65536;
// Largest header a version 1.0 file can describe (its length field is uint16).
constexpr size_t kMaxHeaderV1 = 65535;
// np.savez archives start with a zip local-file header.
constexpr std::string_view kZipMagic("PK\x03\x04", 4);
// Python pickles (what np.save writes for non-arrays) start with the PROTO opcode.
constexpr unsigned char kPickleProto = 0x80;
// An empty zip archive: the end-of-central-directory record alone ("PK\5\6" and 18 zero bytes).
constexpr std::string_view kEmptyZip("PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);
// Zip entries get a fixed timestamp (2000-01-01 12:00 UTC) so identical arrays give identical files.
constexpr time_t kZipEntryMtime = 946728000;
// npz entries are read in chunks so a lying size field cannot force a huge allocation.
constexpr size_t kZipReadChunk = size_t{1} << 20;

// The dtypes tinyq exchanges through npy files: numpy kind character and item size.
struct NpyType {
  DType dtype;
  char kind;
  int size;
};
constexpr NpyType kNpyTypes[] = {
    {DType::kFloat32, 'f', 4}, {DType::kFloat64, 'f', 8}, {DType::kInt8, 'i', 1},
    {DType::kUInt8, 'u', 1},   {DType::kInt16, 'i', 2},   {DType::kUInt16, 'u', 2},
    {DType::kInt32, 'i', 4},   {DType::kInt64, 'i', 8},   {DType::kBool, 'b', 1},
};
constexpr const char* kSupportedList = "f4 f8 i1 u1 i2 u2 i4 i8 b1";

std::string in_quotes(std::string_view s) {
  std::string out(1, '\'');
  out.append(s);
  out += '\'';
  return out;
}

// --- header parsing --------------------------------------------------------------------------

struct NpyHeader {
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<Shape> shape;
};

// Reads the Python dict literal np.save writes, e.g. {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), }. Key order, quote style, spacing and trailing commas are free, as in Python.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : s_(text), name_(name) {}

  Result<NpyHeader> parse() {
    NpyHeader h;
    skip_ws();
    if (!consume('{')) return error("expected '{'");
    skip_ws();
    while (!consume('}')) {
      TINYQ_ASSIGN_OR_RETURN(std::string key, string_lit());
      skip_ws();
      if (!consume(':')) return error("expected ':' after key " + in_quotes(key));
      skip_ws();
      if (key == "descr") {
        if (h.descr) return error("duplicate key 'descr'");
        if (peek() == '[')
          return Status::unsupported(name_ + ": structured (record) dtypes are not supported; save plain numeric arrays");
        TINYQ_ASSIGN_OR_RETURN(h.descr, string_lit());
      } else if (key == "fortran_order") {
        if (h.fortran_order) return error("duplicate key 'fortran_order'");
        TINYQ_ASSIGN_OR_RETURN(h.fortran_order, bool_lit());
      } else if (key == "shape") {
        if (h.shape) return error("duplicate key 'shape'");
        TINYQ_ASSIGN_OR_RETURN(h.shape, int_tuple());
      } else {
        return error("unexpected key " + in_quotes(key));
      }
      skip_ws();
      if (consume(',')) {
        skip_ws();
      } else if (peek() != '}') {
        return error("expected ',' or '}'");
      }
    }
    skip_ws();
    if (pos_ != s_.size()) return error("unexpected text after the closing '}'");
    if (!h.descr) return error("missing key 'descr'");
    if (!h.fortran_order) return error("missing key 'fortran_order'");
    if (!h.shape) return error("missing key 'shape'");
    return h;
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool consume(char c) {
    if (peek() != c || pos_ >= s_.size()) return false;
    ++pos_;
    return true;
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  Status error(const std::string& what) const {
    return Status::corrupt(name_ + ": malformed npy header: " + what + " at offset " + std::to_string(pos_));
  }

  Result<std::string> string_lit() {
    char q = peek();
    if (q != '\'' && q != '"') return error("expected a quoted string");
    ++pos_;
    size_t end = s_.find(q, pos_);
    if (end == std::string_view::npos) return error("unterminated string");
    std::string out(s_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return out;
  }

  Result<bool> bool_lit() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    return error("expected True or False");
  }

  Result<int64_t> dim() {
    if (peek() == '-') return error("negative dimension");
    if (peek() < '0' || peek() > '9') return error("expected a dimension");
    int64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      if (__builtin_mul_overflow(v, int64_t{10}, &v) || __builtin_add_overflow(v, int64_t{peek() - '0'}, &v))
        return error("dimension too large");
      ++pos_;
    }
    return v;
  }

  Result<Shape> int_tuple() {
    if (!consume('(')) return error("expected '(' to open the shape");
    Shape shape;
    skip_ws();
    while (!consume(')')) {
      TINYQ_ASSIGN_OR_RETURN(int64_t d, dim());
      shape.push_back(d);
      skip_ws();
      if (consume(',')) {
        skip_ws();
      } else if (peek() != ')') {
        return error("expected ',' or ')' in the shape");
      }
    }
    return shape;
  }

  std::string_view s_;
  const std::string& name_;
  size_t pos_ = 0;
};

// Maps a numpy descr such as '<f4' to a DType, explaining every refusal.
Result<DType> dtype_from_descr(const std::string& descr, const std::string& name) {
  std::string_view d = descr;
  char order = '=';
  if (!d.empty() && (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=')) {
    order = d[0];
    d.remove_prefix(1);
  }
  if (d.empty()) return Status::corrupt(name + ": empty dtype descr in npy header");
  if (d[0] == 'O')
    return Status::unsupported(name + ": object arrays (pickled Python objects, dtype " + in_quotes(descr) +
                               ") are not supported");
  int size = 0;
  for (char c : d.substr(1)) {
    if (c < '0' || c > '9' || size > 1000) {
      size = -1;
      break;
    }
    size = size * 10 + (c - '0');
  }
  for (const NpyType& t : kNpyTypes) {
    if (t.kind != d[0] || t.size != size) continue;
    if (order == '>' && size > 1)
      return Status::unsupported(name + ": big-endian dtype " + in_quotes(descr) +
                                 " is not supported; save with arr.astype(arr.dtype.newbyteorder('<'))");
    return t.dtype;
  }
  return Status::unsupported(name + ": unsupported dtype " + in_quotes(descr) + "; supported: " + kSupportedList);
}

uint32_t load_le(const unsigned char* p, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint32_t{p[i]} << (8 * i);
  return v;
}

// --- header writing --------------------------------------------------------------------------

Result<std::string> descr_of(DType dtype) {
  for (const NpyType& t : kNpyTypes)
    if (t.dtype == dtype) return std::string(1, t.size == 1 ? '|' : '<') + t.kind + std::to_string(t.size);
  return Status::unsupported(std::string("cannot save a ") + dtype_name(dtype) + " tensor to npy; supported: " +
                             kSupportedList);
}

// Python's repr of a tuple: (), (3,), (2, 3).
std::string py_tuple(const Shape& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";
  return out + ")";
}

// The magic, version, length and padded header text exactly as numpy's _wrap_header makes them.
Result<std::string> npy_prefix(const Tensor& t) {
  if (t.empty()) return Status::invalid_argument("cannot save an empty (undefined) tensor to npy");
  TINYQ_ASSIGN_OR_RETURN(std::string descr, descr_of(t.dtype()));
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + py_tuple(t.shape()) + ", }";
  if (t.rank() > 0) dict.append(kGrowthAxisMaxDigits - std::to_string(t.shape()[0]).size(), ' ');
  const size_t hlen = dict.size() + 1;  // + the final '\n'
  const bool v1 = hlen + kArrayAlign <= kMaxHeaderV1;  // bound on the padded length below
  const size_t len_bytes = v1 ? 2 : 4;
  const size_t pad = kArrayAlign - (kMagicLen + len_bytes + hlen) % kArrayAlign;
  const size_t total = hlen + pad;
  std::string out(kMagic);
  out += static_cast<char>(v1 ? 1 : 2);
  out += '\0';
  for (size_t i = 0; i < len_bytes; ++i) out += static_cast<char>((total >> (8 * i)) & 0xff);
  out += dict;
  out.append(pad, ' ');
  out += '\n';
  return out;
}

// --- libzip helpers --------------------------------------------------------------------------

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
struct ZipSourceFree {
  void operator()(zip_source_t* s) const { zip_source_free(s); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileClose>;
using ZipSourcePtr = std::unique_ptr<zip_source_t, ZipSourceFree>;

std::string zip_error_text(int code) {
  zip_error_t err;
  zip_error_init_with_code(&err, code);
  std::string text = zip_error_strerror(&err);
  zip_error_fini(&err);
  return text;
}

// Explains a failed zip_open, peeking at the file to recognise a plain .npy.
Status npz_open_error(const std::string& path, int code) {
  if (code == ZIP_ER_NOENT) return Status::not_found(path + ": no such file");
  if (code == ZIP_ER_OPEN || code == ZIP_ER_READ)
    return Status::io_error(path + ": cannot read: " + zip_error_text(code));
  if (code == ZIP_ER_NOZIP) {
    std::string msg = path + ": not an npz archive (no zip directory found: not a zip file, or truncated)";
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f) {
      char buf[6] = {};
      if (std::fread(buf, 1, sizeof buf, f) == sizeof buf && std::string_view(buf, 6) == kMagic)
        msg = path + ": is an .npy file, not an npz archive; read it as .npy";
      std::fclose(f);
    }
    return Status::corrupt(msg);
  }
  return Status::corrupt(path + ": not a readable npz archive: " + zip_error_text(code));
}

// Reads one archive entry whole, trusting only the bytes actually produced.
Result<std::string> read_entry(zip_t* za, zip_uint64_t index, const zip_stat_t& st, const std::string& where) {
  ZipFilePtr zf(zip_fopen_index(za, index, 0));
  if (!zf) return Status::corrupt(where + ": cannot open the entry: " + zip_strerror(za));
  std::string bytes;
  const bool sized = (st.valid & ZIP_STAT_SIZE) != 0;
  if (sized) bytes.reserve(static_cast<size_t>(std::min<zip_uint64_t>(st.size, kZipReadChunk)));
  size_t have = 0;
  for (;;) {
    bytes.resize(have + kZipReadChunk);
    zip_int64_t n = zip_fread(zf.get(), bytes.data() + have, kZipReadChunk);
    if (n < 0) return Status::corrupt(where + ": cannot read the entry: " + zip_file_strerror(zf.get()));
    if (n == 0) break;
    have += static_cast<size_t>(n);
    if (sized && have > st.size) return Status::corrupt(where + ": entry is longer than its declared size");
  }
  bytes.resize(have);
  if (sized && have != st.size)
    return Status::corrupt(where + ": entry is truncated (" + std::to_string(have) + " of " +
                           std::to_string(st.size) + " bytes)");
  return bytes;
}

Result<NamedArrays> read_npz_impl(const std::string& path) {
  // libzip opens a 0-byte file as an empty archive; numpy (and we) call it an error.
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec) && std::filesystem::file_size(path, ec) == 0 && !ec)
    return Status::corrupt(path + ": empty file (0 bytes), not an npz archive");
  int code = 0;
  ZipPtr za(zip_open(path.c_str(), ZIP_RDONLY, &code));
  if (!za) return npz_open_error(path, code);
  zip_int64_t n = zip_get_num_entries(za.get(), 0);
  if (n < 0) return Status::corrupt(path + ": cannot list the npz archive");
  NamedArrays out;
  std::set<std::string> seen;
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    if (zip_stat_index(za.get(), static_cast<zip_uint64_t>(i), 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME))
      return Status::corrupt(path + ": cannot read entry " + std::to_string(i) + ": " + zip_strerror(za.get()));
    std::string entry = st.name;
    if (!entry.empty() && entry.back() == '/') continue;  // a folder record carries no array
    constexpr std::string_view kSuffix = ".npy";
    if (entry.size() <= kSuffix.size() || !entry.ends_with(kSuffix))
      return Status::corrupt(path + ": entry " + in_quotes(entry) + " is not an .npy array");
    std::string name = entry.substr(0, entry.size() - kSuffix.size());
    if (!seen.insert(name).second) return Status::corrupt(path + ": array " + in_quotes(name) + " appears twice");
    const std::string where = path + ": array " + in_quotes(name);
    TINYQ_ASSIGN_OR_RETURN(std::string bytes, read_entry(za.get(), static_cast<zip_uint64_t>(i), st, where));
    TINYQ_ASSIGN_OR_RETURN(Tensor t, parse_npy(bytes.data(), bytes.size(), where));
    out.emplace_back(std::move(name), std::move(t));
  }
  return out;
}

// Builds the archive in memory so the file itself can be written atomically.
Result<std::string> build_npz(const NamedArrays& arrays) {
  std::set<std::string> seen;
  std::vector<std::string> prefixes;
  prefixes.reserve(arrays.size());  // zip sources point into these strings: no reallocation
  for (const auto& [name, t] : arrays) {
    if (name.empty()) return Status::invalid_argument("npz array names must not be empty");
    if (!seen.insert(name).second) return Status::invalid_argument("npz array " + in_quotes(name) + " appears twice");
    auto prefix = npy_prefix(t);
    if (!prefix.is_ok()) return prefix.status().with_context("array " + in_quotes(name));
    prefixes.push_back(std::move(prefix).value());
  }

  zip_error_t err;
  zip_error_init(&err);
  ZipSourcePtr archive(zip_source_buffer_create(nullptr, 0, 0, &err));
  if (!archive) return Status::internal(std::string("cannot create an in-memory zip: ") + zip_error_strerror(&err));
  ZipPtr za(zip_open_from_source(archive.get(), ZIP_TRUNCATE, &err));
  if (!za) return Status::internal(std::string("cannot open an in-memory zip: ") + zip_error_strerror(&err));
  zip_source_keep(archive.get());  // the archive's own reference goes away in zip_close
  for (size_t i = 0; i < arrays.size(); ++i) {
    const Tensor& t = arrays[i].second;
    const zip_buffer_fragment_t parts[2] = {
        {reinterpret_cast<zip_uint8_t*>(prefixes[i].data()), prefixes[i].size()},
        {static_cast<zip_uint8_t*>(const_cast<void*>(t.raw())), t.nbytes()}};
    ZipSourcePtr src(zip_source_buffer_fragment_create(parts, 2, 0, &err));
    if (!src) return Status::internal("array " + in_quotes(arrays[i].first) + ": " + zip_error_strerror(&err));
    const std::string entry = arrays[i].first + ".npy";
    zip_int64_t idx = zip_file_add(za.get(), entry.c_str(), src.get(), ZIP_FL_ENC_UTF_8);
    if (idx < 0) return Status::internal("array " + in_quotes(arrays[i].first) + ": " + zip_strerror(za.get()));
    src.release();  // the archive owns it now
    if (zip_set_file_compression(za.get(), static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_mtime(za.get(), static_cast<zip_uint64_t>(idx), kZipEntryMtime, 0) != 0)
      return Status::internal("array " + in_quotes(arrays[i].first) + ": " + zip_strerror(za.get()));
  }
  if (zip_close(za.get()) != 0) return Status::internal(std::string("cannot finish the npz: ") + zip_strerror(za.get()));
  za.release();  // zip_close freed it

  // libzip deletes an archive left with no entries; numpy writes the bare end record instead.
  if (zip_source_is_deleted(archive.get())) return std::string(kEmptyZip);
  zip_stat_t st;
  if (zip_source_stat(archive.get(), &st) != 0 || !(st.valid & ZIP_STAT_SIZE) || zip_source_open(archive.get()) != 0)
    return Status::internal("cannot read back the in-memory npz");
  std::string bytes(static_cast<size_t>(st.size), '\0');
  zip_int64_t got = zip_source_read(archive.get(), bytes.data(), st.size);
  zip_source_close(archive.get());
  if (got < 0 || static_cast<zip_uint64_t>(got) != st.size) return Status::internal("cannot read back the in-memory npz");
  return bytes;
}

}  // namespace

// --- public API ------------------------------------------------------------------------------

Result<NpyHeaderInfo> parse_npy_header(const void* data, size_t size, const std::string& display_name) {
  const auto* p = static_cast<const unsigned char*>(data);
  const std::string& name = display_name;
  if (size < kMagic.size() || std::memcmp(p, kMagic.data(), kMagic.size()) != 0) {
    if (size >= 1 && p[0] == kPickleProto)
      return Status::unsupported(name + ": is a Python pickle, not an npy file (saved with allow_pickle?)");
    if (size >= kZipMagic.size() && std::memcmp(p, kZipMagic.data(), kZipMagic.size()) == 0)
      return Status::corrupt(name + ": is a zip (npz) archive, not an npy file");
    if (size < kMagic.size() && size > 0 && std::memcmp(p, kMagic.data(), size) == 0)
      return Status::corrupt(name + ": truncated npy file (" + std::to_string(size) + " bytes)");
    return Status::corrupt(name + ": not an npy file (no \\x93NUMPY magic)");
  }
  if (size < kMagicLen) return Status::corrupt(name + ": truncated npy file (no version)");
  const int major = p[kMagic.size()], minor = p[kMagic.size() + 1];
  if (major < 1 || major > 3 || minor != 0)
    return Status::unsupported(name + ": npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                               " is not supported (1.0, 2.0, 3.0 are)");
  const size_t len_bytes = major == 1 ? 2 : 4;
  if (size < kMagicLen + len_bytes) return Status::corrupt(name + ": truncated npy file (no header length)");
  const uint32_t header_len = load_le(p + kMagicLen, len_bytes);
  if (header_len > kMaxHeaderBytes)
    return Status::limit(name + ": npy header too large (" + std::to_string(header_len) + " bytes; limit " +
                         std::to_string(kMaxHeaderBytes) + ")");
  const size_t data_off = kMagicLen + len_bytes + header_len;
  if (size < data_off)
    return Status::corrupt(name + ": truncated npy header (" + std::to_string(header_len) + " bytes declared, " +
                           std::to_string(size - kMagicLen - len_bytes) + " present)");
  std::string_view text(reinterpret_cast<const char*>(p + kMagicLen + len_bytes), header_len);
  TINYQ_ASSIGN_OR_RETURN(NpyHeader h, HeaderParser(text, name).parse());
  TINYQ_ASSIGN_OR_RETURN(DType dtype, dtype_from_descr(*h.descr, name));
  if (*h.fortran_order)
    return Status::unsupported(name + ": Fortran-order arrays are not supported; save np.ascontiguousarray(arr)");

  const Shape& shape = *h.shape;
  int64_t numel = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(numel, d, &numel))
      return Status::corrupt(name + ": npy shape " + shape_str(shape) + " overflows int64");
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(numel), static_cast<uint64_t>(dtype_size(dtype)), &nbytes))
    return Status::corrupt(name + ": npy shape " + shape_str(shape) + " is too large");
  return NpyHeaderInfo{dtype, shape, data_off, nbytes};
}

Result<Tensor> parse_npy(const void* data, size_t size, const std::string& display_name) {
  const std::string& name = display_name;
  TINYQ_ASSIGN_OR_RETURN(NpyHeaderInfo h, parse_npy_header(data, size, name));
  const uint64_t nbytes = h.data_bytes;
  const size_t have = size - h.data_offset;
  const std::string what = std::string(dtype_name(h.dtype)) + " " + shape_str(h.shape);
  if (have < nbytes)
    return Status::corrupt(name + ": truncated npy data: " + what + " needs " + std::to_string(nbytes) +
                           " bytes, file has " + std::to_string(have));
  if (have > nbytes)
    return Status::corrupt(name + ": npy data size mismatch: " + what + " needs " + std::to_string(nbytes) +
                           " bytes, file has " + std::to_string(have));
  try {
    Tensor t(h.dtype, h.shape);
    if (nbytes) std::memcpy(t.raw(), static_cast<const unsigned char*>(data) + h.data_offset, nbytes);
    return t;
  } catch (const std::bad_alloc&) {
    return Status::limit(name + ": out of memory allocating " + what);
  }
}

Result<Tensor> read_npy(const std::string& path) {
  TINYQ_ASSIGN_OR_RETURN(std::string bytes, util::read_file(path));
  return parse_npy(bytes.data(), bytes.size(), path);
}

Result<std::string> serialize_npy(const Tensor& t) {
  TINYQ_ASSIGN_OR_RETURN(std::string out, npy_prefix(t));
  out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

Result<NamedArrays> read_npz(const std::string& path) {
  try {
    return read_npz_impl(path);
  } catch (const std::bad_alloc&) {
    return Status::limit(path + ": out of memory reading the npz archive");
  }
}

Status write_npy(const std::string& path, const Tensor& t) {
  auto bytes = serialize_npy(t);
  if (!bytes.is_ok()) return bytes.status().with_context(path);
  return util::write_file_atomic(path, *bytes);
}

Status write_npz(const std::string& path, const NamedArrays& arrays) {
  auto bytes = build_npz(arrays);
  if (!bytes.is_ok()) return bytes.status().with_context(path);
  return util::write_file_atomic(path, *bytes);
}

}  // namespace tinyq::io
