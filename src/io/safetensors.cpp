#include "relulab/io/safetensors.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "relulab/io/atomic_file.hpp"

namespace relulab::io {
namespace {

using nlohmann::json;

// Tensor data is copied to and from the file as it lies in memory.
static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host needs byte swaps here");

constexpr std::string_view kMetadataKey = "__metadata__";
constexpr std::string_view kCrcKey = "relulab.crc32";
constexpr std::string_view kFormatKey = "relulab.format";
constexpr std::uint64_t kLengthBytes = 8;  // the little-endian header length before the header
// Containers nest at most three deep: header object > entry object > shape list.
constexpr int kMaxDepth = 3;

enum class DType { kF32, kF16, kBF16, kF64 };

struct DTypeInfo {
  std::string_view name;
  DType dtype;
  std::size_t bytes;
};
constexpr DTypeInfo kDTypes[] = {{"F32", DType::kF32, 4},
                                 {"F16", DType::kF16, 2},
                                 {"BF16", DType::kBF16, 2},
                                 {"F64", DType::kF64, 8}};

// One tensor as the header describes it; offsets are relative to the data section.
struct Entry {
  std::string name;
  DTypeInfo dtype;
  Shape shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

struct Header {
  std::vector<Entry> entries;  // sorted by data offset
  std::map<std::string, std::string> metadata;
};

// Where messages point: the file's name and where its data section starts.
struct Source {
  std::string_view name;
  std::uint64_t data_start = 0;
  std::uint64_t data_size = 0;
};

Status corrupt(const Source& source, std::string_view what) {
  return Status::corrupt_data(fmt::format("{}: {}", source.name, what));
}

Status corrupt_tensor(const Source& source, std::string_view tensor, std::string_view what) {
  return Status::corrupt_data(fmt::format("{}: tensor '{}': {}", source.name, tensor, what));
}

// zlib returns its initial value for an empty null buffer whatever crc is, so empty spans
// (empty tensors have no storage) are skipped.
std::uint32_t crc32_update(std::uint32_t crc, std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return crc;
  return static_cast<std::uint32_t>(::crc32_z(crc, bytes.data(), bytes.size()));
}

// ---------------------------------------------------------------------------------------------
// Header parsing.

// A first, streaming pass over the header that rejects what the DOM would hide: a key given twice
// (JSON parsers keep the last one; safetensors forbids duplicates) and lists or objects nested
// deeper than a header has. It stops at the first problem, so the parser's stack stays small.
// (nlohmann's callback parser could do this during the DOM pass, but it rescans the enclosing
// object after each value, which is quadratic in the number of tensors.)
class HeaderPrecheck {
 public:
  explicit HeaderPrecheck(const Source& source) : source_(source) {}

  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const std::string&) { return true; }
  bool string(std::string&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) {
    if (depth_ == 1) field_keys_.clear();
    return open();
  }
  bool start_array(std::size_t) { return open(); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string& key) {
    if (depth_ == 1) entry_ = key;
    if (depth_ > 2 || (depth_ == 1 ? tensor_keys_ : field_keys_).insert(key).second) return true;
    problem_ =
        corrupt(source_, depth_ == 1 ? fmt::format("'{}' appears twice in the header", key)
                                     : fmt::format("key '{}' appears twice in '{}'", key, entry_));
    return false;
  }
  bool parse_error(std::size_t position, const std::string&, const json::exception& e) {
    // position counts from 1 within the header.
    problem_ = corrupt(source_, fmt::format("byte {}: the header is not valid JSON: {}",
                                            kLengthBytes + position - 1, e.what()));
    return false;
  }

  const Status& problem() const { return problem_; }

 private:
  // Header object > entry object > shape list > dimension: no container is deeper than 3.
  bool open() {
    if (++depth_ <= kMaxDepth) return true;
    problem_ = corrupt(source_, fmt::format("'{}' nests lists or objects too deeply", entry_));
    return false;
  }
  bool close() {
    --depth_;
    return true;
  }

