// Atomic file replacement: a reader of `path` sees either the old file or the complete new one,
// never a partial write, even if the process dies or the machine loses power mid-write.
//
// How: the bytes go to a temporary file "<path>.tmp-<pid>-<random>" in the same directory (so that
// rename stays within one filesystem), which is flushed and fsync'ed, renamed over `path`, and
// then the directory is fsync'ed so that the rename itself is durable (POSIX rename is atomic;
// without the fsyncs a crash may leave an empty or partial file under the new name on ext4/xfs).
//
// Error behaviour: every failure is Status::io_error naming the path and strerror(errno). After a
// failure `path` is untouched and the temporary file is removed. The new file gets mode
// 0666 & ~umask, not the mode of the file it replaces.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string_view>
#include <utility>

#include "relulab/status.hpp"

namespace relulab::io {

// A file being written that replaces `path` only when commit() succeeds. Abandoning it (destroying
// it without a successful commit) removes the temporary file and leaves `path` as it was.
class AtomicFile {
 public:
  // Creates the temporary file next to `path`. io_error when the directory does not exist or is
  // not writable.
  static Result<AtomicFile> create(const std::filesystem::path& path);

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&& other) noexcept;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  // Appends bytes (buffered). A failed write makes every later write() and commit() fail with the
  // same Status, so a partial file can never be committed.
  Status write(std::span<const std::uint8_t> bytes);
  Status write(std::string_view text);
  // fflush + fsync + close + rename over `path` + fsync of the directory. May be called once;
  // every later write() or commit() is invalid_argument.
  Status commit();

  const std::filesystem::path& path() const noexcept { return path_; }
  const std::filesystem::path& temp_path() const noexcept { return temp_path_; }

 private:
  AtomicFile(std::filesystem::path path, std::filesystem::path temp_path, std::FILE* file)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), file_(file) {}
  // Closes and removes the temporary file if it still exists.
  void discard() noexcept;

  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  std::FILE* file_ = nullptr;  // open until commit or discard
  bool temp_exists_ = true;    // false once renamed or removed
  Status failure_;             // the first write error, returned by every later call
};

// Replaces `path` with `bytes` atomically (AtomicFile: create, write, commit).
Status write_file_atomically(const std::filesystem::path& path,
                             std::span<const std::uint8_t> bytes);
Status write_text_atomically(const std::filesystem::path& path, std::string_view text);

}  // namespace relulab::io
