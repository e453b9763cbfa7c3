#include "npz.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>

#include "../autograd/engine.hpp"
#include "../autograd/instantiate.hpp"

namespace rwd::io {

// .npy stores little-endian elements and we copy them as they are.
static_assert(std::endian::native == std::endian::little, "npz: only little-endian hosts are supported");

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
  }
  return "unknown";
}

std::size_t dtype_size(DType dtype) { return dtype == DType::Float32 ? 4 : 8; }

template <> DType dtype_of<float>() { return DType::Float32; }
template <> DType dtype_of<double>() { return DType::Float64; }
template <> DType dtype_of<std::int64_t>() { return DType::Int64; }

namespace {

std::string errno_text(int code) { return std::strerror(code); }

// numpy's descr strings for the supported dtypes.
const char* descr_of(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "<f4";
    case DType::Float64: return "<f8";
    case DType::Int64: return "<i8";
  }
  return "";
}

std::optional<DType> dtype_from_descr(std::string_view descr) {
  for (DType d : {DType::Float32, DType::Float64, DType::Int64})
    if (descr == descr_of(d)) return d;
  return std::nullopt;
}

// Product of the dims, or nullopt if it overflows.
std::optional<std::size_t> checked_numel(const Shape& shape, std::size_t item_size) {
  std::size_t n = item_size;
  for (auto d : shape) {
    if (d != 0 && n > std::numeric_limits<std::size_t>::max() / d) return std::nullopt;
    n *= d;
  }
  return n;
}

constexpr std::string_view npy_magic{"\x93NUMPY", 6};

// ---- the .npy header: a Python dict literal ---------------------------------

// A tiny parser for exactly what numpy writes: {'key': value, ...} with string,
// True/False and tuple-of-int values. Throws Error(what + ": ...") otherwise.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& what) : text_(text), what_(what) {}

  void parse(std::string& descr, bool& fortran_order, Shape& shape) {
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (!peek('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr" && !has_descr) {
        descr = string_literal();
        has_descr = true;
      } else if (key == "fortran_order" && !has_order) {
        fortran_order = boolean();
        has_order = true;
      } else if (key == "shape" && !has_shape) {
        shape = tuple();
        has_shape = true;
      } else {
        fail("unexpected or repeated key '" + key + "'");
      }
      if (!peek('}')) expect(',');
    }
    expect('}');
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the dict");
    if (!has_descr || !has_order || !has_shape) fail("the dict lacks 'descr', 'fortran_order' or 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(what_ + ": invalid .npy header (" + why + "): " + std::string(text_.substr(0, 120)));
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t')) ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  void expect(char c) {
    if (!peek(c)) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) fail("expected a string");
    const char quote = text_[pos_++];
    const std::size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string value(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return value;
  }
  bool boolean() {
    skip_space();
    for (auto [word, value] : {std::pair<std::string_view, bool>{"True", true}, {"False", false}})
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    fail("expected True or False");
  }
  Shape tuple() {
    Shape shape;
    expect('(');
    while (!peek(')')) {
      std::size_t value = 0, digits = 0;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        const std::size_t digit = static_cast<std::size_t>(text_[pos_++] - '0');
        if (value > (std::numeric_limits<std::size_t>::max() - digit) / 10) fail("dimension too large");
        value = value * 10 + digit;
        ++digits;
      }
      if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2's long suffix
      if (digits == 0) fail("expected a dimension");
      shape.push_back(value);
      if (!peek(')')) expect(',');
    }
    expect(')');
    return shape;
  }

  std::string_view text_;
  std::string what_;
  std::size_t pos_ = 0;
};

// Reorders elements stored in Fortran (column-major) order to C order.
std::vector<char> fortran_to_c(const char* data, const Shape& shape, std::size_t item_size) {
  const std::size_t rank = shape.size();
  std::size_t count = 1;
  for (auto d : shape) count *= d;
  std::vector<char> out(count * item_size);
  Shape index(rank, 0);  // C-order multi-index of output element k
  for (std::size_t k = 0; k < count; ++k) {
    std::size_t offset = 0, stride = 1;  // Fortran offset: the first axis varies fastest
    for (std::size_t a = 0; a < rank; ++a) {
      offset += index[a] * stride;
      stride *= shape[a];
    }
    std::memcpy(out.data() + k * item_size, data + offset * item_size, item_size);
    for (std::size_t a = rank; a-- > 0;) {
      if (++index[a] < shape[a]) break;
      index[a] = 0;
    }
  }
  return out;
}

