#include "idempotency.hpp"

#include <platform/security.hpp>

#include <fmt/format.h>

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

}  // namespace

boost::asio::awaitable<http::Reply> IdempotencyStore::handle(http::Request& rq, const http::Next& next) {
  const bool applies = rq.method == http::Method::post || rq.method == http::Method::patch || rq.method == http::Method::del;
  auto key_header = rq.header("Idempotency-Key");
  if (!applies || !key_header) co_return co_await next(rq);
  const std::string key(*key_header);
  if (!valid_key(key)) {
    co_return http::problem(Error::validation("Idempotency-Key", "must be 1 to 255 printable ASCII characters"), rq);
  }
  const std::string scope = rq.principal ? "user:" + rq.principal->user_id
                                         : fmt::format("anon:{}:{}:{}", rq.client_ip, http::to_string(rq.method), rq.route);
  const std::string hash = security::sha256_hex(fmt::format("{} {}\n{}", rq.method_name, rq.target, rq.body));

  Stored stored = co_await db_.run([&](soci::session& s) {
    Stored out{Stored::State::claimed, 0, {}, {}};
    soci::statement insert = (s.prepare << R"sql(
        INSERT INTO platform.idempotency_keys (scope, key, request_hash, status, locked_until)
        VALUES (:scope, :key, :hash, 'in_progress', now() + make_interval(secs => :lock))
        ON CONFLICT (scope, key) DO NOTHING)sql",
                              soci::use(scope), soci::use(key), soci::use(hash), soci::use(kLockSeconds));
    insert.execute(true);
    if (insert.get_affected_rows() == 1) return out;

    std::string status, request_hash, content_type;
    int response_status = 0;
    soci::indicator status_ind = soci::i_ok, type_ind = soci::i_ok;
    std::string body;
    soci::indicator body_ind = soci::i_ok;
    int expired = 0;
    s << R"sql(SELECT status, request_hash, response_status, response_body, response_type,
                      (locked_until < now())::int
               FROM platform.idempotency_keys WHERE scope = :scope AND key = :key)sql",
        soci::into(status), soci::into(request_hash), soci::into(response_status, status_ind),
        soci::into(body, body_ind), soci::into(content_type, type_ind), soci::into(expired), soci::use(scope),
        soci::use(key);
    if (!s.got_data()) return out;  // deleted in between (released): proceed as new — rare and harmless
    if (request_hash != hash) return Stored{Stored::State::mismatch, 0, {}, {}};
    if (status == "done") return Stored{Stored::State::replay, response_status, body, content_type};
    if (expired) {  // the first request died mid-way: take the key over
      soci::statement take = (s.prepare << R"sql(
          UPDATE platform.idempotency_keys SET locked_until = now() + make_interval(secs => :lock)
          WHERE scope = :scope AND key = :key AND status = 'in_progress' AND locked_until < now())sql",
                              soci::use(kLockSeconds), soci::use(scope), soci::use(key));
      take.execute(true);
      if (take.get_affected_rows() == 1) return out;
    }
    return Stored{Stored::State::in_progress, 0, {}, {}};
  });

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

  http::Reply reply;
  std::exception_ptr failure;
  try {
    reply = co_await next(rq);
  } catch (...) {
    failure = std::current_exception();  // no co_await inside a handler: release the key below
  }
  if (failure) {
    co_await db_.run([&](soci::session& s) {
      s << "DELETE FROM platform.idempotency_keys WHERE scope = :scope AND key = :key", soci::use(scope), soci::use(key);
    });
    std::rethrow_exception(failure);
  }
  const std::string body(reply.body_view());
  const std::string content_type(reply.headers.get("Content-Type").value_or(""));
  const int status = reply.status;
  co_await db_.run([&](soci::session& s) {
    if (releases_key(status)) {
      s << "DELETE FROM platform.idempotency_keys WHERE scope = :scope AND key = :key", soci::use(scope), soci::use(key);
    } else {
      s << R"sql(UPDATE platform.idempotency_keys
                 SET status = 'done', response_status = :st, response_body = :body,
                     response_type = :ct
                 WHERE scope = :scope AND key = :key)sql",
          soci::use(status), soci::use(body), soci::use(content_type), soci::use(scope), soci::use(key);
    }
  });
  co_return reply;
}

boost::asio::awaitable<void> IdempotencyStore::purge_expired() {
  co_await db_.run([](soci::session& s) {
    s << "DELETE FROM platform.idempotency_keys WHERE created_at < now() - interval '24 hours'";
  });
}

}  // namespace bazaar::platform
