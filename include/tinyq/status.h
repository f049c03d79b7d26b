// Status and Result: how every library call reports failure. A failed Status carries a code
// and a message that names the file, field, node or input at fault.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace tinyq {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad input from the caller: shape, dtype, name, malformed data
  kNotFound,         // a file, model id or tensor name that does not exist
  kUnsupported,      // an op, attribute or dtype tinyq does not implement
  kIoError,          // a read or write that failed
  kCorrupt,          // a file that exists but cannot be parsed
  kIntegrity,        // a digest mismatch or a path escaping its folder
  kLimit,            // a configured resource limit was exceeded
  kInternal,         // a broken invariant inside tinyq
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status invalid_argument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status not_found(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status unsupported(std::string msg) { return {StatusCode::kUnsupported, std::move(msg)}; }
  static Status io_error(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }
  static Status corrupt(std::string msg) { return {StatusCode::kCorrupt, std::move(msg)}; }
  static Status integrity(std::string msg) { return {StatusCode::kIntegrity, std::move(msg)}; }
  static Status limit(std::string msg) { return {StatusCode::kLimit, std::move(msg)}; }
  static Status internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "code: message", for logs and CLI errors.
  std::string to_string() const;
  // Returns a copy whose message is prefixed with `context: `.
  Status with_context(const std::string& context) const;

 private:
  Status(StatusCode code, std::string msg) : code_(code), message_(std::move(msg)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a failed Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).is_ok() && "Result built from an ok Status");
  }
  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace tinyq

#define TINYQ_CONCAT_INNER_(a, b) a##b
#define TINYQ_CONCAT_(a, b) TINYQ_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (a Status) failed.
#define TINYQ_RETURN_IF_ERROR(expr)              \
  do {                                           \
    ::tinyq::Status tinyq_status_ = (expr);      \
    if (!tinyq_status_.is_ok()) return tinyq_status_; \
  } while (0)

// `TINYQ_ASSIGN_OR_RETURN(auto x, f());` unwraps a Result or returns its Status.
#define TINYQ_ASSIGN_OR_RETURN(lhs, expr) \
  TINYQ_ASSIGN_OR_RETURN_IMPL_(TINYQ_CONCAT_(tinyq_result_, __LINE__), lhs, expr)
#define TINYQ_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.is_ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