// ---- libzip helpers ---------------------------------------------------------

std::string zip_code_text(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

struct ZipDiscard {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
struct ZipFileClose {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
struct ZipSourceFree {
  void operator()(zip_source_t* source) const { zip_source_free(source); }
};

// An archive with no entries: just the end-of-central-directory record (what
// numpy.savez() writes for no arrays; libzip writes nothing at all then).
const std::vector<char> empty_zip = [] {
  std::vector<char> bytes(22, 0);
  std::memcpy(bytes.data(), "PK\x05\x06", 4);
  return bytes;
}();

// The zip archive holding `entries`, built in memory.
std::vector<char> build_zip(const NpzEntries& entries, const std::vector<std::vector<char>>& npy_files) {
  if (entries.empty()) return empty_zip;
  zip_error_t error;
  zip_error_init(&error);
  std::unique_ptr<zip_source_t, ZipSourceFree> buffer(zip_source_buffer_create(nullptr, 0, 0, &error));
  auto fail = [&](const std::string& step, const std::string& why) -> void {
    zip_error_fini(&error);
    throw Error("write_npz: cannot build the zip archive (" + step + "): " + why);
  };
  if (!buffer) fail("buffer", zip_error_strerror(&error));
  zip_t* archive = zip_open_from_source(buffer.get(), ZIP_TRUNCATE, &error);
  if (!archive) fail("open", zip_error_strerror(&error));
  zip_source_keep(buffer.get());  // the archive takes a reference; ours keeps the bytes after zip_close
  std::unique_ptr<zip_t, ZipDiscard> owned(archive);

  std::size_t k = 0;
  for (const auto& [name, array] : entries) {
    const auto& file = npy_files[k++];
    zip_source_t* source = zip_source_buffer(archive, file.data(), file.size(), 0);
    if (!source) fail("entry '" + name + "'", zip_strerror(archive));
    const zip_int64_t index = zip_file_add(archive, (name + ".npy").c_str(), source, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(source);
      fail("entry '" + name + "'", zip_strerror(archive));
    }
    // Stored, as numpy.savez does: the arrays are small next to the cost of deflate.
    if (zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) < 0)
      fail("entry '" + name + "'", zip_strerror(archive));
  }
  if (zip_close(archive) < 0) fail("close", zip_strerror(archive));
  owned.release();  // zip_close freed it

  zip_source_t* src = buffer.get();
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_source_stat(src, &stat) < 0 || !(stat.valid & ZIP_STAT_SIZE) || zip_source_open(src) < 0)
    fail("read back", zip_error_strerror(zip_source_error(src)));
  std::vector<char> bytes(stat.size);
  const zip_int64_t got = zip_source_read(src, bytes.data(), bytes.size());
  zip_source_close(src);
  if (got < 0 || static_cast<zip_uint64_t>(got) != stat.size) fail("read back", "short read");
  zip_error_fini(&error);
  return bytes;
}

}  // namespace

// ---- atomic file replacement ------------------------------------------------

void write_file_atomically(const std::filesystem::path& path, const std::vector<char>& bytes, const std::string& who) {
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path directory = path.has_parent_path() ? path.parent_path() : ".";
  const std::string where = who + ": " + path.string() + ": ";

  // O_EXCL with a name unique to this process and call; mode 0666 lets the umask decide, as for any new file.
  std::filesystem::path temporary;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
    // Built by append: GCC 12 warns falsely (-Wrestrict) on a chain of string operator+ here.
    std::string name = ".";
    name.append(path.filename().string()).append(".tmp.").append(std::to_string(::getpid()));
    name.append(".").append(std::to_string(counter++));
    temporary = directory / name;
    fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) throw Error(where + "cannot create a temporary file in '" + directory.string() + "': " + errno_text(errno));

  auto abandon = [&](const std::string& step) {
    const int code = errno;
    if (fd >= 0) ::close(fd);
    ::unlink(temporary.c_str());
    throw Error(where + step + ": " + errno_text(code));
  };
  for (std::size_t written = 0; written < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) abandon("cannot write the temporary file");
    written += static_cast<std::size_t>(n);
  }
  // On disk before the rename, so a crash cannot leave a renamed but empty file.
  if (::fsync(fd) < 0) abandon("cannot flush the temporary file");
  const int closed = ::close(fd);
  fd = -1;
  if (closed < 0) abandon("cannot close the temporary file");
  if (::rename(temporary.c_str(), path.c_str()) < 0) abandon("cannot rename the temporary file over it");
  // Make the rename itself durable (best effort: some filesystems refuse fsync on directories).
  const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
}

