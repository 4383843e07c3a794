#pragma once
// Idempotency-Key handling per API.md: the first response to (caller scope, key) is stored for 24 h and
// replayed for the same request; a different body under the same key is 422, a key whose first request
// is still running is 409. Requests that fail validation (400/413/415/422), are rate limited or fail on
// the server (5xx) release their key, so the client can correct and retry with it. A handler may store its
// response itself, with its last write (platform/idempotency.hpp): then the store after it is skipped.
#include <platform/db.hpp>
#include <platform/http.hpp>

namespace bazaar::platform {

class IdempotencyStore {
 public:
  explicit IdempotencyStore(Database& db) : db_(db) {}

  // Whether `handle` has anything to do: a POST/PATCH/DELETE that carries an Idempotency-Key.
  static bool applies(const http::Request& rq) {
    const bool unsafe = rq.method == http::Method::post || rq.method == http::Method::patch || rq.method == http::Method::del;
    return unsafe && rq.header("Idempotency-Key");
  }
  // Wraps `next` for the requests it applies to.
  boost::asio::awaitable<http::Reply> handle(http::Request& rq, const http::Next& next);
  boost::asio::awaitable<void> purge_expired();

 private:
  Database& db_;
};

}  // namespace bazaar::platform