  const Source& source_;
  int depth_ = 0;                      // containers open
  std::set<std::string> tensor_keys_;  // keys of the header object
  std::set<std::string> field_keys_;   // keys of the current entry
  std::string entry_;                  // the header key being read
  Status problem_;
};

Result<json> parse_json(std::span<const std::uint8_t> text, const Source& source) {
  HeaderPrecheck precheck(source);
  if (!json::sax_parse(text.begin(), text.end(), &precheck)) return precheck.problem();
  return json::parse(text.begin(), text.end());  // valid JSON: the precheck parsed it
}

// A non-negative integer; JSON numbers beyond 2^64 and negative ones are not.
bool read_unsigned(const json& value, std::uint64_t& out) {
  if (!value.is_number_unsigned()) return false;
  out = value.get<std::uint64_t>();
  return true;
}

// Checks "shape" and returns the element count; at most SIZE_MAX / 8 elements, so that the byte
// count of any dtype fits in size_t and Tensor can hold it.
Result<std::uint64_t> read_shape(const json& value, const std::string& name, Shape& shape,
                                 const Source& source) {
  if (!value.is_array()) {
    return corrupt_tensor(source, name, fmt::format("shape is {}, expected a list", value.dump()));
  }
  constexpr std::uint64_t kMaxElements = std::numeric_limits<std::size_t>::max() / 8;
  std::uint64_t count = 1;
  for (std::size_t i = 0; i < value.size(); ++i) {
    std::uint64_t dim = 0;
    if (!read_unsigned(value[i], dim)) {
      return corrupt_tensor(
          source, name,
          fmt::format("shape[{}] is {}, expected a non-negative integer", i, value[i].dump()));
    }
    if (dim != 0 && count > kMaxElements / dim) {
      return corrupt_tensor(
          source, name,
          fmt::format("shape {} has more elements than memory can hold", value.dump()));
    }
    count *= dim;
    shape.push_back(static_cast<std::int64_t>(dim));  // dim <= kMaxElements < 2^63
  }
  return count;
}

// Checks one tensor's entry against itself and against the size of the data section.
Result<Entry> read_entry(const std::string& name, const json& value, const Source& source) {
  if (!value.is_object()) {
    return corrupt_tensor(source, name,
                          fmt::format("expected an object with dtype, shape and data_offsets, "
                                      "found {}",
                                      value.type_name()));
  }
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(field)) {
      return corrupt_tensor(source, name, fmt::format("the entry has no \"{}\"", field));
    }
  }
  Entry entry{name, kDTypes[0], {}, 0, 0};
  const json& dtype = value["dtype"];
  const DTypeInfo* info = nullptr;
  for (const DTypeInfo& d : kDTypes) {
    if (dtype.is_string() && dtype.get_ref<const std::string&>() == d.name) info = &d;
  }
  if (info == nullptr) {
    return corrupt_tensor(
        source, name,
        fmt::format("dtype {} is not supported (F32, F16, BF16 or F64)", dtype.dump()));
  }
  entry.dtype = *info;
  Result<std::uint64_t> count = read_shape(value["shape"], name, entry.shape, source);
  if (!count) return count.status();
  const json& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !read_unsigned(offsets[0], entry.begin) ||
      !read_unsigned(offsets[1], entry.end) || entry.begin > entry.end) {
    return corrupt_tensor(source, name,
                          fmt::format("data_offsets is {}, expected [begin, end] with "
                                      "0 <= begin <= end",
                                      offsets.dump()));
  }
  const std::uint64_t needed = count.value() * entry.dtype.bytes;
  if (entry.end - entry.begin != needed) {
    return corrupt_tensor(
        source, name,
        fmt::format("data_offsets {} hold {} bytes, but shape {} of {} needs {}", offsets.dump(),
                    entry.end - entry.begin, to_string(entry.shape), entry.dtype.name, needed));
  }
  if (entry.end > source.data_size) {
    return corrupt_tensor(
        source, name,
        fmt::format("its data ends at byte {} of the file, but the file has {} "
                    "bytes: the file is truncated",
                    source.data_start + entry.end, source.data_start + source.data_size));
  }
  return entry;
}

Result<std::map<std::string, std::string>> read_metadata(const json& value, const Source& source) {
  if (!value.is_object()) {
    return corrupt(source, fmt::format("__metadata__ is {}, expected an object of strings",
                                       value.type_name()));
  }
  std::map<std::string, std::string> metadata;
  for (const auto& [key, text] : value.items()) {
    if (!text.is_string()) {
      return corrupt(source,
                     fmt::format("__metadata__ '{}' is {}, expected a string", key, text.dump()));
    }
    metadata.emplace(key, text.get<std::string>());
  }
  return metadata;
}