// ---- NpyArray -----------------------------------------------------------------

template <NpyElement T>
NpyArray::NpyArray(const xt::xarray<T>& values)
    : dtype(dtype_of<T>()), shape(values.shape().begin(), values.shape().end()), bytes(values.size() * sizeof(T)) {
  // xarray is row-major by default; copy element by element in C order to be safe for any layout.
  std::size_t k = 0;
  for (auto it = values.template begin<xt::layout_type::row_major>();
       it != values.template end<xt::layout_type::row_major>(); ++it, ++k) {
    const T v = *it;
    std::memcpy(bytes.data() + k * sizeof(T), &v, sizeof(T));
  }
}

std::size_t NpyArray::numel() const {
  std::size_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

template <NpyElement T>
xt::xarray<T> NpyArray::as(const std::string& name) const {
  if (dtype != dtype_of<T>())
    throw Error("npz: '" + name + "' has dtype " + dtype_name(dtype) + ", requested " + dtype_name(dtype_of<T>()));
  if (bytes.size() != numel() * sizeof(T))
    throw Error("npz: '" + name + "' holds " + std::to_string(bytes.size()) + " bytes, its shape " +
                format_shape(shape) + " needs " + std::to_string(numel() * sizeof(T)));
  xt::xarray<T> values = xt::xarray<T>::from_shape(shape);
  if (!bytes.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

template <NpyElement T>
xt::xarray<T> npz_get(const NpzEntries& entries, const std::string& name, const std::string& source) {
  const auto it = entries.find(name);
  if (it == entries.end()) throw Error(source + ": no entry named '" + name + "'");
  if (it->second.dtype != dtype_of<T>())
    throw Error(source + ": entry '" + name + "' has dtype " + dtype_name(it->second.dtype) + ", expected " +
                dtype_name(dtype_of<T>()));
  return it->second.as<T>(name);
}

// ---- .npy encoding ------------------------------------------------------------

std::vector<char> encode_npy(const NpyArray& array) {
  const std::size_t item = dtype_size(array.dtype);
  const auto expected = checked_numel(array.shape, item);
  if (!expected || *expected != array.bytes.size())
    throw Error("encode_npy: array of shape " + format_shape(array.shape) + " and dtype " + dtype_name(array.dtype) +
                " holds " + std::to_string(array.bytes.size()) + " bytes");
  // numpy's tuple syntax: () for 0-D, (3,) for 1-D, (2, 3) otherwise.
  std::string shape_text;
  for (std::size_t a = 0; a < array.shape.size(); ++a) shape_text += (a ? ", " : "") + std::to_string(array.shape[a]);
  if (array.shape.size() == 1) shape_text += ",";
  std::string dict =
      std::string("{'descr': '") + descr_of(array.dtype) + "', 'fortran_order': False, 'shape': (" + shape_text;
  dict += "), }";
  // Version 1.0 has a 2-byte header length; version 2.0 (4 bytes) only for huge ranks.
  const bool v1 = 10 + dict.size() + 1 + 63 <= 65535;
  const std::size_t prefix = 6 + 2 + (v1 ? 2 : 4);
  const std::size_t header_length = (prefix + dict.size() + 1 + 63) / 64 * 64 - prefix;  // padded so data is 64-aligned
  dict.append(header_length - dict.size() - 1, ' ');
  dict += '\n';

  std::vector<char> out;
  out.reserve(prefix + header_length + array.bytes.size());
  out.insert(out.end(), npy_magic.begin(), npy_magic.end());
  out.push_back(static_cast<char>(v1 ? 1 : 2));
  out.push_back(0);
  for (std::size_t b = 0; b < (v1 ? 2u : 4u); ++b) out.push_back(static_cast<char>((header_length >> (8 * b)) & 0xff));
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), array.bytes.begin(), array.bytes.end());
  return out;
}

NpyArray decode_npy(const char* data, std::size_t size, const std::string& what) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data);
  if (size < 10 || std::string_view(data, 6) != npy_magic)
    throw Error(what + ": not a .npy array (" + (size < 10 ? "too short" : "bad magic bytes") + ")");
  const unsigned major = bytes[6], minor = bytes[7];
  if (major < 1 || major > 3 || minor != 0)
    throw Error(what + ": unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor));
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  if (size < 8 + length_bytes) throw Error(what + ": is truncated (in the .npy header)");
  std::size_t header_length = 0;
  for (std::size_t b = 0; b < length_bytes; ++b) header_length |= static_cast<std::size_t>(bytes[8 + b]) << (8 * b);
  const std::size_t data_start = 8 + length_bytes + header_length;
  if (data_start > size) throw Error(what + ": is truncated (in the .npy header)");

  std::string descr;
  bool fortran_order = false;
  NpyArray array;
  HeaderParser(std::string_view(data + 8 + length_bytes, header_length), what).parse(descr, fortran_order, array.shape);
  const auto dtype = dtype_from_descr(descr);
  if (!dtype)
    throw Error(what + ": unsupported dtype '" + descr + "' (supported: '<f4' float32, '<f8' float64, '<i8' int64)");
  array.dtype = *dtype;
  const auto expected = checked_numel(array.shape, dtype_size(array.dtype));
  if (!expected) throw Error(what + ": shape " + format_shape(array.shape) + " is too large");
  const std::size_t available = size - data_start;
  if (available < *expected)
    throw Error(what + ": is truncated: " + std::to_string(available) + " bytes of data, shape " +
                format_shape(array.shape) + " of " + dtype_name(array.dtype) + " needs " + std::to_string(*expected));
  if (available > *expected)
    throw Error(what + ": has " + std::to_string(available - *expected) + " unexpected bytes after its data");
  const char* payload = data + data_start;
  if (fortran_order && array.shape.size() > 1)
    array.bytes = fortran_to_c(payload, array.shape, dtype_size(array.dtype));
  else
    array.bytes.assign(payload, payload + *expected);
  return array;
}

