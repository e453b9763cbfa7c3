// Hostile files (issue 14): a zip bomb, a zip directory lying about an entry's
// size, a .npy header claiming a huge shape. Each must be refused with one
// clear Error, quickly, without allocating much more than the file's size.
// The files are built here (never committed), and each read runs under an
// address-space limit (setrlimit RLIMIT_AS, as `ulimit -v` does) of what the
// process maps now plus 256 MiB: a reader that inflated the 2 GiB entry would
// get std::bad_alloc instead of the expected Error. AddressSanitizer maps
// terabytes of shadow memory and cannot run under such a limit, so the
// sanitizer build runs the same reads without it.
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <rewind/rewind.hpp>

#include "test_support.hpp"

using namespace rwd;

// GCC 12 warns falsely (-Wstringop-overread, "region of size 0") inside the
// std::vector<char> copies below, as it does for the flags RewindWarnings turns off.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wstringop-overread"
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kCanLimitMemory = false;
#else
constexpr bool kCanLimitMemory = true;
#endif

namespace {

// ---- a zip archive, written by hand so its directory can say anything --------

void put16(std::vector<char>& out, std::uint32_t v) {
  for (int b = 0; b < 2; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
}
void put32(std::vector<char>& out, std::uint32_t v) {
  for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
}

// CRC-32 (zip's, bit by bit: the inputs here are small).
std::uint32_t crc32(const std::vector<char>& bytes) {
  std::uint32_t crc = 0xffffffffu;
  for (const char c : bytes) {
    crc ^= static_cast<unsigned char>(c);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

// One entry `name` holding `data` (deflated when `method` is 8, stored when 0)
// whose directory records claim `declared` bytes uncompressed. A bomb's CRC is
// left 0: it must be refused before the entry's end, where the CRC is checked.
std::vector<char> zip_with_entry(const std::string& name, const std::vector<char>& deflated, std::uint32_t declared,
                                 std::uint16_t method = 8, std::uint32_t crc = 0) {
  std::vector<char> out;
  auto header_fields = [&](std::vector<char>& h) {
    put16(h, 20);  // version needed
    put16(h, 0);   // flags
    put16(h, method);
    put16(h, 0);     // time
    put16(h, 0x21);  // date: 1980-01-01
    put32(h, crc);
    put32(h, static_cast<std::uint32_t>(deflated.size()));
    put32(h, declared);
    put16(h, static_cast<std::uint32_t>(name.size()));
    put16(h, 0);  // extra field length
  };
  put32(out, 0x04034b50);
  header_fields(out);
  out.insert(out.end(), name.begin(), name.end());
  out.insert(out.end(), deflated.begin(), deflated.end());
  const auto directory_offset = static_cast<std::uint32_t>(out.size());
  put32(out, 0x02014b50);
  put16(out, 20);  // version made by
  header_fields(out);
  put16(out, 0);  // comment length
  put16(out, 0);  // disk number
  put16(out, 0);  // internal attributes
  put32(out, 0);  // external attributes
  put32(out, 0);  // local header offset
  out.insert(out.end(), name.begin(), name.end());
  const auto directory_size = static_cast<std::uint32_t>(out.size()) - directory_offset;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, 1);
  put16(out, 1);
  put32(out, directory_size);
  put32(out, directory_offset);
  put16(out, 0);
  return out;
}

// A raw deflate stream of 1 + 258 * repeats zero bytes: one fixed-Huffman
// block, the literal 0, then `repeats` copies of <length 258, distance 1>
// (13 bits each, so 2 GiB of zeros take 13 MiB), then end-of-block (RFC 1951).
std::vector<char> deflated_zeros(std::size_t repeats) {
  std::vector<char> out;
  out.reserve(repeats * 13 / 8 + 16);
  std::uint64_t bits = 0;
  int count = 0;
  auto put = [&](std::uint64_t value, int n) {  // n bits, least significant first
    bits |= value << count;
    count += n;
    while (count >= 8) {
      out.push_back(static_cast<char>(bits & 0xff));
      bits >>= 8;
      count -= 8;
    }
  };
  // Huffman codes go most significant bit first: reverse them once.
  auto reversed = [](std::uint64_t code, int n) {
    std::uint64_t r = 0;
    for (int i = 0; i < n; ++i) r |= ((code >> i) & 1) << (n - 1 - i);
    return r;
  };
  put(1, 1);                      // BFINAL
  put(1, 2);                      // BTYPE 01: fixed Huffman codes
  put(reversed(0x30, 8), 8);      // literal 0
  const std::uint64_t pair = reversed(0xC5, 8) | (reversed(0, 5) << 8);  // length code 285 (258), distance code 0 (1)
  for (std::size_t k = 0; k < repeats; ++k) put(pair, 13);
  put(0, 7);                      // end of block (code 256: seven 0 bits)
  if (count) out.push_back(static_cast<char>(bits & 0xff));
  return out;
}

constexpr std::size_t kBombRepeats = 8323580;                     // 1 + 258 * this = 2,147,483,641 bytes
constexpr std::uint32_t kBombSize = 1 + 258 * kBombRepeats;

void write_file(const std::filesystem::path& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// Bytes of address space mapped now (VmSize).
std::size_t mapped_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  std::size_t kib = 0;
  while (status >> key)
    if (key == "VmSize:" && status >> kib) return kib * 1024;
  FAIL("no VmSize in /proc/self/status");
  return 0;
}

// Runs `read` with at most `headroom` bytes of address space beyond what is mapped now.
template <class Read>
void with_memory_limit(std::size_t headroom, Read&& read) {
  if (!kCanLimitMemory) return read();
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_AS, &old) == 0);
  rlimit limited = old;
  limited.rlim_cur = mapped_bytes() + headroom;
  if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < limited.rlim_cur) limited.rlim_cur = old.rlim_cur;
  REQUIRE(::setrlimit(RLIMIT_AS, &limited) == 0);
  struct Restore {
    rlimit old;
    ~Restore() { ::setrlimit(RLIMIT_AS, &old); }
  } restore{old};
  read();
}