// The tensors must tile the data section: sorted by offset, each begins where the previous ends,
// the last ends at the end of the file (the spec forbids holes and overlaps).
Status check_tiling(const std::vector<Entry>& entries, const Source& source) {
  std::uint64_t expected = 0;
  std::string_view previous = "the start of the data section";
  for (const Entry& e : entries) {
    if (e.begin < expected) {
      return corrupt_tensor(
          source, e.name,
          fmt::format("its data starts at byte {} of the file, inside '{}' "
                      "which ends at byte {}: tensors overlap",
                      source.data_start + e.begin, previous, source.data_start + expected));
    }
    if (e.begin > expected) {
      return corrupt(
          source,
          fmt::format("bytes {} to {} belong to no tensor (between {} and '{}'): "
                      "the data section must have no holes",
                      source.data_start + expected, source.data_start + e.begin, previous, e.name));
    }
    expected = e.end;
    previous = e.name;
  }
  if (expected != source.data_size) {
    return corrupt(source,
                   fmt::format("the tensors end at byte {}, but the file has {} bytes: "
                               "expected no data after the last tensor",
                               source.data_start + expected, source.data_start + source.data_size));
  }
  return Status::ok();
}

Result<Header> parse_header(std::span<const std::uint8_t> text, const Source& source) {
  if (text.empty() || text[0] != '{') {
    return corrupt(source, fmt::format("byte {}: the header must be a JSON object starting with "
                                       "'{{'",
                                       kLengthBytes));
  }
  Result<json> root = parse_json(text, source);
  if (!root) return root.status();
  Header header;
  for (const auto& [key, value] : root.value().items()) {
    if (key == kMetadataKey) {
      Result<std::map<std::string, std::string>> metadata = read_metadata(value, source);
      if (!metadata) return metadata.status();
      header.metadata = std::move(metadata).value();
      continue;
    }
    Result<Entry> entry = read_entry(key, value, source);
    if (!entry) return entry.status();
    header.entries.push_back(std::move(entry).value());
  }
  std::sort(header.entries.begin(), header.entries.end(), [](const Entry& a, const Entry& b) {
    return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
  });
  RELULAB_TRY(check_tiling(header.entries, source));
  return header;
}

// ---------------------------------------------------------------------------------------------
// Data.

Status check_crc(const std::map<std::string, std::string>& metadata,
                 std::span<const std::uint8_t> data, const Source& source) {
  const auto it = metadata.find(std::string(kCrcKey));
  if (it == metadata.end()) return Status::ok();  // written by another tool
  const std::string& text = it->second;
  const bool hex = text.size() == 8 && std::all_of(text.begin(), text.end(), [](char c) {
                     return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                   });
  if (!hex) {
    return corrupt(source,
                   fmt::format("metadata {} is '{}', expected 8 hex digits", kCrcKey, text));
  }
  const auto expected = static_cast<std::uint32_t>(std::stoul(text, nullptr, 16));
  const std::uint32_t actual = crc32_update(0, data);
  if (expected != actual) {
    return corrupt(source, fmt::format("checksum mismatch: file says {:08x}, data gives {:08x}: "
                                       "the file is corrupt or truncated",
                                       expected, actual));
  }
  return Status::ok();
}

// IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Every value is exact in float.
float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  const std::uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign != 0 ? -magnitude : magnitude;
  }
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

template <class T>
T load(const std::uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

// Decodes one tensor's bytes (entry.end - entry.begin of them) into float.
Tensor decode(const Entry& entry, const std::uint8_t* bytes) {
  Tensor tensor = Tensor::uninitialized(entry.shape);
  float* out = tensor.data();
  const std::size_t n = tensor.size();
  switch (entry.dtype.dtype) {
    case DType::kF32:
      if (n != 0) std::memcpy(out, bytes, n * sizeof(float));
      break;
    case DType::kF16:
      for (std::size_t i = 0; i < n; ++i)
        out[i] = half_to_float(load<std::uint16_t>(bytes + 2 * i));
      break;
    case DType::kBF16:  // the upper half of a float32
      for (std::size_t i = 0; i < n; ++i) {
        out[i] = std::bit_cast<float>(std::uint32_t{load<std::uint16_t>(bytes + 2 * i)} << 16);
      }
      break;
    case DType::kF64:
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load<double>(bytes + 8 * i));
      break;
  }
  return tensor;
}

