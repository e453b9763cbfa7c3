// .npy / .npz: numpy compatibility both ways, atomic writes, and a clear
// rwd::Error (never a crash) for every malformed file.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <rewind/rewind.hpp>

#include "test_support.hpp"

using namespace rwd;
using io::DType;
namespace fs = std::filesystem;

using test_support::TempDir;

namespace {

const fs::path data_dir = REWIND_TEST_DATA;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A .npy file's bytes with the given header dict (padded as numpy pads) and payload.
std::string npy_file(const std::string& dict, const std::string& payload) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + payload;
}

// doctest::Contains takes a C string; messages built from paths are std::string.
doctest::Contains contains(const std::string& text) { return doctest::Contains(text.c_str()); }

io::NpyArray decode(const std::string& bytes) { return io::decode_npy(bytes.data(), bytes.size(), "test.npy"); }

}  // namespace

TEST_SUITE("npz") {
  TEST_CASE("reads what numpy.savez wrote (tests/data/make_npz_reference.py)") {
    const auto entries = io::read_npz(data_dir / "numpy_reference.npz");
    REQUIRE(entries.size() == 6);

    // f32[i, j] = 0.5 (3i + j) - 1
    const auto f32 = io::npz_get<float>(entries, "f32");
    REQUIRE(f32.shape() == std::vector<std::size_t>{2, 3});
    for (std::size_t i = 0; i < 2; ++i)
      for (std::size_t j = 0; j < 3; ++j) CHECK(f32(i, j) == 0.5f * float(3 * i + j) - 1.0f);

    // f64[i, j, k] = 100 i + 10 j + k + 0.125
    const auto f64 = io::npz_get<double>(entries, "f64");
    REQUIRE(f64.shape() == std::vector<std::size_t>{2, 3, 4});
    for (std::size_t i = 0; i < 2; ++i)
      for (std::size_t j = 0; j < 3; ++j)
        for (std::size_t k = 0; k < 4; ++k) CHECK(f64(i, j, k) == double(100 * i + 10 * j + k) + 0.125);

    const auto i64 = io::npz_get<std::int64_t>(entries, "i64");
    CHECK(i64 == xt::xarray<std::int64_t>{-3, 0, 7, (std::int64_t{1} << 40) + 7, -(std::int64_t{1} << 62)});

    const auto scalar = io::npz_get<double>(entries, "scalar");
    CHECK(scalar.dimension() == 0);
    CHECK(scalar() == 3.25);

    // Stored in Fortran order; read back in C order: fortran[i, j] = 10 i + j.
    CHECK(io::npz_get<double>(entries, "fortran") == xt::xarray<double>{{0, 1, 2}, {10, 11, 12}});

    const auto empty = io::npz_get<float>(entries, "empty");
    CHECK(empty.shape() == std::vector<std::size_t>{0, 3});
    CHECK(empty.size() == 0);

    CHECK(entries.at("i64").dtype == DType::Int64);
    CHECK(entries.at("f32").dtype == DType::Float32);
  }

  TEST_CASE("reads numpy.savez_compressed (deflated entries)") {
    const auto f64 = io::npz_get<double>(io::read_npz(data_dir / "numpy_reference_compressed.npz"), "f64");
    REQUIRE(f64.shape() == std::vector<std::size_t>{2, 3, 4});
    CHECK(f64(1, 2, 3) == 123.125);
    CHECK(f64(0, 0, 0) == 0.125);
  }

  TEST_CASE("round trip: float32, float64, int64, 0-D, 3-D and empty arrays") {
    TempDir dir("npz_round_trip");
    const xt::xarray<float> f32{{1.5f, -2.0f, 3.25f}};
    xt::xarray<double> f64 = xt::xarray<double>::from_shape({2, 3, 4});
    for (std::size_t k = 0; k < f64.size(); ++k) f64.data()[k] = 0.1 * double(k) - 1.0;
    const xt::xarray<std::int64_t> i64{-5, 0, std::int64_t{1} << 50};
    const xt::xarray<double> scalar(2.5);
    const xt::xarray<float> empty = xt::xarray<float>::from_shape({0, 4});
    const io::NpzEntries written{{"f32", f32}, {"f64", f64}, {"i64", i64}, {"scalar", scalar}, {"empty", empty},
                                 {"layer.0.weight", f32}};
    io::write_npz(dir.path / "all.npz", written);

    const auto read = io::read_npz(dir.path / "all.npz");
    REQUIRE(read.size() == written.size());
    for (const auto& [name, array] : written) {
      CAPTURE(name);
      REQUIRE(read.count(name));
      CHECK(read.at(name).dtype == array.dtype);
      CHECK(read.at(name).shape == array.shape);
      CHECK(read.at(name).bytes == array.bytes);
    }
    CHECK(io::npz_get<double>(read, "f64") == f64);
    CHECK(io::npz_get<std::int64_t>(read, "i64") == i64);
    CHECK(io::npz_get<double>(read, "scalar")() == 2.5);
    CHECK(dir.file_count() == 1);  // no temporary file left behind

    // An archive with no entries is a valid (empty) zip, as numpy.savez() writes.
    io::write_npz(dir.path / "none.npz", {});
    CHECK(io::read_npz(dir.path / "none.npz").empty());
  }

  TEST_CASE("encode_npy writes numpy's header: version 1.0, dict, padding to 64 bytes") {
    const auto check_header = [](const io::NpyArray& array, const std::string& dict) {
      const auto bytes = io::encode_npy(array);
      const std::string text(bytes.begin(), bytes.end());
      REQUIRE(text.size() > 10);
      CHECK(text.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
      const std::size_t header_length = std::size_t(std::uint8_t(text[8])) | std::size_t(std::uint8_t(text[9])) << 8;
      CHECK((10 + header_length) % 64 == 0);
      const std::string header = text.substr(10, header_length);
      CHECK(header.substr(0, dict.size()) == dict);
      CHECK(header.back() == '\n');
      CHECK(header.find_first_not_of(' ', dict.size()) == header_length - 1);  // only spaces until '\n'
      CHECK(text.size() == 10 + header_length + array.bytes.size());
    };
    check_header(xt::xarray<float>{{1, 2, 3}, {4, 5, 6}}, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
    check_header(xt::xarray<double>{1, 2, 3}, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }");
    check_header(xt::xarray<std::int64_t>(7), "{'descr': '<i8', 'fortran_order': False, 'shape': (), }");
  }

  TEST_CASE("as<T> and npz_get refuse another dtype or a missing name, naming them") {
    const io::NpzEntries entries{{"w", xt::xarray<double>{1.0, 2.0}}};
    CHECK_THROWS_WITH_AS(entries.at("w").as<float>("w"), doctest::Contains("'w' has dtype float64, requested float32"), Error);
    CHECK_THROWS_WITH_AS(io::npz_get<std::int64_t>(entries, "w", "opt.npz"),
                         doctest::Contains("opt.npz: entry 'w' has dtype float64, expected int64"), Error);
    CHECK_THROWS_WITH_AS(io::npz_get<double>(entries, "v", "opt.npz"), doctest::Contains("opt.npz: no entry named 'v'"),
                         Error);
  }

  TEST_CASE("writes are atomic: a failed write keeps the old file and leaves no temporary file") {
    TempDir dir("npz_atomic");
    const fs::path file = dir.path / "model.npz";
    io::write_npz(file, {{"w", xt::xarray<double>{1.0, 2.0}}});
    const std::string before = read_bytes(file);

    // Overwriting replaces the content in one rename.
    io::write_npz(file, {{"w", xt::xarray<double>{3.0}}});
    CHECK(io::npz_get<double>(io::read_npz(file), "w") == xt::xarray<double>{3.0});
    CHECK(dir.file_count() == 1);
    write_bytes(file, before);

    // Bad entries are refused before the file system is touched.
    io::NpyArray inconsistent = xt::xarray<double>{1.0, 2.0};
    inconsistent.shape = {3};  // 2 elements' bytes for 3
    CHECK_THROWS_WITH_AS(io::write_npz(file, {{"w", inconsistent}}),
                         contains("write_npz: " + file.string() + ": entry 'w': encode_npy: array of shape [3]"),
                         Error);
    CHECK_THROWS_WITH_AS(io::write_npz(file, {{"", xt::xarray<double>{1.0}}}), doctest::Contains("an entry has an empty name"),
                         Error);
    CHECK(read_bytes(file) == before);

    // The rename fails (the target is a non-empty directory): the temporary file is removed.
    fs::create_directory(dir.path / "occupied");
    write_bytes(dir.path / "occupied" / "keep", "x");
    CHECK_THROWS_WITH_AS(io::write_npz(dir.path / "occupied", {{"w", xt::xarray<double>{1.0}}}),
                         doctest::Contains("cannot rename the temporary file over it"), Error);
    CHECK(dir.file_count() == 2);  // model.npz and occupied/, nothing else
    CHECK(read_bytes(file) == before);

    CHECK_THROWS_WITH_AS(io::write_npz(dir.path / "no_such_dir" / "m.npz", {{"w", xt::xarray<double>{1.0}}}),
                         contains("cannot create a temporary file in '" + (dir.path / "no_such_dir").string()),
                         Error);
  }

  TEST_CASE("malformed files give an Error naming the file and the problem") {
    TempDir dir("npz_bad");
    const fs::path missing = dir.path / "missing.npz";
    CHECK_THROWS_WITH_AS(io::read_npz(missing), contains(missing.string() + ": no such file"), Error);

    const fs::path random = dir.path / "random.npz";
    std::string noise(300, '\0');
    std::uint32_t state = 12345;  // a small LCG: arbitrary, reproducible bytes
    for (auto& c : noise) c = static_cast<char>((state = state * 1664525u + 1013904223u) >> 24);
    write_bytes(random, noise);
    CHECK_THROWS_WITH_AS(io::read_npz(random), contains(random.string() + ": not a zip archive"), Error);

    const auto in_data = [](const std::string& name) { return (data_dir / name).string(); };
    CHECK_THROWS_WITH_AS(io::read_npz(data_dir / "not_npy.npz"),
                         contains(in_data("not_npy.npz") + ": entry 'notes.txt' is not a .npy array"), Error);
    CHECK_THROWS_WITH_AS(io::read_npz(data_dir / "bad_magic.npz"),
                         contains(in_data("bad_magic.npz") + ": entry 'x.npy': not a .npy array (bad magic bytes)"),
                         Error);
    CHECK_THROWS_WITH_AS(io::read_npz(data_dir / "bad_header.npz"),
                         doctest::Contains("entry 'x.npy': invalid .npy header (the dict lacks 'descr', 'fortran_order' or 'shape')"),
                         Error);
    CHECK_THROWS_WITH_AS(io::read_npz(data_dir / "big_endian.npz"), doctest::Contains("entry 'x.npy': unsupported dtype '>f4'"),
                         Error);
    CHECK_THROWS_WITH_AS(io::read_npz(data_dir / "truncated_entry.npz"),
                         doctest::Contains("entry 'x.npy': is truncated: 24 bytes of data, shape [4] of float64 needs 32"),
                         Error);
  }

  TEST_CASE("every truncation and every corrupted byte of a valid archive is an Error or a valid read, never a crash") {
    TempDir dir("npz_fuzz");
    const std::string good = read_bytes(data_dir / "numpy_reference.npz");
    REQUIRE(good.size() > 1000);
    const fs::path file = dir.path / "damaged.npz";
    // Files are shrunk and patched in place: rewriting a file through O_TRUNC makes ext4 flush it, which is slow.
    write_bytes(file, good);
    std::size_t errors = 0, prefixes = 0;
    for (std::size_t length = good.size(); length-- > 0;) {
      fs::resize_file(file, length);
      ++prefixes;
      try {
        io::read_npz(file);
      } catch (const Error&) {
        ++errors;
      }
    }
    CHECK(errors == prefixes);  // no proper prefix of the archive is a valid archive
    write_bytes(file, good);
    std::size_t survived = 0;
    const auto patch = [&](std::size_t position, char byte) {
      std::fstream out(file, std::ios::binary | std::ios::in | std::ios::out);
      out.seekp(static_cast<std::streamoff>(position));
      out.put(byte);
    };
    for (std::size_t position = 0; position < good.size(); ++position) {
      patch(position, static_cast<char>(good[position] ^ 0x5a));
      try {
        io::read_npz(file);  // a flip in a header's padding or an unused zip field can be harmless
        ++survived;
      } catch (const Error&) {
      }
      patch(position, good[position]);
    }
    CHECK(survived < good.size() / 5);  // most damage is detected (CRC, magic, header checks)
  }

  TEST_CASE("decode_npy: header and size checks") {
    const std::string eight_bytes(8, '\0');
    const std::string f64_2 = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
    CHECK(decode(npy_file(f64_2, eight_bytes + eight_bytes)).shape == Shape{2});
    // Keys in another order and double quotes are still numpy's Python literal.
    CHECK(decode(npy_file("{\"shape\": (1, 1), \"fortran_order\": False, \"descr\": \"<i8\"}", eight_bytes)).dtype ==
          DType::Int64);

    CHECK_THROWS_WITH_AS(decode("\x93NUMPY"), doctest::Contains("test.npy: not a .npy array (too short)"), Error);
    std::string future = npy_file(f64_2, eight_bytes + eight_bytes);
    future[6] = 9;
    CHECK_THROWS_WITH_AS(decode(future), doctest::Contains("test.npy: unsupported .npy format version 9.0"), Error);
    std::string long_header = npy_file(f64_2, "");
    long_header[9] = 0x7f;  // header length 32k: beyond the file
    CHECK_THROWS_WITH_AS(decode(long_header), doctest::Contains("test.npy: is truncated (in the .npy header)"), Error);
    CHECK_THROWS_WITH_AS(decode(npy_file("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", eight_bytes)),
                         doctest::Contains("test.npy: unsupported dtype '<i4'"), Error);
    CHECK_THROWS_WITH_AS(decode(npy_file(f64_2, eight_bytes + eight_bytes + "x")),
                         doctest::Contains("test.npy: has 1 unexpected bytes after its data"), Error);
    CHECK_THROWS_WITH_AS(
        decode(npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", "")),
        doctest::Contains("test.npy: shape [4294967296, 4294967296] is too large"), Error);
    CHECK_THROWS_WITH_AS(decode(npy_file("{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2,), }", "")),
                         doctest::Contains("invalid .npy header (expected True or False)"), Error);
    CHECK_THROWS_WITH_AS(decode(npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1}", "")),
                         doctest::Contains("invalid .npy header (unexpected or repeated key 'extra')"), Error);
    CHECK_THROWS_WITH_AS(decode(npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }", "")),
                         doctest::Contains("invalid .npy header (expected a dimension)"), Error);
  }
}
