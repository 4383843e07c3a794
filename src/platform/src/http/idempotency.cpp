#include "idempotency.hpp"

#include <platform/idempotency.hpp>
#include <platform/pq.hpp>
#include <platform/security.hpp>

#include <fmt/format.h>

namespace bazaar::platform::http {

// A response as stored under a key (what a replay sends back).
struct StoredResponse {
  int status = 0;
  std::string body;
  std::string content_type;

  static StoredResponse of(const Reply& reply) {
    return {reply.status, std::string(reply.body_view()), std::string(reply.headers.get("Content-Type").value_or(""))};
  }
  bool matches(const Reply& reply) const {
    return status == reply.status && body == reply.body_view() && content_type == reply.headers.get("Content-Type").value_or("");
  }
};

// The key a request holds while its handler runs (Request::idempotency), and the response a batch of the
// handler stored under it (store_response), once that batch has committed.
struct IdempotencyClaim {
  std::string scope;
  std::string key;
  std::optional<StoredResponse> stored;
};

}  // namespace bazaar::platform::http

namespace bazaar::platform {

namespace {

constexpr int kLockSeconds = 60;  // a key "in progress" longer than this is taken over (crashed request)

bool valid_key(std::string_view key) {
  if (key.empty() || key.size() > 255) return false;
  for (unsigned char c : key) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool releases_key(int status) {
  return status == 400 || status == 413 || status == 415 || status == 422 || status == 429 || status >= 500;
}

struct Stored {
  enum class State { claimed, in_progress, replay, mismatch } state;
  int status = 0;
  std::string body;
  std::string content_type;
};

// Claims the key, or reads what it holds: one round trip (prepared, platform/pq.hpp).
constexpr pq::Prepared kClaim{"platform_idempotency_claim_v1", R"sql(
    WITH claimed AS (
      INSERT INTO platform.idempotency_keys (scope, key, request_hash, status, locked_until)
      VALUES ($1, $2, $3, 'in_progress', now() + make_interval(secs => $4::int))
      ON CONFLICT (scope, key) DO NOTHING
      RETURNING 1)
    SELECT true, NULL, NULL, NULL, NULL, NULL, false FROM claimed
    UNION ALL
    SELECT false, status, request_hash, response_status, response_body, response_type, locked_until < now()
    FROM platform.idempotency_keys WHERE scope = $1 AND key = $2 AND NOT EXISTS (SELECT 1 FROM claimed))sql"};
// The same read on its own: a key that a concurrent request committed while the claim waited on it is
// invisible to the claim's snapshot, but not to this later statement's.
constexpr pq::Prepared kRead{"platform_idempotency_read_v1", R"sql(
    SELECT false, status, request_hash, response_status, response_body, response_type, locked_until < now()
    FROM platform.idempotency_keys WHERE scope = $1 AND key = $2)sql"};
// Takes over a key whose request died mid-way (its lock expired).
constexpr pq::Prepared kTakeOver{"platform_idempotency_take_over_v1", R"sql(
    UPDATE platform.idempotency_keys SET locked_until = now() + make_interval(secs => $3::int)
    WHERE scope = $1 AND key = $2 AND status = 'in_progress' AND locked_until < now())sql"};
constexpr pq::Prepared kStore{"platform_idempotency_store_v1", R"sql(
    UPDATE platform.idempotency_keys
    SET status = 'done', response_status = $3::int, response_body = $4, response_type = $5
    WHERE scope = $1 AND key = $2)sql"};
constexpr pq::Prepared kRelease{"platform_idempotency_release_v1", R"sql(
    DELETE FROM platform.idempotency_keys WHERE scope = $1 AND key = $2)sql"};

pq::Params key_params(const std::string& scope, const std::string& key) {
  pq::Params p;
  p.add(scope);
  p.add(key);
  return p;
}

// Every statement runs on the calling I/O thread's own connection (pq::query), in autocommit.
boost::asio::awaitable<Stored> claim(Database& db, const std::string& scope, const std::string& key,
                                     const std::string& hash) {
  auto params = key_params(scope, key);
  params.add(hash);
  params.add(std::int64_t{kLockSeconds});
  auto r = co_await pq::query(db, kClaim, std::move(params));
  if (r.rows() == 0) r = co_await pq::query(db, kRead, key_params(scope, key));
  const Stored claimed{Stored::State::claimed, 0, {}, {}};
  if (r.rows() == 0) co_return claimed;  // released in between: proceed as new — rare and harmless
  if (r.boolean(0, 0)) co_return claimed;
  if (r.text(0, 2) != hash) co_return Stored{Stored::State::mismatch, 0, {}, {}};
  if (r.text(0, 1) == "done") {
    co_return Stored{Stored::State::replay, static_cast<int>(r.integer(0, 3)), r.string(0, 4), r.string(0, 5)};
  }
  if (r.boolean(0, 6)) {  // the first request died mid-way: take the key over
    auto take = key_params(scope, key);
    take.add(std::int64_t{kLockSeconds});
    if ((co_await pq::query(db, kTakeOver, std::move(take))).affected_rows() == 1) co_return claimed;
  }
  co_return Stored{Stored::State::in_progress, 0, {}, {}};
}

pq::Params store_params(const std::string& scope, const std::string& key, const http::StoredResponse& response) {
  auto params = key_params(scope, key);
  params.add(std::int64_t{response.status});
  params.add(response.body);
  params.add(response.content_type);
  return params;
}

boost::asio::awaitable<void> store(Database& db, const std::string& scope, const std::string& key,
                                   const http::StoredResponse& response) {
  co_await pq::query(db, kStore, store_params(scope, key, response));
}

boost::asio::awaitable<void> release(Database& db, const std::string& scope, const std::string& key) {
  co_await pq::query(db, kRelease, key_params(scope, key));
}

}  // namespace

boost::asio::awaitable<http::Reply> IdempotencyStore::handle(http::Request& rq, const http::Next& next) {
  if (!applies(rq)) co_return co_await next(rq);
  auto key_header = rq.header("Idempotency-Key");
  const std::string key(*key_header);
  if (!valid_key(key)) {
    co_return http::problem(Error::validation("Idempotency-Key", "must be 1 to 255 printable ASCII characters"), rq);
  }
  const std::string scope = rq.principal ? "user:" + rq.principal->user_id
                                         : fmt::format("anon:{}:{}:{}", rq.client_ip, http::to_string(rq.method), rq.route);
  const std::string hash = security::sha256_hex(fmt::format("{} {}\n{}", rq.method_name, rq.target, rq.body));

  Stored stored = co_await claim(db_, scope, key, hash);

  switch (stored.state) {
    case Stored::State::mismatch:
      co_return http::problem(Error::make(Errc::validation_failed, "idempotency_key_reused",
                                          "This Idempotency-Key was used with a different request."),
                              rq);
    case Stored::State::in_progress:
      co_return http::problem(Error::conflict("idempotency_key_in_progress",
                                              "A request with this Idempotency-Key is still being processed."),
                              rq);
    case Stored::State::replay: {
      http::Reply r;
      r.status = stored.status;
      r.body = std::move(stored.body);
      if (!stored.content_type.empty()) r.headers.set("Content-Type", stored.content_type);
      r.headers.set("Idempotent-Replayed", "true");
      co_return r;
    }
    case Stored::State::claimed: break;
  }

  auto held = std::make_shared<http::IdempotencyClaim>(http::IdempotencyClaim{scope, key, std::nullopt});
  rq.idempotency = held;
  http::Reply reply;
  std::exception_ptr failure;
  try {
    reply = co_await next(rq);
  } catch (...) {
    failure = std::current_exception();  // no co_await inside a handler: release the key below
  }
  rq.idempotency.reset();
  // A failure releases the key even if a batch of the handler stored a response: the client never got it.
  if (failure) {
    co_await release(db_, scope, key);
    std::rethrow_exception(failure);
  }
  if (releases_key(reply.status)) {
    co_await release(db_, scope, key);
  } else if (!held->stored || !held->stored->matches(reply)) {  // else stored with the handler's last write
    co_await store(db_, scope, key, http::StoredResponse::of(reply));
  }
  co_return reply;
}

void http::store_response(const Request& rq, const Reply& reply, pq::Pipeline& batch) {
  if (!rq.idempotency || releases_key(reply.status)) return;
  auto response = StoredResponse::of(reply);
  batch.add(kStore, store_params(rq.idempotency->scope, rq.idempotency->key, response));
  // Noted only once the batch has committed: a batch that failed stored nothing, and the layer must.
  batch.on_commit([held = rq.idempotency, response = std::move(response)] { held->stored = response; });
}

boost::asio::awaitable<void> IdempotencyStore::purge_expired() {
  co_await db_.run([](soci::session& s) {
    s << "DELETE FROM platform.idempotency_keys WHERE created_at < now() - interval '24 hours'";
  });
}

}  // namespace bazaar::platform
