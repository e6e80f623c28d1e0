// Checkpoint files: atomic replacement, and safetensors written bit-exactly, valid per the spec
// (checked here by hand, not with the reader under test), and every malformed file rejected with a
// message that says where and what.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "relulab/io/atomic_file.hpp"
#include "relulab/io/safetensors.hpp"
#include "relulab/random.hpp"

namespace {

namespace fs = std::filesystem;
using relulab::Shape;
using relulab::StatusCode;
using relulab::Tensor;
using relulab::io::AtomicFile;
using relulab::io::parse_safetensors;
using relulab::io::read_safetensors;
using relulab::io::write_safetensors;
using Bytes = std::vector<std::uint8_t>;

// The tests' directories lie under one root per process, removed when the tests end.
fs::path test_root() {
  return fs::path(::testing::TempDir()) / ("relulab_io_" + std::to_string(::getpid()));
}
class RemoveTestRoot : public ::testing::Environment {
  void TearDown() override { fs::remove_all(test_root()); }
};
[[maybe_unused]] ::testing::Environment* const kRemoveTestRoot =
    ::testing::AddGlobalTestEnvironment(new RemoveTestRoot);

// An empty directory of its own for each test.
fs::path fresh_dir() {
  const fs::path dir =
      test_root() / ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

std::string as_text(const Bytes& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

Bytes text_bytes(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

// CRC-32 as zlib computes it (reflected, polynomial 0xEDB88320), bit by bit: independent of zlib.
std::uint32_t reference_crc32(std::span<const std::uint8_t> bytes) {
  std::uint32_t crc = 0xffffffffu;
  for (const std::uint8_t b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::uint64_t load_u64_le(const Bytes& bytes, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{bytes[at + i]} << (8 * i);
  return v;
}

// A safetensors file put together by hand: the length field (the header's length unless given),
// the header text, then the data.
Bytes make_file(std::string_view header, const Bytes& data,
                std::uint64_t length = std::numeric_limits<std::uint64_t>::max()) {
  if (length == std::numeric_limits<std::uint64_t>::max()) length = header.size();
  Bytes bytes(8 + header.size() + data.size());
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(length >> (8 * i));
  std::copy(data.begin(), data.end(), std::copy(header.begin(), header.end(), bytes.begin() + 8));
  return bytes;
}

template <class T>
Bytes le_bytes(std::initializer_list<T> values) {
  Bytes bytes;
  for (const T v : values) {
    std::uint8_t raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof(T));
    bytes.insert(bytes.end(), raw, raw + sizeof(T));
  }
  return bytes;
}

Tensor tensor_of(Shape shape, std::initializer_list<float> values) {
  Tensor t(std::move(shape));
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

bool bits_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.bytes()) == 0;
}

// Parses `bytes` and expects corrupt_data with the file's name and every fragment in the message.
void expect_corrupt(const Bytes& bytes, std::initializer_list<std::string_view> fragments) {
  const relulab::Status status = parse_safetensors(bytes, "ckpt.safetensors").status();
  const std::string& message = status.message();
  EXPECT_EQ(status.code(), StatusCode::kCorruptData) << message;
  EXPECT_NE(message.find("ckpt.safetensors"), std::string::npos) << message;
  for (const std::string_view f : fragments) {
    EXPECT_NE(message.find(f), std::string::npos) << "expected '" << f << "' in: " << message;
  }
}

// ---------------------------------------------------------------------------------------------
// Atomic files.

TEST(AtomicFile, WritesTheBytesAndLeavesOnlyTheTarget) {
  const fs::path dir = fresh_dir();
  const Bytes bytes = {0, 1, 2, 255, 10, 13};
  ASSERT_TRUE(relulab::io::write_file_atomically(dir / "out.bin", bytes));
  EXPECT_EQ(read_bytes(dir / "out.bin"), bytes);
  EXPECT_EQ(listing(dir), std::vector<std::string>{"out.bin"});

  ASSERT_TRUE(relulab::io::write_text_atomically(dir / "out.bin", "replaced\n"));
  EXPECT_EQ(as_text(read_bytes(dir / "out.bin")), "replaced\n");
  EXPECT_EQ(listing(dir), std::vector<std::string>{"out.bin"});
}

TEST(AtomicFile, AbandonedWriterLeavesTheOldFileAndNoTemporary) {
  const fs::path dir = fresh_dir();
  ASSERT_TRUE(relulab::io::write_text_atomically(dir / "ckpt", "old"));
  {
    auto file = AtomicFile::create(dir / "ckpt");
    ASSERT_TRUE(file);
    ASSERT_TRUE(file.value().write(std::string_view("new, never committed")));
    EXPECT_EQ(file.value().temp_path().parent_path(), dir);
    EXPECT_TRUE(fs::exists(file.value().temp_path()));
    EXPECT_EQ(as_text(read_bytes(dir / "ckpt")), "old");
  }
  EXPECT_EQ(as_text(read_bytes(dir / "ckpt")), "old");
  EXPECT_EQ(listing(dir), std::vector<std::string>{"ckpt"});
}

TEST(AtomicFile, MovedWriterOwnsTheTemporary) {
  const fs::path dir = fresh_dir();
  auto created = AtomicFile::create(dir / "a");
  ASSERT_TRUE(created);
  AtomicFile file = std::move(created).value();
  ASSERT_TRUE(file.write(std::string_view("abc")));
  ASSERT_TRUE(file.commit());
  EXPECT_EQ(as_text(read_bytes(dir / "a")), "abc");
  EXPECT_EQ(file.write(std::string_view("more")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(file.commit().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(listing(dir), std::vector<std::string>{"a"});
}

TEST(AtomicFile, MissingDirectoryIsAnIoErrorNamingThePath) {
  const fs::path target = fresh_dir() / "no_such_dir" / "ckpt.safetensors";
  const relulab::Status status = relulab::io::write_text_atomically(target, "x");
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_NE(status.message().find(target.string()), std::string::npos) << status.message();
  EXPECT_NE(status.message().find(std::strerror(ENOENT)), std::string::npos) << status.message();
  EXPECT_FALSE(fs::exists(target.parent_path()));
}

TEST(AtomicFile, FailedRenameKeepsTheTargetAndRemovesTheTemporary) {
  const fs::path dir = fresh_dir();
  fs::create_directory(dir / "target");  // rename() cannot replace a directory by a file
  write_bytes(dir / "target" / "keep", {1});
  auto file = AtomicFile::create(dir / "target");
  ASSERT_TRUE(file);
  ASSERT_TRUE(file.value().write(std::string_view("data")));
  const relulab::Status status = file.value().commit();
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_NE(status.message().find((dir / "target").string()), std::string::npos);
  EXPECT_EQ(listing(dir), std::vector<std::string>{"target"});
  EXPECT_TRUE(fs::is_directory(dir / "target"));
  EXPECT_EQ(file.value().commit().code(), StatusCode::kIoError);  // the failure sticks
}

// ---------------------------------------------------------------------------------------------
// Writing and reading back.

std::vector<std::pair<std::string, Tensor>> sample_tensors() {
  relulab::Rng rng(7);
  Tensor weight = Tensor::uninitialized({2, 3, 4});
  for (float& v : weight.span()) v = rng.normal();
  // Values a text format would lose: -0, a subnormal, infinities, a NaN with a payload.
  weight[0] = -0.0f;
  weight[1] = std::numeric_limits<float>::denorm_min();
  weight[2] = std::numeric_limits<float>::infinity();
  weight[3] = -std::numeric_limits<float>::infinity();
  weight[4] = std::bit_cast<float>(0x7fc01234u);
  return {{"weight", weight},
          {"scalar", tensor_of({}, {3.5f})},
          {"empty", Tensor(Shape{0})},
          {"empty_rows", Tensor(Shape{3, 0})},
          {"1.bias", tensor_of({5}, {1, -2, 3, -4, 5})}};
}

TEST(Safetensors, RoundTripIsBitExact) {
  const fs::path path = fresh_dir() / "model.safetensors";
  const auto tensors = sample_tensors();
  ASSERT_TRUE(write_safetensors(path, tensors, {{"epoch", "7"}, {"note", "Größe ✓"}}));
  const auto read = read_safetensors(path);
  ASSERT_TRUE(read) << read.status().message();
  ASSERT_EQ(read.value().tensors.size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    ASSERT_EQ(read.value().tensors.count(name), 1u) << name;
    EXPECT_TRUE(bits_equal(read.value().tensors.at(name), tensor)) << name;
  }
  const auto& metadata = read.value().metadata;
  EXPECT_EQ(metadata.at("epoch"), "7");
  EXPECT_EQ(metadata.at("note"), "Größe ✓");
  EXPECT_EQ(metadata.at("relulab.format"), "1");
  EXPECT_EQ(metadata.size(), 4u);
  EXPECT_EQ(listing(path.parent_path()), std::vector<std::string>{"model.safetensors"});
}

TEST(Safetensors, WrittenFileFollowsTheSpec) {
  const fs::path path = fresh_dir() / "model.safetensors";
  const auto tensors = sample_tensors();
  ASSERT_TRUE(write_safetensors(path, tensors, {{"relulab.crc32", "00000000"}}));
  const Bytes bytes = read_bytes(path);
  ASSERT_GE(bytes.size(), 8u);
  const std::uint64_t n = load_u64_le(bytes, 0);
  ASSERT_LE(8 + n, bytes.size());
  EXPECT_EQ(n % 8, 0u) << "header padded to a multiple of 8";
  std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  ASSERT_EQ(header.front(), '{');
  const std::size_t last = header.find_last_not_of(' ');
  EXPECT_EQ(header[last], '}') << "only spaces after the JSON object";
  const auto json = nlohmann::json::parse(header);
  const std::size_t data_start = 8 + n;
  const std::span<const std::uint8_t> data(bytes.data() + data_start, bytes.size() - data_start);

  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  std::uint64_t previous_begin = 0;
  for (const auto& [name, tensor] : tensors) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(json.contains(name));
    const auto& entry = json[name];
    EXPECT_EQ(entry["dtype"], "F32");
    EXPECT_EQ(entry["shape"].get<Shape>(), tensor.shape());
    const auto begin = entry["data_offsets"][0].get<std::uint64_t>();
    const auto end = entry["data_offsets"][1].get<std::uint64_t>();
    EXPECT_EQ(end - begin, tensor.size() * 4);
    EXPECT_GE(begin, previous_begin) << "tensors in the order given";
    previous_begin = begin;
    ASSERT_LE(end, data.size());
    EXPECT_EQ(std::memcmp(data.data() + begin, tensor.data(), tensor.bytes()), 0);
    ranges.emplace_back(begin, end);
  }
  std::sort(ranges.begin(), ranges.end());
  std::uint64_t expected = 0;
  for (const auto& [begin, end] : ranges) {
    EXPECT_EQ(begin, expected) << "no holes or overlaps";
    expected = end;
  }
  EXPECT_EQ(expected, data.size()) << "nothing after the last tensor";
  EXPECT_EQ(json.size(), tensors.size() + 1);
  const auto& metadata = json["__metadata__"];
  for (const auto& [key, value] : metadata.items()) EXPECT_TRUE(value.is_string()) << key;
  EXPECT_EQ(metadata["relulab.format"], "1");
  char crc[16];
  std::snprintf(crc, sizeof crc, "%08x", reference_crc32(data));
  EXPECT_EQ(metadata["relulab.crc32"], crc) << "the writer replaces a caller's checksum";
}

TEST(Safetensors, ReferenceCrcMatchesTheStandardCheckValue) {
  EXPECT_EQ(reference_crc32(text_bytes("123456789")), 0xcbf43926u);
}

TEST(Safetensors, NoTensorsIsAValidFile) {
  const fs::path path = fresh_dir() / "empty.safetensors";
  ASSERT_TRUE(write_safetensors(path, {}));
  const auto read = read_safetensors(path);
  ASSERT_TRUE(read) << read.status().message();
  EXPECT_TRUE(read.value().tensors.empty());
  EXPECT_EQ(read.value().metadata.at("relulab.crc32"), "00000000");
}

TEST(Safetensors, WriterRejectsDuplicateAndReservedNames) {
  const fs::path dir = fresh_dir();
  const Tensor t = tensor_of({1}, {1});
  const auto duplicate = write_safetensors(dir / "a", {{"w", t}, {"w", t}});
  EXPECT_EQ(duplicate.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(duplicate.message().find("'w'"), std::string::npos);
  EXPECT_EQ(write_safetensors(dir / "a", {{"__metadata__", t}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(write_safetensors(dir / "a", {{"\xff", t}}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(listing(dir).empty());
}

TEST(Safetensors, IoErrorsNameThePath) {
  const fs::path dir = fresh_dir();
  const auto missing = read_safetensors(dir / "missing.safetensors");
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
  EXPECT_NE(missing.status().message().find("missing.safetensors"), std::string::npos);
  EXPECT_EQ(read_safetensors(dir).status().code(), StatusCode::kIoError);
  const auto unwritable = write_safetensors(dir / "nodir" / "x.safetensors", {});
  EXPECT_EQ(unwritable.code(), StatusCode::kIoError);
  EXPECT_NE(unwritable.message().find("nodir"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Files from other tools, and other dtypes.

TEST(Safetensors, FileWithoutChecksumIsReadUnchecked) {
  const Bytes file = make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   )",
                               le_bytes<float>({1.5f, -2.0f}));
  const auto read = parse_safetensors(file, "other.safetensors");
  ASSERT_TRUE(read) << read.status().message();
  EXPECT_TRUE(bits_equal(read.value().tensors.at("a"), tensor_of({2}, {1.5f, -2.0f})));
  EXPECT_TRUE(read.value().metadata.empty());
}

TEST(Safetensors, HalfBfloatAndDoubleAreConvertedToFloat) {
  // F16: 1, -2, 2^-24 (smallest subnormal), 1023 * 2^-24 (largest subnormal), 65504, inf, -0, NaN.
  const Bytes f16 =
      le_bytes<std::uint16_t>({0x3c00, 0xc000, 0x0001, 0x03ff, 0x7bff, 0x7c00, 0x8000, 0x7e00});
  const Bytes bf16 = le_bytes<std::uint16_t>({0x3f80, 0xc049});  // 1, -3.140625
  const Bytes f64 = le_bytes<double>({0.1, 1e300});
  Bytes data = f16;
  data.insert(data.end(), bf16.begin(), bf16.end());
  data.insert(data.end(), f64.begin(), f64.end());
  const Bytes file = make_file(R"({"h":{"dtype":"F16","shape":[8],"data_offsets":[0,16]},)"
                               R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]},)"
                               R"("d":{"dtype":"F64","shape":[2,1],"data_offsets":[20,36]}})",
                               data);
  const auto read = parse_safetensors(file, "mixed.safetensors");
  ASSERT_TRUE(read) << read.status().message();
  const Tensor& h = read.value().tensors.at("h");
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(h[0], 1.0f);
  EXPECT_EQ(h[1], -2.0f);
  EXPECT_EQ(h[2], std::ldexp(1.0f, -24));
  EXPECT_EQ(h[3], std::ldexp(1023.0f, -24));
  EXPECT_EQ(h[4], 65504.0f);
  EXPECT_EQ(h[5], inf);
  EXPECT_EQ(h[6], 0.0f);
  EXPECT_TRUE(std::signbit(h[6]));
  EXPECT_TRUE(std::isnan(h[7]));
  EXPECT_TRUE(bits_equal(read.value().tensors.at("b"), tensor_of({2}, {1.0f, -3.140625f})));
  EXPECT_TRUE(bits_equal(read.value().tensors.at("d"), tensor_of({2, 1}, {0.1f, inf})));
}

TEST(Safetensors, ManyTensorsParse) {
  // 5000 empty tensors in one header: every entry is read (the streaming first pass keeps this
  // linear; bench it rather than time it here).
  constexpr int kCount = 5000;
  std::string header = "{";
  for (int i = 0; i < kCount; ++i) {
    if (i != 0) header += ',';
    header += R"("t)" + std::to_string(i) + R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]})";
  }
  header += '}';
  const auto read = parse_safetensors(make_file(header, {}), "many.safetensors");
  ASSERT_TRUE(read) << read.status().message();
  EXPECT_EQ(read.value().tensors.size(), std::size_t{kCount});
}

// ---------------------------------------------------------------------------------------------
// Malformed files: each gives corrupt_data saying where and what.

// One F32 tensor "a" of shape [2] over 8 bytes of data, with `entry` replacing its description.
Bytes one_tensor(std::string_view entry, std::size_t data_bytes = 8) {
  return make_file(R"({"a":)" + std::string(entry) + "}", Bytes(data_bytes, 0));
}

TEST(SafetensorsCorrupt, LengthField) {
  expect_corrupt(Bytes{1, 2, 3}, {"3 bytes", "8-byte header length"});
  expect_corrupt(make_file("{}", {}, std::uint64_t{1} << 40), {"byte 0", "limit"});
  expect_corrupt(make_file("{}", {}, 1000), {"byte 0", "1000", "truncated"});
  expect_corrupt(make_file("", {}), {"byte 8", "JSON object"});
}

TEST(SafetensorsCorrupt, HeaderJson) {
  expect_corrupt(make_file(R"({"a": )", {}), {"not valid JSON", "byte"});
  expect_corrupt(make_file("[1, 2]", {}), {"byte 8", "JSON object"});
  expect_corrupt(make_file("{}\x01", {}), {"not valid JSON"});
  expect_corrupt(make_file("{\"\xff\": 1}", {}), {"not valid JSON"});
  expect_corrupt(one_tensor("5"), {"tensor 'a'", "expected an object", "number"});
  expect_corrupt(one_tensor(R"({"dtype":"F32","shape":[[2]],"data_offsets":[0,8]})"),
                 {"'a'", "nests"});
}

TEST(SafetensorsCorrupt, DuplicateNames) {
  const std::string entry = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  expect_corrupt(make_file(R"({"a":)" + entry + R"(,"a":)" + entry + "}", Bytes(4, 0)),
                 {"'a' appears twice"});
  expect_corrupt(one_tensor(R"({"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]})"),
                 {"'dtype' appears twice in 'a'"});
  expect_corrupt(make_file(R"({"__metadata__":{"k":"1","k":"2"}})", {}),
                 {"'k' appears twice in '__metadata__'"});
}

TEST(SafetensorsCorrupt, EntryFields) {
  expect_corrupt(one_tensor(R"({"dtype":"F32","shape":[2]})"), {"tensor 'a'", "data_offsets"});
  expect_corrupt(one_tensor(R"({"dtype":"I32","shape":[2],"data_offsets":[0,8]})"),
                 {"tensor 'a'", "dtype \"I32\" is not supported"});
  expect_corrupt(one_tensor(R"({"dtype":"F32","shape":2,"data_offsets":[0,8]})"),
                 {"tensor 'a'", "expected a list"});
  expect_corrupt(one_tensor(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"),
                 {"tensor 'a'", "shape[0] is -2", "non-negative integer"});
  expect_corrupt(one_tensor(R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,8]})"),
                 {"shape[0] is 1.5"});
  expect_corrupt(
      one_tensor(R"({"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]})"),
      {"tensor 'a'", "more elements"});
  expect_corrupt(one_tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})"),
                 {"tensor 'a'", "begin <= end"});
  expect_corrupt(one_tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})"),
                 {"tensor 'a'", "[begin, end]"});
  expect_corrupt(one_tensor(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"),
                 {"tensor 'a'", "hold 8 bytes", "[3] of F32 needs 12"});
  expect_corrupt(make_file(R"({"__metadata__":{"k":1}})", {}), {"'k'", "expected a string"});
  expect_corrupt(make_file(R"({"__metadata__":[]})", {}), {"__metadata__", "expected an object"});
}

TEST(SafetensorsCorrupt, DataRanges) {
  const std::string a = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  // Header 30 bytes + 8: 'a' ends at byte 8 + header + 8, past a 4-byte data section.
  expect_corrupt(make_file("{" + a + "}", Bytes(4, 0)), {"tensor 'a'", "truncated"});
  expect_corrupt(make_file("{" + a + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                           Bytes(12, 0)),
                 {"tensor 'b'", "inside 'a'", "overlap"});
  expect_corrupt(make_file("{" + a + R"(,"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})",
                           Bytes(16, 0)),
                 {"belong to no tensor", "'b'", "holes"});
  expect_corrupt(make_file("{" + a + "}", Bytes(12, 0)), {"no data after the last tensor"});
}

