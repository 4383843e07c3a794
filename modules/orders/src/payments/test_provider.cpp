#include "payments/test_provider.hpp"

#include "repository.hpp"

#include <platform/ids.hpp>
#include <platform/security.hpp>

#include <fmt/format.h>

#include <charconv>

namespace bazaar::orders::payments {

using platform::Errc;
using platform::Error;

namespace {

Outcome outcome_from(const std::string& s) {
  if (s == "captured" || s == "refunded") return Outcome::captured;
  if (s == "authorized") return Outcome::authorized;
  if (s == "pending") return Outcome::pending;
  return Outcome::declined;
}

Error invalid_signature(std::string detail) { return Error::make(Errc::bad_request, "invalid_signature", std::move(detail)); }

}  // namespace

std::string sign_payload(const std::string& secret, std::int64_t unix_time, std::string_view body) {
  return fmt::format("t={},v1={}", unix_time,
                     platform::security::hmac_sha256_hex(secret, fmt::format("{}.{}", unix_time, body)));
}

boost::asio::awaitable<Authorization> TestProvider::authorize(AuthorizeRequest request) {
  repo::TestPayment p;
  p.reference = "pay_" + platform::security::random_token(12);
  p.amount = request.amount.amount;
  if (request.token == "tok_visa") {
    p.outcome = request.capture ? "captured" : "authorized";
    p.captured = request.capture ? p.amount : 0;
  } else if (request.token == "tok_async") {
    p.outcome = "pending";
  } else {
    p.outcome = "declined";
  }
  // The first authorisation of an order wins: a retry gets the same answer, never a second charge.
  auto stored = co_await repo::put_test_payment(db_, request.order_id, p);
  Authorization a{outcome_from(stored.outcome), stored.reference, {}};
  if (stored.outcome == "declined" || stored.outcome == "failed") a.message = "The card was declined.";
  co_return a;
}

boost::asio::awaitable<std::optional<Authorization>> TestProvider::lookup(std::string order_id) {
  auto p = co_await db_.run([&](soci::session& s) { return repo::find_test_payment(s, order_id); });
  if (!p) co_return std::nullopt;
  co_return Authorization{outcome_from(p->outcome), p->reference, p->outcome, p->refunded};
}

boost::asio::awaitable<platform::Result<void>> TestProvider::capture(std::string order_id, std::int64_t amount) {
  auto ok = co_await db_.run([&](soci::session& s) {
    auto p = repo::find_test_payment(s, order_id);
    if (!p || (p->outcome != "authorized" && p->outcome != "captured")) return false;
    p->outcome = "captured";
    p->captured = amount;
    repo::update_test_payment(s, order_id, *p);
    return true;
  });
  if (!ok) co_return Error::conflict("payment_not_capturable", "The payment cannot be captured.");
  co_return platform::Result<void>{};
}

boost::asio::awaitable<platform::Result<void>> TestProvider::refund(std::string order_id, std::int64_t amount) {
  auto ok = co_await db_.run([&](soci::session& s) {
    auto p = repo::find_test_payment(s, order_id);
    if (!p || p->refunded + amount > p->captured) return false;
    p->refunded += amount;
    if (p->refunded == p->captured) p->outcome = "refunded";
    repo::update_test_payment(s, order_id, *p);
    return true;
  });
  if (!ok) co_return Error::conflict("refund_exceeds_capture", "The refund exceeds what was captured.");
  co_return platform::Result<void>{};
}

boost::asio::awaitable<void> TestProvider::void_authorization(std::string order_id) {
  co_await db_.run([&](soci::session& s) {
    auto p = repo::find_test_payment(s, order_id);
    if (!p || (p->outcome != "authorized" && p->outcome != "pending")) return;
    p->outcome = "failed";
    repo::update_test_payment(s, order_id, *p);
  });
}

boost::asio::awaitable<void> TestProvider::acknowledge(const WebhookEvent& event) {
  const bool succeeded = event.type == "payment.succeeded";
  const std::string& order_id = event.order_id;
  co_await db_.run([&](soci::session& s) {
    auto p = repo::find_test_payment(s, order_id);
    if (!p || p->outcome != "pending") return;
    p->outcome = succeeded ? "captured" : "failed";
    p->captured = succeeded ? p->amount : 0;
    repo::update_test_payment(s, order_id, *p);
  });
}

platform::Result<WebhookEvent> TestProvider::verify_webhook(const platform::http::Request& rq,
                                                            std::chrono::system_clock::time_point now) const {
  auto header = rq.header("Bazaar-Signature");
  if (!header) return invalid_signature("The Bazaar-Signature header is missing.");
  std::string_view t, v1;
  std::string_view rest = *header;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto part = rest.substr(0, comma);
    if (part.substr(0, 2) == "t=") t = part.substr(2);
    if (part.substr(0, 3) == "v1=") v1 = part.substr(3);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  std::int64_t ts = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), ts);
  if (t.empty() || ec != std::errc() || p != t.data() + t.size() || v1.empty()) {
    return invalid_signature("The Bazaar-Signature header is malformed.");
  }
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (ts < now_s - tolerance_.count() || ts > now_s + tolerance_.count()) {
    return invalid_signature("The signature timestamp is outside the tolerance window.");
  }
  const auto expected = platform::security::hmac_sha256_hex(secret_, fmt::format("{}.{}", ts, rq.body));
  if (!platform::security::constant_time_equal(expected, v1)) return invalid_signature("The signature does not match.");

  auto body = platform::parse_json_object(rq.body);
  if (!body) return body.error();
  platform::FieldReader r(*body);
  WebhookEvent e;
  auto id = r.string("id", true, 5, 255);
  auto type = r.string("type", true, 1, 100);
  const auto* data = r.object("data", true);
  if (id && id->rfind("evt_", 0) != 0) r.fail("id", "must start with evt_");
  if (type && *type != "payment.succeeded" && *type != "payment.failed") {
    r.fail("type", "must be payment.succeeded or payment.failed");
  }
  std::optional<std::string> order_id;
  std::optional<platform::Money> amount;
  if (data) {
    platform::FieldReader d(*data, "data");
    order_id = d.string("order_id", true, 36, 36);
    if (order_id && !platform::is_uuid(*order_id)) d.fail("order_id", "must be a UUID");
    if (const auto* m = d.object("amount", true)) {
      platform::FieldReader mr(*m, "data.amount");
      auto a = mr.integer("amount", true, 0);
      auto c = mr.string("currency", true, 3, 3);
      if (a && c) amount = platform::Money{*a, *c};
      for (const auto& fe : mr.errors()) r.fail(fe.field, fe.message);
    }
    for (const auto& fe : d.errors()) r.fail(fe.field, fe.message);
  }
  if (!r.ok()) return r.error();
  e.id = *id;
  e.type = *type;
  e.order_id = *platform::normalize_uuid(*order_id);
  e.amount = *amount;
  return e;
}

}  // namespace bazaar::orders::payments
