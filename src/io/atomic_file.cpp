#include "relulab/io/atomic_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <utility>

namespace relulab::io {
namespace {

Status io_error(std::string_view what, const std::filesystem::path& path) {
  return Status::io_error(fmt::format("{} '{}': {}", what, path.string(), std::strerror(errno)));
}

// "<dir>/<name>.tmp-<pid>-<8 hex digits>": unique per process and attempt, and recognisable as
// ours if a crash leaves one behind.
std::filesystem::path temp_path_for(const std::filesystem::path& path, std::uint32_t random) {
  char suffix[48];
  std::snprintf(suffix, sizeof suffix, ".tmp-%ld-%08x", static_cast<long>(::getpid()),
                static_cast<unsigned>(random));
  std::filesystem::path temp = path;
  temp += suffix;
  return temp;
}

// fsync of the directory makes a rename in it durable.
Status sync_directory(const std::filesystem::path& file_path) {
  std::filesystem::path dir = file_path.parent_path();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open directory", dir);
  // EINVAL: the filesystem cannot sync directories (some network filesystems); nothing to do.
  const bool synced = ::fsync(fd) == 0 || errno == EINVAL;
  Status status = synced ? Status::ok() : io_error("cannot fsync directory", dir);
  ::close(fd);
  return status;
}

}  // namespace

Result<AtomicFile> AtomicFile::create(const std::filesystem::path& path) {
  if (path.empty() || !path.has_filename()) {
    return Status::invalid_argument(
        fmt::format("cannot write to '{}': not a file name", path.string()));
  }
  std::random_device device;
  // A name taken by another writer (or left by a crash) is retried with a fresh random part.
  constexpr int kAttempts = 16;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::filesystem::path temp = temp_path_for(path, device());
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) return io_error("cannot create a temporary file next to", path);
    std::FILE* file = ::fdopen(fd, "wb");
    if (file == nullptr) {
      Status status = io_error("cannot open a stream on", temp);
      ::close(fd);
      ::unlink(temp.c_str());
      return status;
    }
    return AtomicFile(path, std::move(temp), file);
  }
  return Status::io_error(
      fmt::format("cannot create a temporary file next to '{}': {} random names were all taken",
                  path.string(), kAttempts));
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      file_(std::exchange(other.file_, nullptr)),
      temp_exists_(std::exchange(other.temp_exists_, false)),
      failure_(std::move(other.failure_)) {}

AtomicFile& AtomicFile::operator=(AtomicFile&& other) noexcept {
  if (this != &other) {
    discard();
    path_ = std::move(other.path_);
    temp_path_ = std::move(other.temp_path_);
    file_ = std::exchange(other.file_, nullptr);
    temp_exists_ = std::exchange(other.temp_exists_, false);
    failure_ = std::move(other.failure_);
  }
  return *this;
}

AtomicFile::~AtomicFile() {
  discard();
}

void AtomicFile::discard() noexcept {
  if (file_ != nullptr) std::fclose(std::exchange(file_, nullptr));
  if (temp_exists_) ::unlink(temp_path_.c_str());
  temp_exists_ = false;
}

Status AtomicFile::write(std::span<const std::uint8_t> bytes) {
  if (!failure_.is_ok()) return failure_;
  if (file_ == nullptr) {
    return Status::invalid_argument(fmt::format("write to '{}' after commit", path_.string()));
  }
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    failure_ = io_error("cannot write", temp_path_);
  }
  return failure_;
}

Status AtomicFile::write(std::string_view text) {
  return write(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

Status AtomicFile::commit() {
  if (!failure_.is_ok()) return failure_;
  if (file_ == nullptr) {
    return Status::invalid_argument(fmt::format("'{}' is already committed", path_.string()));
  }
  std::FILE* file = std::exchange(file_, nullptr);
  if (std::fflush(file) != 0) {
    failure_ = io_error("cannot write", temp_path_);
  } else if (::fsync(::fileno(file)) != 0) {
    failure_ = io_error("cannot fsync", temp_path_);
  }
  // fclose reports a late write error (NFS reports them at close).
  if (std::fclose(file) != 0 && failure_.is_ok()) failure_ = io_error("cannot close", temp_path_);
  if (failure_.is_ok() && std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    failure_ = io_error(fmt::format("cannot rename '{}' to", temp_path_.string()), path_);
  }
  if (!failure_.is_ok()) {
    discard();
    return failure_;
  }
  temp_exists_ = false;
  failure_ = sync_directory(path_);
  return failure_;
}

Status write_file_atomically(const std::filesystem::path& path,
                             std::span<const std::uint8_t> bytes) {
  Result<AtomicFile> file = AtomicFile::create(path);
  if (!file) return file.status();
  RELULAB_TRY(file.value().write(bytes));
  return file.value().commit();
}

Status write_text_atomically(const std::filesystem::path& path, std::string_view text) {
  return write_file_atomically(
      path, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace relulab::io
