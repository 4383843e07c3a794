#pragma once
// Errors that cross layers: a service returns them in Result<T>, the HTTP edge turns them into RFC 9457
// problem documents. `detail` is shown to clients; `internal` only goes to the logs.
#include <boost/system/result.hpp>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace bazaar::platform {

enum class Errc {
  bad_request,             // 400 malformed input
  unauthorized,            // 401
  payment_required,        // 402
  forbidden,               // 403
  not_found,               // 404
  method_not_allowed,      // 405
  conflict,                // 409
  payload_too_large,       // 413
  unsupported_media_type,  // 415
  validation_failed,       // 422
  rate_limited,            // 429
  internal,                // 500
  unavailable,             // 503
};

int http_status(Errc code);
std::string_view default_slug(Errc code);
std::string_view default_title(Errc code);

struct FieldError {
  std::string field;
  std::string message;
};

struct Error {
  Errc code = Errc::internal;
  std::string slug;      // machine-readable, e.g. "email_taken"; defaults to the Errc's slug
  std::string detail;    // human-readable, client-safe
  std::string internal;  // for logs only
  std::vector<FieldError> fields;
  int retry_after_seconds = 0;  // for 429 and 503

  std::string_view code_slug() const { return slug.empty() ? default_slug(code) : std::string_view(slug); }

  static Error make(Errc code, std::string slug, std::string detail) {
    return Error{code, std::move(slug), std::move(detail), {}, {}, 0};
  }
  static Error bad_request(std::string detail) { return make(Errc::bad_request, "bad_request", std::move(detail)); }
  static Error not_found(std::string detail = "The resource does not exist.") {
    return make(Errc::not_found, "not_found", std::move(detail));
  }
  static Error conflict(std::string slug, std::string detail) {
    return make(Errc::conflict, std::move(slug), std::move(detail));
  }
  static Error forbidden(std::string slug, std::string detail) {
    return make(Errc::forbidden, std::move(slug), std::move(detail));
  }
  static Error unauthorized(std::string slug, std::string detail) {
    return make(Errc::unauthorized, std::move(slug), std::move(detail));
  }
  static Error validation(std::vector<FieldError> fields, std::string detail = "The request is not valid.") {
    Error e = make(Errc::validation_failed, "validation_failed", std::move(detail));
    e.fields = std::move(fields);
    return e;
  }
  static Error validation(std::string field, std::string message) {
    return validation({FieldError{std::move(field), std::move(message)}});
  }
  static Error unavailable(std::string detail, int retry_after_seconds = 1) {
    Error e = make(Errc::unavailable, "unavailable", std::move(detail));
    e.retry_after_seconds = retry_after_seconds;
    return e;
  }
  static Error rate_limited(int retry_after_seconds) {
    Error e = make(Errc::rate_limited, "rate_limited", "Too many requests; try again later.");
    e.retry_after_seconds = retry_after_seconds;
    return e;
  }
  static Error internal_error(std::string internal) {
    Error e = make(Errc::internal, "internal", "An unexpected error occurred.");
    e.internal = std::move(internal);
    return e;
  }
};

// Thrown where a Result cannot be returned (inside a database job, a middleware); the HTTP edge and the
// transaction helper turn it back into the Error it carries.
class ErrorException : public std::runtime_error {
 public:
  explicit ErrorException(Error error)
      : std::runtime_error(error.internal.empty() ? error.detail : error.internal), error_(std::move(error)) {}
  const Error& error() const noexcept { return error_; }

 private:
  Error error_;
};

[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace bazaar::platform