TEST(SafetensorsCorrupt, Checksum) {
  const fs::path path = fresh_dir() / "c.safetensors";
  ASSERT_TRUE(write_safetensors(path, sample_tensors()));
  const Bytes good = read_bytes(path);
  const std::uint64_t data_start = 8 + load_u64_le(good, 0);
  const std::span<const std::uint8_t> data(good.data() + data_start, good.size() - data_start);
  char says[16];
  std::snprintf(says, sizeof says, "%08x", reference_crc32(data));
  for (const std::size_t at : {data_start, data_start + 41, good.size() - 1}) {
    Bytes bad = good;
    bad[at] ^= 0x10;
    const std::span<const std::uint8_t> bad_data(bad.data() + data_start, data.size());
    char gives[16];
    std::snprintf(gives, sizeof gives, "%08x", reference_crc32(bad_data));
    expect_corrupt(bad, {std::string("checksum mismatch: file says ") + says + ", data gives " +
                         gives + ": the file is corrupt or truncated"});
  }
  expect_corrupt(make_file(R"({"__metadata__":{"relulab.crc32":"12345xyz"}})", {}),
                 {"relulab.crc32", "12345xyz", "8 hex digits"});
}

TEST(SafetensorsCorrupt, TruncatedAtEveryLength) {
  const fs::path path = fresh_dir() / "t.safetensors";
  ASSERT_TRUE(write_safetensors(path, sample_tensors()));
  const Bytes good = read_bytes(path);
  for (std::size_t n = 0; n < good.size(); ++n) {
    const auto result = parse_safetensors(std::span(good.data(), n), "t");
    ASSERT_FALSE(result.is_ok()) << n;
    EXPECT_EQ(result.status().code(), StatusCode::kCorruptData) << n;
  }
  // From disk, the message names the file.
  write_bytes(path, Bytes(good.begin(), good.end() - 3));
  const auto read = read_safetensors(path);
  EXPECT_EQ(read.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(read.status().message().find(path.string()), std::string::npos);
  EXPECT_NE(read.status().message().find("truncated"), std::string::npos)
      << read.status().message();
}

}  // namespace