constexpr std::size_t kHeadroom = std::size_t{256} << 20;

}  // namespace

TEST_SUITE("hostile_files") {
  TEST_CASE("the hand-built deflate stream inflates to zeros (checked on a small one through libzip)") {
    // 1 + 258 * 3 = 775 zero bytes behind an honest directory: read_npz inflates them
    // fully and then finds no .npy magic -- proof that the stream is valid deflate.
    test_support::TempDir dir("hostile_small");
    write_file(dir.path / "zeros.npz", zip_with_entry("x.npy", deflated_zeros(3), 775, 8, crc32(std::vector<char>(775))));
    CHECK_THROWS_WITH_AS(io::read_npz(dir.path / "zeros.npz"), doctest::Contains("bad magic bytes"), Error);
  }

  TEST_CASE("a zip bomb (2 GiB of zeros in 13 MiB) is refused by its declared size, under a memory limit") {
    test_support::TempDir dir("hostile_bomb");
    const auto path = dir.path / "bomb.npz";
    write_file(path, zip_with_entry("weight.npy", deflated_zeros(kBombRepeats), kBombSize));
    with_memory_limit(kHeadroom, [&] {
      CHECK_THROWS_WITH_AS(io::read_npz(path),
                           doctest::Contains("entry 'weight.npy' declares 2147483641 bytes, which takes the archive "
                                             "past its limit of 216415008 bytes"),  // 16 x the 13,525,938-byte file
                           Error);
    });
  }

  TEST_CASE("an entry inflating past what its directory declares stops there, under a memory limit") {
    test_support::TempDir dir("hostile_liar");
    const auto path = dir.path / "liar.npz";
    write_file(path, zip_with_entry("weight.npy", deflated_zeros(kBombRepeats), 128));
    with_memory_limit(kHeadroom, [&] {
      CHECK_THROWS_WITH_AS(io::read_npz(path),
                           doctest::Contains("entry 'weight.npy' inflates to more than the 128 bytes its zip "
                                             "directory declares"),
                           Error);
    });
  }

  TEST_CASE("REWIND_NPZ_MAX_BYTES sets the limit: lowered, it refuses an ordinary archive") {
    test_support::TempDir dir("hostile_env");
    const auto path = dir.path / "w.npz";
    io::write_npz(path, {{"w", xt::xarray<double>(xt::zeros<double>({100}))}});
    CHECK(io::read_npz(path).at("w").numel() == 100);
    ::setenv("REWIND_NPZ_MAX_BYTES", "500", 1);  // the entry is 128 + 800 bytes
    CHECK_THROWS_WITH_AS(io::read_npz(path), doctest::Contains("past its limit of 500 bytes"), Error);
    ::setenv("REWIND_NPZ_MAX_BYTES", "lots", 1);
    CHECK_THROWS_WITH_AS(io::read_npz(path), doctest::Contains("REWIND_NPZ_MAX_BYTES='lots' is not a byte count"),
                         Error);
    ::unsetenv("REWIND_NPZ_MAX_BYTES");
    CHECK(io::read_npz(path).at("w").numel() == 100);
  }

  TEST_CASE("a .npy header claiming a huge shape is refused before any allocation, under a memory limit") {
    // 2^40 x 2^20 float64 would be 2^63 bytes; 2^31 x 2^31 overflows size_t with the item size.
    const std::pair<std::string, std::string> cases[] = {
        {"(1099511627776, 1048576)", "is truncated: 64 bytes of data, shape [1099511627776, 1048576] of float64 "
                                     "needs 9223372036854775808"},
        {"(2147483648, 2147483648, 8)", "shape [2147483648, 2147483648, 8] is too large"}};
    for (const auto& [shape, expected] : cases) {
      std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
      dict.append(118 - dict.size(), ' ');
      dict += '\n';
      std::vector<char> npy{'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<char>(dict.size()), 0};
      npy.insert(npy.end(), dict.begin(), dict.end());
      npy.insert(npy.end(), 64, '\0');
      INFO(shape);
      with_memory_limit(kHeadroom, [&] {
        CHECK_THROWS_WITH_AS(io::decode_npy(npy.data(), npy.size(), "huge.npy"),
                             doctest::Contains(("huge.npy: " + expected).c_str()), Error);
      });
      // and inside an archive (stored, as numpy.savez writes; an honest directory and CRC)
      test_support::TempDir dir("hostile_shape");
      const auto path = dir.path / "huge.npz";
      write_file(path, zip_with_entry("huge.npy", npy, static_cast<std::uint32_t>(npy.size()), 0, crc32(npy)));
      with_memory_limit(kHeadroom, [&] {
        CHECK_THROWS_WITH_AS(io::read_npz(path), doctest::Contains(("entry 'huge.npy': " + expected).c_str()), Error);
      });
    }
  }
}
