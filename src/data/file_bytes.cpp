#include "relulab/data/file_bytes.hpp"

#define ZLIB_CONST  // next_in is const: zlib never writes its input
#include <fmt/format.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

namespace relulab::data {
namespace {

// Bytes read from a file, or fed to zlib, at a time.
constexpr std::size_t kChunkBytes = std::size_t{1} << 16;

// Appends `bytes` to `out` unless that passes `max_bytes`. Grows the capacity geometrically but
// never past max_bytes, so a capped reader never allocates more than its cap.
bool append_capped(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes,
                   std::size_t max_bytes) {
  if (bytes.size() > max_bytes - out.size()) return false;
  const std::size_t needed = out.size() + bytes.size();
  if (needed > out.capacity())
    out.reserve(std::min(max_bytes, std::max(needed, 2 * out.capacity())));
  out.insert(out.end(), bytes.begin(), bytes.end());
  return true;
}

// Inflates a gzip stream fed in chunks. `offset_` counts compressed bytes consumed, which is where
// an error is reported; a stream of several members (gzip -d accepts concatenated files) restarts
// the inflater at each member's end.
class GunzipStream {
 public:
  GunzipStream(std::string_view name, std::size_t max_bytes)
      : name_(name), max_bytes_(max_bytes), scratch_(kChunkBytes) {
    // 16 + MAX_WBITS: a gzip header and trailer (CRC-32 and length are checked) around a deflate
    // stream with a 32 KiB window.
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
  }
  ~GunzipStream() { inflateEnd(&z_); }
  GunzipStream(const GunzipStream&) = delete;
  GunzipStream& operator=(const GunzipStream&) = delete;

  // chunk.size() <= kChunkBytes.
  Status feed(std::span<const std::uint8_t> chunk) {
    z_.next_in = chunk.data();
    z_.avail_in = static_cast<uInt>(chunk.size());
    for (;;) {
      z_.next_out = scratch_.data();
      z_.avail_out = static_cast<uInt>(scratch_.size());
      const uInt in_before = z_.avail_in;
      const int rc = inflate(&z_, Z_NO_FLUSH);
      const uInt consumed = in_before - z_.avail_in;
      offset_ += consumed;
      if (consumed > 0) member_open_ = true;
      const std::size_t produced = scratch_.size() - z_.avail_out;
      if (!append_capped(out_, std::span(scratch_).first(produced), max_bytes_)) {
        return Status::corrupt_data(fmt::format(
            "{}: compressed byte {}: gunzipped data exceed {} bytes, expected at most {} (a gzip "
            "bomb, or a file larger than this reader accepts)",
            name_, offset_, max_bytes_, max_bytes_));
      }
      if (rc == Z_STREAM_END) {
        member_open_ = false;
        last_member_end_ = offset_;
        ++members_;
        inflateReset(&z_);
        if (z_.avail_in == 0) return Status::ok();
        continue;
      }
      // Z_BUF_ERROR: no progress possible until more input comes; not an error in itself.
      if (rc == Z_BUF_ERROR && z_.avail_in == 0) return Status::ok();
      if (rc != Z_OK) return corrupt(rc);
      if (z_.avail_in == 0 && z_.avail_out != 0) return Status::ok();  // all output flushed
    }
  }

  Result<std::vector<std::uint8_t>> finish() {
    if (member_open_ || members_ == 0) {
      return Status::corrupt_data(fmt::format(
          "{}: compressed byte {}: gzip stream ends early, expected more compressed data "
          "(truncated file)",
          name_, offset_));
    }
    return std::move(out_);
  }

 private:
  Status corrupt(int rc) const {
    const std::string after =
        members_ == 0 ? std::string()
                      : fmt::format(" after the gzip member that ends at compressed byte {}",
                                    last_member_end_);
    return Status::corrupt_data(
        fmt::format("{}: compressed byte {}: corrupt gzip stream{}: expected valid deflate data, "
                    "zlib says '{}'",
                    name_, offset_, after, z_.msg != nullptr ? z_.msg : zError(rc)));
  }