NpyArray read_npy(const std::filesystem::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(what + ": cannot open the file (missing or unreadable)");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(what + ": read error");
  return decode_npy(bytes.data(), bytes.size(), what);
}

// ---- .npz archives ----------------------------------------------------------

namespace {

// The most bytes the entries of a .npz of `file_size` bytes may declare in
// total: max(64 MiB, 16 x file_size) -- a stored archive is never near it, a
// deflated one only when it compresses better than 16:1 (a zip bomb does,
// ~1000:1) -- or the byte count in REWIND_NPZ_MAX_BYTES when that is set (for
// a large, highly compressible model). read_npz also reads each entry to at
// most the size its directory record declares: more is an error (the
// directory lies).
std::size_t npz_size_limit(std::size_t file_size) {
  if (const char* text = std::getenv("REWIND_NPZ_MAX_BYTES")) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno == ERANGE || *text == '-')
      throw Error(std::string("REWIND_NPZ_MAX_BYTES='") + text + "' is not a byte count");
    return static_cast<std::size_t>(value);
  }
  constexpr std::size_t floor = std::size_t{64} << 20, ratio = 16;
  return file_size > std::numeric_limits<std::size_t>::max() / ratio ? std::numeric_limits<std::size_t>::max()
                                                                     : std::max(floor, ratio * file_size);
}

// The archive at path, opened read-only with its consistency checked; each
// way it can fail is one message naming the file.
std::unique_ptr<zip_t, ZipDiscard> open_archive(const std::filesystem::path& path) {
  const std::string file = path.string();
  // libzip opens a 0-byte file as an empty archive; for us it is a broken file.
  std::error_code size_error;
  if (std::filesystem::is_regular_file(path, size_error) && std::filesystem::file_size(path, size_error) == 0)
    throw Error(file + ": empty file, not a zip archive (a .npz file is one)");
  int code = 0;
  std::unique_ptr<zip_t, ZipDiscard> archive(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code));
  if (!archive) {
    switch (code) {
      case ZIP_ER_NOENT: throw Error(file + ": no such file");
      case ZIP_ER_NOZIP: throw Error(file + ": not a zip archive (a .npz file is one)");
      case ZIP_ER_INCONS: throw Error(file + ": corrupt or truncated zip archive");
      default: throw Error(file + ": cannot open: " + zip_code_text(code));
    }
  }
  return archive;
}