std::span<const std::uint8_t> as_bytes(const Tensor& t) {
  return {reinterpret_cast<const std::uint8_t*>(t.data()), t.bytes()};
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

Result<SafetensorsFile> parse_safetensors(std::span<const std::uint8_t> bytes,
                                          std::string_view name_for_errors) {
  Source source{name_for_errors, 0, 0};
  if (bytes.size() < kLengthBytes) {
    return corrupt(source, fmt::format("the file has {} bytes, fewer than the 8-byte header "
                                       "length that starts a safetensors file",
                                       bytes.size()));
  }
  std::uint64_t length = 0;
  for (std::size_t i = 0; i < kLengthBytes; ++i) length |= std::uint64_t{bytes[i]} << (8 * i);
  if (length > kMaxSafetensorsHeaderBytes) {
    return corrupt(source, fmt::format("byte 0: the header length is {}, more than the limit of "
                                       "{} bytes: not a safetensors file, or a corrupt one",
                                       length, kMaxSafetensorsHeaderBytes));
  }
  if (length > bytes.size() - kLengthBytes) {
    return corrupt(source, fmt::format("byte 0: the header length is {}, but only {} bytes "
                                       "follow: the file is truncated",
                                       length, bytes.size() - kLengthBytes));
  }
  source.data_start = kLengthBytes + length;
  source.data_size = bytes.size() - source.data_start;
  const std::span<const std::uint8_t> data = bytes.subspan(source.data_start);
  Result<Header> header = parse_header(bytes.subspan(kLengthBytes, length), source);
  if (!header) return header.status();
  RELULAB_TRY(check_crc(header.value().metadata, data, source));

  SafetensorsFile file;
  for (const Entry& entry : header.value().entries) {
    file.tensors.emplace(entry.name, decode(entry, data.data() + entry.begin));
  }
  file.metadata = std::move(header.value().metadata);
  return file;
}

Result<SafetensorsFile> read_safetensors(const std::filesystem::path& path) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  const auto fail = [&](std::string_view what) {
    return Status::io_error(
        fmt::format("cannot {} '{}': {}", what, path.string(), std::strerror(errno)));
  };
  if (!file) return fail("open");
  struct stat info {};
  if (::fstat(::fileno(file.get()), &info) != 0) return fail("stat");
  if (!S_ISREG(info.st_mode)) {
    return Status::io_error(fmt::format("cannot read '{}': not a regular file", path.string()));
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(info.st_size));
  if (std::fread(bytes.data(), 1, bytes.size(), file.get()) != bytes.size()) {
    if (std::ferror(file.get())) return fail("read");
    return Status::io_error(
        fmt::format("cannot read '{}': the file shrank while it was read", path.string()));
  }
  return parse_safetensors(bytes, path.string());
}

Status write_safetensors(const std::filesystem::path& path,
                         const std::vector<std::pair<std::string, Tensor>>& tensors,
                         std::map<std::string, std::string> metadata) {
  const auto invalid = [&](std::string_view what) {
    return Status::invalid_argument(fmt::format("cannot write '{}': {}", path.string(), what));
  };
  json header = json::object();
  std::uint64_t offset = 0;
  std::uint32_t crc = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == kMetadataKey) return invalid("a tensor is named __metadata__, which is reserved");
    if (header.contains(name)) return invalid(fmt::format("two tensors are named '{}'", name));
    header[name] = {{"dtype", "F32"},
                    {"shape", tensor.shape()},
                    {"data_offsets", {offset, offset + tensor.bytes()}}};
    offset += tensor.bytes();
    crc = crc32_update(crc, as_bytes(tensor));
  }
  metadata.insert_or_assign(std::string(kFormatKey), std::string("1"));
  metadata.insert_or_assign(std::string(kCrcKey), fmt::format("{:08x}", crc));
  header[std::string(kMetadataKey)] = metadata;
  std::string text;
  try {
    text = header.dump();
  } catch (const json::type_error& e) {  // a name or metadata string that is not UTF-8
    return invalid(e.what());
  }
  // Padding to a multiple of 8 puts the data section, and so every tensor, at an 8-byte offset.
  text.append((8 - text.size() % 8) % 8, ' ');
  std::uint8_t length[kLengthBytes];
  for (std::size_t i = 0; i < kLengthBytes; ++i) {
    length[i] = static_cast<std::uint8_t>(std::uint64_t{text.size()} >> (8 * i));
  }

  Result<AtomicFile> file = AtomicFile::create(path);
  if (!file) return file.status();
  RELULAB_TRY(file.value().write(length));
  RELULAB_TRY(file.value().write(as_bytes(text)));
  for (const auto& [name, tensor] : tensors) RELULAB_TRY(file.value().write(as_bytes(tensor)));
  return file.value().commit();
}

}  // namespace relulab::io
