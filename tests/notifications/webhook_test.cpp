// Webhooks against a real HTTP receiver (started here): the event JSON, signed like the payment webhook;
// non-2xx and timeouts are failures retried later; a hanging endpoint holds up neither email nor the
// other endpoints.
#include "notifications/notifications_support.hpp"

#include <catalog/events.hpp>
#include <orders/events.hpp>
#include <platform/security.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

using namespace bazaar;
using namespace bazaar::notifications_test;

namespace {

struct Signature {
  std::string t;
  std::string v1;
};

Signature parse_signature(const std::string& header) {
  Signature s;
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto comma = header.find(',', pos);
    if (comma == std::string::npos) comma = header.size();
    const auto part = header.substr(pos, comma - pos);
    if (part.rfind("t=", 0) == 0) s.t = part.substr(2);
    if (part.rfind("v1=", 0) == 0) s.v1 = part.substr(3);
    pos = comma + 1;
  }
  return s;
}

}  // namespace

TEST_SUITE("db.notifications") {
  TEST_CASE("notifications: webhooks are signed POSTs of the event; failures are retried; a hang holds up nothing") {
    Sink hooks("http", free_port());
    hooks.start();
    Sink smtp("smtp", free_port());
    smtp.start();
    const auto base = "http://127.0.0.1:" + std::to_string(hooks.port());
    auto config = smtp_config(smtp.port());
    config.set("notifications.webhooks",
               json::array{json::object{{"url", base + "/hooks/erp"},
                                        {"events", json::array{"orders.order_paid", "catalog.product_published"}}},
                           json::object{{"url", base + "/status/503"}, {"events", json::array{"orders.order_paid"}}},
                           json::object{{"url", base + "/hang"}, {"events", json::array{"orders.order_paid"}}}});
    config.set("notifications.webhook_secret", kWebhookSecret);
    config.set("notifications.webhook_timeout_ms", 500);
    TestApp app(config);
    clean_slate(app);

    auto order = sample_order();
    const auto event_id = publish(app, orders::OrderPaid{order}, order.order_id);
    app.platform().drain_events();
    const auto queued = of_channel(deliveries_of_event(app, event_id), "webhook");
    REQUIRE(queued.size() == 3);
    for (const auto& d : queued) CHECK(d.template_name == "orders.order_paid");

    const auto started = std::chrono::steady_clock::now();
    deliver(app);
    const auto took = std::chrono::steady_clock::now() - started;
    CHECK(took < std::chrono::seconds(5));  // the hanging endpoint cost its timeout, not its 30 s

    // Email went out in the same pass.
    smtp.wait_for([&](const json::object& m) { return str(m.at("rcpt_tos").as_array()[0]) == order.email; });

    const auto hook = hooks.wait_for([&](const json::object& r) {
      return str(r.at("path")) == "/hooks/erp" && contains(str(r.at("body")), event_id);
    });
    const auto& headers = hook.at("headers").as_object();
    CHECK(str(headers.at("content-type")) == "application/json");
    CHECK(str(headers.at("bazaar-event-id")) == event_id);
    CHECK(str(headers.at("bazaar-event-type")) == "orders.order_paid");
    const auto body = str(hook.at("body"));
    const auto sig = parse_signature(str(headers.at("bazaar-signature")));
    REQUIRE_FALSE(sig.t.empty());
    CHECK(sig.v1 == platform::security::hmac_sha256_hex(kWebhookSecret, sig.t + "." + body));
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    CHECK(std::llabs(now - std::stoll(sig.t)) < 300);
    const auto event = json::parse(body).as_object();
    CHECK(str(event.at("id")) == event_id);
    CHECK(str(event.at("type")) == "orders.order_paid");
    CHECK(str(event.at("payload").at("order").at("number")) == order.number);

    for (const auto& d : of_channel(deliveries_of_event(app, event_id), "webhook")) {
      if (contains(d.recipient, "/hooks/erp")) {
        CHECK(d.status == "sent");
      } else if (contains(d.recipient, "/status/503")) {
        CHECK(d.status == "failed");
        CHECK_MESSAGE(contains(d.last_error, "HTTP 503"), d.last_error);
      } else {
        CHECK(d.status == "failed");
        CHECK_MESSAGE(contains(d.last_error, "webhook:"), d.last_error);
        CHECK(d.attempts == 1);
      }
    }

    // Event types no message is made of can be forwarded too.
    catalog::ProductPublished published{platform::new_uuid_v7(), "mug-" + testing::unique_suffix(), "Mug"};
    const auto published_id = publish(app, published, published.product_id);
    app.platform().drain_events();
    deliver(app);
    hooks.wait_for([&](const json::object& r) { return contains(str(r.at("body")), published_id); });
    const auto forwarded = deliveries_of_event(app, published_id);
    REQUIRE(forwarded.size() == 1);
    CHECK(forwarded[0].status == "sent");
  }
  TEST_CASE("notifications: a hung mail server delays no webhook, and after a timeout it is left alone for a while") {
    Sink hooks("http", free_port());  // also the "mail server": it never answers an SMTP client
    hooks.start();
    auto config = smtp_config(hooks.port());
    config.set("notifications.email.timeout_ms", 700);
    config.set("notifications.worker_threads", 1);
    config.set("notifications.backoff_base_ms", 60000);
    config.set("notifications.webhooks",
               json::array{json::object{{"url", "http://127.0.0.1:" + std::to_string(hooks.port()) + "/hooks"},
                                        {"events", json::array{"orders.order_paid"}}}});
    config.set("notifications.webhook_secret", kWebhookSecret);
    TestApp app(config);
    clean_slate(app);

    std::vector<std::string> events;
    for (int i = 0; i < 3; ++i) {
      auto order = sample_order();
      events.push_back(publish(app, orders::OrderPaid{order}, order.order_id));
    }
    app.platform().drain_events();
    const auto started = std::chrono::steady_clock::now();
    deliver(app);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));

    int attempted = 0, deferred = 0;
    for (const auto& event_id : events) {
      const auto rows = deliveries_of_event(app, event_id);
      CHECK(of_channel(rows, "webhook").at(0).status == "sent");  // untouched by the mail server's trouble
      const auto email = of_channel(rows, "email").at(0);
      CHECK(email.status == (email.attempts == 1 ? "failed" : "pending"));
      if (email.attempts == 1) {
        ++attempted;
        CHECK_MESSAGE(contains(email.last_error, "smtp:"), email.last_error);
      } else {
        ++deferred;
      }
    }
    CHECK(attempted == 1);  // one timeout, then the server is skipped: the others wait without using attempts
    CHECK(deferred == 2);

    // Due again right now, but the server is still in its cool-down: nothing is tried, nothing waits 700 ms.
    exec_sql(app,
             "UPDATE notifications.deliveries SET next_attempt_at = now() WHERE status IN ('pending', 'failed') "
             "AND channel = 'email'");
    const auto again = std::chrono::steady_clock::now();
    deliver(app);
    CHECK(std::chrono::steady_clock::now() - again < std::chrono::milliseconds(600));
    for (const auto& event_id : events) {
      CHECK(of_channel(deliveries_of_event(app, event_id), "email").at(0).attempts <= 1);
    }
  }
}