// Entry `index`'s bytes, exactly the `size` its directory record declares.
// Grown as data arrives (a lying directory cannot make us allocate what the
// data does not hold); one byte of room past the declared size detects an
// entry that inflates to more.
std::vector<char> read_entry(zip_t* archive, zip_uint64_t index, zip_uint64_t size, const std::string& what) {
  std::unique_ptr<zip_file_t, ZipFileClose> handle(zip_fopen_index(archive, index, 0));
  if (!handle) throw Error(what + ": cannot read: " + zip_strerror(archive));
  std::vector<char> bytes;
  std::vector<char> chunk(1 << 16);
  for (;;) {
    const std::size_t room = std::min<std::size_t>(chunk.size(), size - bytes.size() + 1);
    const zip_int64_t n = zip_fread(handle.get(), chunk.data(), room);
    if (n < 0) throw Error(what + " is corrupt: " + zip_file_strerror(handle.get()));
    if (n == 0) break;
    if (bytes.size() + static_cast<std::size_t>(n) > size)
      throw Error(what + " inflates to more than the " + std::to_string(size) +
                  " bytes its zip directory declares (corrupt or hostile archive)");
    bytes.insert(bytes.end(), chunk.data(), chunk.data() + n);
  }
  if (bytes.size() != size)
    throw Error(what + " is truncated: " + std::to_string(bytes.size()) + " of " + std::to_string(size) + " bytes");
  return bytes;
}

}  // namespace

NpzEntries read_npz(const std::filesystem::path& path) {
  const std::string file = path.string();
  const std::unique_ptr<zip_t, ZipDiscard> archive = open_archive(path);
  std::error_code size_error;
  const std::size_t limit = npz_size_limit(std::filesystem::file_size(path, size_error));
  std::size_t declared_total = 0;
  NpzEntries entries;
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    const char* raw_name = zip_get_name(archive.get(), index, 0);
    if (!raw_name) throw Error(file + ": corrupt zip archive: " + zip_strerror(archive.get()));
    const std::string entry = raw_name;
    const std::string what = file + ": entry '" + entry + "'";
    if (entry.size() <= 4 || entry.compare(entry.size() - 4, 4, ".npy") != 0)
      throw Error(what + " is not a .npy array (an .npz archive holds only <name>.npy entries)");
    const std::string name = entry.substr(0, entry.size() - 4);

    // The declared size bounds what is read: checked against the limit first, then enforced while inflating.
    zip_stat_t stat;
    if (zip_stat_index(archive.get(), index, 0, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE))
      throw Error(what + ": corrupt zip directory (no size): " + zip_strerror(archive.get()));
    if (stat.size > limit - declared_total)
      throw Error(what + " declares " + std::to_string(stat.size) + " bytes, which takes the archive past its limit of " +
                  std::to_string(limit) + " bytes (max(64 MiB, 16 x the file's size); REWIND_NPZ_MAX_BYTES raises it)");
    declared_total += static_cast<std::size_t>(stat.size);

    const std::vector<char> bytes = read_entry(archive.get(), index, stat.size, what);
    NpyArray array = decode_npy(bytes.data(), bytes.size(), what);
    if (!entries.emplace(name, std::move(array)).second) throw Error(what + " appears twice");
  }
  return entries;
}

void write_npz(const std::filesystem::path& path, const NpzEntries& entries) {
  // Everything that can be checked is checked before the file system is touched.
  if (path.filename().empty()) throw Error("write_npz: '" + path.string() + "' is not a file name");
  std::vector<std::vector<char>> npy_files;
  for (const auto& [name, array] : entries) {
    if (name.empty()) throw Error("write_npz: " + path.string() + ": an entry has an empty name");
    try {
      npy_files.push_back(encode_npy(array));
    } catch (const Error& e) {
      throw Error("write_npz: " + path.string() + ": entry '" + name + "': " + e.what());
    }
  }
  write_file_atomically(path, build_zip(entries, npy_files), "write_npz");
}

#define REWIND_INSTANTIATE(T)                                               \
  template NpyArray::NpyArray(const xt::xarray<T>&);                 \
  template xt::xarray<T> NpyArray::as<T>(const std::string&) const;  \
  template xt::xarray<T> npz_get<T>(const NpzEntries&, const std::string&, const std::string&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
REWIND_INSTANTIATE(std::int64_t)
#undef REWIND_INSTANTIATE

}  // namespace rwd::io
