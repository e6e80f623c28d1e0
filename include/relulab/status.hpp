// Errors as values (LevelDB style): a Status says whether an operation succeeded and, if not,
// what went wrong and where, in words a user can act on. Result<T> carries a value or a Status.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace relulab {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // a caller passed a bad name, parameter or size
  kIoError,          // a file could not be opened, read or written
  kCorruptData,      // a file's contents contradict its format
  kNumericalError,   // NaN or Inf where a finite value is required
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // success
  static Status ok() { return Status(); }
  static Status invalid_argument(std::string message) {
    return Status(StatusCode::kInvalidArgument, std::move(message));
  }
  static Status io_error(std::string message) {
    return Status(StatusCode::kIoError, std::move(message));
  }
  static Status corrupt_data(std::string message) {
    return Status(StatusCode::kCorruptData, std::move(message));
  }
  static Status numerical_error(std::string message) {
    return Status(StatusCode::kNumericalError, std::move(message));
  }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value of type T, or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {}  // NOLINT: must not be ok()

  bool is_ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return is_ok(); }
  // Precondition: is_ok().
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  // The error; Status::ok() when a value is held.
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(state_); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace relulab

// Returns the Status of `expr` from the enclosing function (which returns Status or Result<T>)
// when it is not ok.
#define RELULAB_TRY(expr)                                                               \
  do {                                                                                  \
    if (::relulab::Status relulab_try_status_ = (expr); !relulab_try_status_.is_ok()) { \
      return relulab_try_status_;                                                       \
    }                                                                                   \
  } while (false)