  std::string name_;
  std::size_t max_bytes_;
  std::vector<std::uint8_t> scratch_;
  std::vector<std::uint8_t> out_;
  z_stream z_{};
  std::uint64_t offset_ = 0;
  std::uint64_t last_member_end_ = 0;
  std::uint64_t members_ = 0;
  bool member_open_ = false;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

std::string quoted(const std::filesystem::path& path) {
  return fmt::format("'{}'", path.string());
}

}  // namespace

bool is_gzip(std::span<const std::uint8_t> bytes) noexcept {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

Result<std::vector<std::uint8_t>> gunzip(std::span<const std::uint8_t> compressed,
                                         std::string_view name, std::size_t max_bytes) {
  GunzipStream stream(name, max_bytes);
  for (std::size_t at = 0; at < compressed.size(); at += kChunkBytes) {
    const std::size_t n = std::min(kChunkBytes, compressed.size() - at);
    if (Status s = stream.feed(compressed.subspan(at, n)); !s) return s;
  }
  return stream.finish();
}

Result<std::vector<std::uint8_t>> decode_bytes(std::span<const std::uint8_t> bytes,
                                               std::string_view name, std::size_t max_bytes) {
  if (is_gzip(bytes)) return gunzip(bytes, name, max_bytes);
  if (bytes.size() > max_bytes) {
    return Status::corrupt_data(
        fmt::format("{}: {} bytes, expected at most {}", name, bytes.size(), max_bytes));
  }
  return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
}

Result<std::vector<std::uint8_t>> read_file_bytes(const std::filesystem::path& path,
                                                  std::size_t max_bytes, bool* gunzipped) {
  const File file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    return Status::io_error(fmt::format("{}: cannot open: {}", quoted(path), std::strerror(errno)));
  }
  struct stat info {};
  if (fstat(fileno(file.get()), &info) != 0) {
    return Status::io_error(fmt::format("{}: cannot stat: {}", quoted(path), std::strerror(errno)));
  }
  if (S_ISDIR(info.st_mode)) {
    return Status::io_error(
        fmt::format("{}: cannot read: expected a file, found a directory", quoted(path)));
  }
  std::vector<std::uint8_t> chunk(kChunkBytes);
  auto read_chunk = [&]() -> Result<std::size_t> {
    const std::size_t n = std::fread(chunk.data(), 1, chunk.size(), file.get());
    if (n < chunk.size() && std::ferror(file.get())) {
      return Status::io_error(
          fmt::format("{}: cannot read: {}", quoted(path), std::strerror(errno)));
    }
    return n;
  };

  Result<std::size_t> n = read_chunk();
  if (!n) return n.status();
  const bool gz = is_gzip(std::span(chunk).first(n.value()));
  if (gunzipped != nullptr) *gunzipped = gz;

  if (gz) {
    GunzipStream stream(quoted(path), max_bytes);
    while (n.value() > 0) {
      if (Status s = stream.feed(std::span(chunk).first(n.value())); !s) return s;
      n = read_chunk();
      if (!n) return n.status();
    }
    return stream.finish();
  }

  // A raw file: its size decides the allocation, checked first. The chunked loop still caps what
  // is read, for a file that grows meanwhile or one that is not a regular file.
  const auto file_size = static_cast<std::uint64_t>(info.st_size);
  auto too_large = [&](std::uint64_t size) {
    return Status::corrupt_data(
        fmt::format("{}: file is {}{} bytes, expected at most {} (larger than this reader accepts)",
                    quoted(path), size == file_size ? "" : "more than ", size, max_bytes));
  };
  if (S_ISREG(info.st_mode) && file_size > max_bytes) return too_large(file_size);
  std::vector<std::uint8_t> out;
  out.reserve(S_ISREG(info.st_mode) ? static_cast<std::size_t>(file_size) : n.value());
  while (n.value() > 0) {
    if (!append_capped(out, std::span(chunk).first(n.value()), max_bytes)) {
      return too_large(out.size() + n.value());
    }
    n = read_chunk();
    if (!n) return n.status();
  }
  return out;
}

std::string describe_contents(const std::filesystem::path& path, bool gunzipped) {
  return gunzipped ? quoted(path) + " (gunzipped)" : quoted(path);
}

}  // namespace relulab::data
