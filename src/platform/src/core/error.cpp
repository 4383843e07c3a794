#include <platform/error.hpp>

namespace bazaar::platform {

int http_status(Errc code) {
  switch (code) {
    case Errc::bad_request: return 400;
    case Errc::unauthorized: return 401;
    case Errc::payment_required: return 402;
    case Errc::forbidden: return 403;
    case Errc::not_found: return 404;
    case Errc::method_not_allowed: return 405;
    case Errc::conflict: return 409;
    case Errc::payload_too_large: return 413;
    case Errc::unsupported_media_type: return 415;
    case Errc::validation_failed: return 422;
    case Errc::rate_limited: return 429;
    case Errc::internal: return 500;
    case Errc::unavailable: return 503;
  }
  return 500;
}

std::string_view default_slug(Errc code) {
  switch (code) {
    case Errc::bad_request: return "bad_request";
    case Errc::unauthorized: return "unauthorized";
    case Errc::payment_required: return "payment_required";
    case Errc::forbidden: return "forbidden";
    case Errc::not_found: return "not_found";
    case Errc::method_not_allowed: return "method_not_allowed";
    case Errc::conflict: return "conflict";
    case Errc::payload_too_large: return "payload_too_large";
    case Errc::unsupported_media_type: return "unsupported_media_type";
    case Errc::validation_failed: return "validation_failed";
    case Errc::rate_limited: return "rate_limited";
    case Errc::internal: return "internal";
    case Errc::unavailable: return "unavailable";
  }
  return "internal";
}

std::string_view default_title(Errc code) {
  switch (code) {
    case Errc::bad_request: return "Bad request";
    case Errc::unauthorized: return "Unauthorized";
    case Errc::payment_required: return "Payment required";
    case Errc::forbidden: return "Forbidden";
    case Errc::not_found: return "Not found";
    case Errc::method_not_allowed: return "Method not allowed";
    case Errc::conflict: return "Conflict";
    case Errc::payload_too_large: return "Payload too large";
    case Errc::unsupported_media_type: return "Unsupported media type";
    case Errc::validation_failed: return "Validation failed";
    case Errc::rate_limited: return "Too many requests";
    case Errc::internal: return "Internal server error";
    case Errc::unavailable: return "Service unavailable";
  }
  return "Internal server error";
}

void throw_exception_from_error(const Error& e, const boost::source_location&) { throw ErrorException(e); }

}  // namespace bazaar::platform
