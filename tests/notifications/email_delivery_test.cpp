// Email end to end against a real SMTP server (aiosmtpd, started here): events from real flows or published
// as contracts, the delivery worker's passes, and what the server actually received — headers, MIME
// structure, bodies, links — plus retries, dead letters, admin retry and exactly-once per event.
#include "accounts/accounts_support.hpp"
#include "notifications/notifications_support.hpp"

#include <catalog/events.hpp>
#include <orders/events.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace bazaar;
using namespace bazaar::notifications_test;
namespace acc = bazaar::accounts_test;

namespace {

auto to_address(const std::string& email) {
  return [email](const json::object& m) {
    const auto& rcpts = m.at("rcpt_tos").as_array();
    return !rcpts.empty() && str(rcpts[0]) == email;
  };
}

}  // namespace

TEST_SUITE("db.notifications") {
  TEST_CASE("notifications: an order confirmation arrives over SMTP as multipart/alternative with lines and totals") {
    Sink smtp("smtp", free_port());
    smtp.start();
    TestApp app(smtp_config(smtp.port()));
    clean_slate(app);

    auto order = sample_order("", "Zoë");
    const auto event_id = publish(app, orders::OrderPaid{order}, order.order_id);
    app.platform().drain_events();
    auto rows = of_channel(deliveries_of_event(app, event_id), "email");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].status == "pending");
    CHECK(rows[0].template_name == "order_confirmed");

    deliver(app);
    const auto m = smtp.wait_for(to_address(order.email));
    CHECK(str(m.at("mail_from")) == "shop@localhost");
    CHECK(str(m.at("from")) == "bazaar <shop@localhost>");
    CHECK(str(m.at("to")) == "Zoë Lovelace <" + order.email + ">");
    CHECK(str(m.at("subject")) == "Your order " + order.number + " is confirmed");
    CHECK(str(m.at("message_id")) == "<" + rows[0].id + "@localhost>");
    CHECK(str(m.at("delivery_id")) == rows[0].id);
    CHECK(str(m.at("mime_version")) == "1.0");
    CHECK(str(m.at("date")).ends_with("+0000"));
    CHECK(str(m.at("content_type")) == "multipart/alternative");
    CHECK(m.at("defects").as_array().empty());

    const auto raw = Sink::raw_of(m);
    CHECK(contains(raw, "\r\nTo: =?UTF-8?B?"));  // the non-ASCII display name is RFC 2047-encoded
    CHECK(contains(raw, "Content-Transfer-Encoding: quoted-printable"));

    const auto text = str(m.at("text"));
    const auto html = str(m.at("html"));
    for (const auto& body : {text, html}) {
      CHECK(contains(body, order.number));
      CHECK(contains(body, "Enamel mug"));
      CHECK(contains(body, "Earl Grey, 250 g"));
      CHECK(contains(body, "25.00 EUR"));  // line total
      CHECK(contains(body, "33.99 EUR"));  // subtotal
      CHECK(contains(body, "4.95 EUR"));   // shipping
      CHECK(contains(body, "38.94 EUR"));  // total
      CHECK(contains(body, "12 Main Street"));
      CHECK(contains(body, "Zoë"));
    }
    CHECK(contains(text, "2 × Enamel mug"));
    CHECK(contains(html, "<table"));

    rows = of_channel(deliveries_of_event(app, event_id), "email");
    CHECK(rows[0].status == "sent");
    CHECK(rows[0].attempts == 1);
  }

  TEST_CASE("notifications: the shipped email carries the carrier and the tracking number") {
    Sink smtp("smtp", free_port());
    smtp.start();
    TestApp app(smtp_config(smtp.port()));
    clean_slate(app);

    auto order = sample_order();
    order.status = "shipped";
    publish(app, orders::OrderShipped{order, "DHL", "JD0146000062812"}, order.order_id);
    app.platform().drain_events();
    deliver(app);
    const auto m = smtp.wait_for(to_address(order.email));
    CHECK(str(m.at("subject")) == "Your order " + order.number + " is on its way");
    for (const auto& body : {str(m.at("text")), str(m.at("html"))}) {
      CHECK(contains(body, "DHL"));
      CHECK(contains(body, "JD0146000062812"));
      CHECK(contains(body, order.number));
    }
  }

  TEST_CASE("notifications: registration sends one welcome email whose verification link works") {
    Sink smtp("smtp", free_port());
    smtp.start();
    auto config = smtp_config(smtp.port());
    config.set("store.public_url", "https://shop.example/");
    TestApp app(config);
    clean_slate(app);

    const auto email = acc::fresh_email("zoe");
    const auto user = acc::register_user(app, email, acc::kPassword, "Zoë", "Ådahl");
    app.platform().drain_events();
    deliver(app);
    const auto m = smtp.wait_for(to_address(email));
    CHECK(str(m.at("subject")) == "Welcome to bazaar, Zoë: please confirm your email");
    const auto raw = Sink::raw_of(m);
    CHECK(contains(raw, "\r\nSubject: =?UTF-8?B?"));  // the UTF-8 subject travels RFC 2047-encoded

    const auto token = acc::token_from_outbox(app, user.id, "accounts.email_verification_requested");
    const auto link = "https://shop.example/verify-email?token=" + token;
    CHECK(contains(str(m.at("text")), link));
    CHECK(contains(str(m.at("html")), "href=\"" + link + "\""));

    // The link's token is the one the API takes.
    auto r = app.http().post_json("/api/v1/auth/verify-email", json::object{{"token", token}});
    CHECK(r.status == 204);
    CHECK(acc::me(app, user.token).at("email_verified").as_bool());

    // One business moment, one email (welcome and verification together), and a welcome in the inbox.
    CHECK(smtp.matching(to_address(email)).size() == 1);
    auto inbox = app.http().get("/api/v1/me/notifications", user.token);
    REQUIRE(inbox.status == 200);
    const auto inbox_doc = inbox.json();
    const auto& items = inbox_doc.at("items").as_array();
    REQUIRE(items.size() == 1);
    CHECK(str(items[0].at("type")) == "welcome");
    CHECK(str(items[0].at("title")) == "Welcome to bazaar, Zoë!");
    CHECK_FALSE(items[0].at("read").as_bool());
  }

  TEST_CASE("notifications: a password reset email carries the reset link") {
    Sink smtp("smtp", free_port());
    smtp.start();
    TestApp app(smtp_config(smtp.port()));
    const auto user = acc::new_user(app, "reset");
    clean_slate(app);

    auto r = app.http().post_json("/api/v1/auth/password-reset", json::object{{"email", user.email}});
    REQUIRE(r.status == 202);
    app.platform().drain_events();
    deliver(app);
    const auto m = smtp.wait_for(to_address(user.email));
    CHECK(str(m.at("subject")) == "Reset your bazaar password");
    const auto token = acc::token_from_outbox(app, user.id, "accounts.password_reset_requested");
    CHECK(contains(str(m.at("text")), "http://localhost:3000/reset-password?token=" + token));
    CHECK(contains(str(m.at("html")), "http://localhost:3000/reset-password?token=" + token));
  }

  TEST_CASE("notifications: SMTP down means retries, then dead; an admin retry after it is back sends it") {
    const auto port = free_port();  // nothing listens yet
    auto config = smtp_config(port);
    config.set("notifications.max_attempts", 3);
    TestApp app(config);
    const auto admin = acc::new_admin(app);
    clean_slate(app);

    auto order = sample_order();
    const auto event_id = publish(app, orders::OrderPaid{order}, order.order_id);
    app.platform().drain_events();

    for (int attempt = 1; attempt <= 3; ++attempt) {
      deliver(app);
      const auto row = of_channel(deliveries_of_event(app, event_id), "email").at(0);
      CHECK(row.attempts == attempt);
      CHECK(row.status == (attempt < 3 ? "failed" : "dead"));
      CHECK_MESSAGE(contains(row.last_error, "smtp:"), row.last_error);
    }
    deliver(app);  // dead is final: no fourth attempt
    const auto dead = of_channel(deliveries_of_event(app, event_id), "email").at(0);
    CHECK(dead.attempts == 3);
    CHECK(dead.status == "dead");

    auto listed = app.http().get("/admin/v1/notifications?status=dead&channel=email", admin.token);
    REQUIRE(listed.status == 200);
    bool found = false;
    const auto listed_doc = listed.json();
    for (const auto& item : listed_doc.at("items").as_array()) {
      if (str(item.at("id")) == dead.id) {
        found = true;
        CHECK(item.at("attempts").as_int64() == 3);
        CHECK(contains(str(item.at("last_error")), "smtp:"));
        CHECK(str(item.at("template")) == "order_confirmed");
        CHECK(item.at("sent_at").is_null());
      }
    }
    CHECK(found);

    Sink smtp("smtp", port);
    smtp.start();
    auto retried = app.http().post_json("/admin/v1/notifications/" + dead.id + "/retry", json::object{}, admin.token);
    REQUIRE_MESSAGE(retried.status == 200, retried.body);
    CHECK(str(retried.json().at("status")) == "pending");
    CHECK(retried.json().at("attempts").as_int64() == 0);
    CHECK(count_sql(app,
                    "SELECT count(*) FROM platform.audit_log WHERE action = 'notifications.delivery.retry' "
                    "AND target_id = :id",
                    dead.id) == 1);

    deliver(app);
    const auto m = smtp.wait_for(to_address(order.email));
    CHECK(contains(str(m.at("text")), order.number));
    const auto sent = of_channel(deliveries_of_event(app, event_id), "email").at(0);
    CHECK(sent.status == "sent");
    CHECK(sent.attempts == 1);
    CHECK(sent.last_error.empty());

    auto missing = app.http().post_json("/admin/v1/notifications/" + platform::new_uuid_v7() + "/retry", json::object{},
                                        admin.token);
    CHECK(missing.status == 404);
  }

  TEST_CASE("notifications: a product title with <script> is escaped in the HTML part and raw in the text part") {
    Sink smtp("smtp", free_port());
    smtp.start();
    TestApp app(smtp_config(smtp.port()));
    clean_slate(app);

    auto order = sample_order();
    order.lines[0].title = "<script>alert('pwned')</script> & <b>bold</b>";
    publish(app, orders::OrderPaid{order}, order.order_id);
    app.platform().drain_events();
    deliver(app);
    const auto m = smtp.wait_for(to_address(order.email));
    const auto html = str(m.at("html"));
    const auto text = str(m.at("text"));
    CHECK(contains(html, "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"));
    CHECK_FALSE(contains(html, "<script>"));
    CHECK_FALSE(contains(html, "<b>bold"));
    CHECK(contains(text, "<script>alert('pwned')</script> & <b>bold</b>"));
  }

  TEST_CASE("notifications: exactly one email per event even when the event is delivered twice") {
    Sink smtp("smtp", free_port());
    smtp.start();
    TestApp app(smtp_config(smtp.port()));
    clean_slate(app);

    auto order = sample_order();
    const auto event_id = publish(app, orders::OrderPaid{order}, order.order_id);
    app.platform().drain_events();
    deliver(app);
    smtp.wait_for(to_address(order.email));

    // Redeliver: once through the dispatcher as is (the inbox skips it), then with the inbox row gone too
    // (as after the inbox purge), so that only the deliveries' unique key stands in the way.
    for (int round = 0; round < 2; ++round) {
      if (round == 1) {
        app.platform().db().run_sync([&](soci::session& s) {
          s << "DELETE FROM platform.inbox WHERE event_id = CAST(:e AS uuid) AND subscriber = 'notifications.messages'",
              soci::use(event_id);
        });
      }
      app.platform().db().run_sync([&](soci::session& s) {
        s << "UPDATE platform.outbox SET status = 'pending', next_attempt_at = now(), locked_until = NULL "
             "WHERE id = CAST(:e AS uuid)",
            soci::use(event_id);
      });
      app.platform().drain_events();
      CHECK(count_sql(app, "SELECT count(*) FROM platform.outbox WHERE id = CAST(:e AS uuid) AND status = 'delivered'",
                      event_id) == 1);
      deliver(app);
    }
    CHECK(of_channel(deliveries_of_event(app, event_id), "email").size() == 1);
    // Nothing else is on its way: a second message would have been sent by the passes above.
    CHECK(smtp.matching(to_address(order.email)).size() == 1);
  }

  TEST_CASE("notifications: one message per business moment for placed, paid and cancelled orders") {
    TestApp app(notify_config());
    clean_slate(app);

    auto card = sample_order();
    const auto placed_now = publish(app, orders::OrderPlaced{card, false}, card.order_id);
    auto later = sample_order();
    const auto placed_later = publish(app, orders::OrderPlaced{later, true}, later.order_id);
    const auto declined = publish(app, orders::OrderCancelled{card, "payment_declined", false}, card.order_id);
    const auto timed_out = publish(app, orders::OrderCancelled{later, "payment_timeout", false}, later.order_id);
    app.platform().drain_events();

    CHECK(deliveries_of_event(app, placed_now).empty());  // OrderPaid follows within the request
    CHECK(deliveries_of_event(app, declined).empty());    // the customer saw the decline at checkout
    const auto received = of_channel(deliveries_of_event(app, placed_later), "email");
    REQUIRE(received.size() == 1);
    CHECK(received[0].template_name == "order_received");
    const auto cancelled = of_channel(deliveries_of_event(app, timed_out), "email");
    REQUIRE(cancelled.size() == 1);
    CHECK(cancelled[0].template_name == "order_cancelled");
  }

  TEST_CASE("notifications: a template that fails to render is a failed delivery; fixed and retried, it is sent") {
    TestApp app(notify_config());
    const auto admin = acc::new_admin(app);
    clean_slate(app);

    std::string original;
    app.platform().db().run_sync([&](soci::session& s) {
      s << "SELECT body FROM notifications.templates WHERE name = 'order_delivered' AND channel = 'email'",
          soci::into(original);
    });
    REQUIRE_FALSE(original.empty());
    // Break it behind the admin API's back (the API would refuse it), and always put it back.
    struct Restore {
      TestApp& app;
      std::string body;
      ~Restore() {
        app.platform().db().run_sync([&](soci::session& s) {
          s << "UPDATE notifications.templates SET body = :b WHERE name = 'order_delivered' AND channel = 'email'",
              soci::use(body);
        });
      }
    } restore{app, original};
    app.platform().db().run_sync([&](soci::session& s) {
      s << "UPDATE notifications.templates SET body = 'Hello\n{{order.numbr}}' "
           "WHERE name = 'order_delivered' AND channel = 'email'";
    });

    auto order = sample_order();
    const auto event_id = publish(app, orders::OrderDelivered{order}, order.order_id);
    CHECK(app.platform().drain_events() >= 1);  // no exception, no endless redelivery
    CHECK(count_sql(app, "SELECT count(*) FROM platform.outbox WHERE id = CAST(:e AS uuid) AND status = 'delivered'",
                    event_id) == 1);
    const auto failed = of_channel(deliveries_of_event(app, event_id), "email");
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].status == "failed");
    CHECK(failed[0].last_error == "template 'order_delivered' body: line 2, column 1: unknown variable 'order.numbr'");
    deliver(app);  // a render failure is not retried by the worker
    CHECK(of_channel(deliveries_of_event(app, event_id), "email")[0].attempts == 0);

    // Retrying while the template is still broken says why.
    auto still =
        app.http().post_json("/admin/v1/notifications/" + failed[0].id + "/retry", json::object{}, admin.token);
    CHECK(still.status == 422);
    CHECK(acc::code_of(still) == "template_error");

    app.platform().db().run_sync([&](soci::session& s) {
      s << "UPDATE notifications.templates SET body = :b WHERE name = 'order_delivered' AND channel = 'email'",
          soci::use(original);
    });
    auto retried =
        app.http().post_json("/admin/v1/notifications/" + failed[0].id + "/retry", json::object{}, admin.token);
    REQUIRE_MESSAGE(retried.status == 200, retried.body);
    deliver(app);
    const auto sent = of_channel(deliveries_of_event(app, event_id), "email");
    CHECK(sent[0].status == "sent");
    // The file transport (the default) wrote it.
    const auto dir = std::string(app.platform().config().find("notifications.email.dir")->as_string());
    const auto eml = read_text(fs::path(dir) / (sent[0].id + ".eml"));
    CHECK(contains(eml, "Subject: Your order " + order.number + " was delivered"));
  }

  TEST_CASE("notifications: with wake-on-commit the email leaves right after the event, without waiting for a poll") {
    Sink smtp("smtp", free_port());
    smtp.start();
    auto config = smtp_config(smtp.port());
    config.set("notifications.wake_on_commit", true);
    TestApp app(config);
    clean_slate(app);

    auto order = sample_order();
    publish(app, orders::OrderPaid{order}, order.order_id);
    app.platform().drain_events();  // the subscriber's commit wakes the worker; no pass is run here
    const auto m = smtp.wait_for(to_address(order.email));
    CHECK(contains(str(m.at("subject")), order.number));
  }

  TEST_CASE("notifications: low stock goes to every active admin by email and in the inbox") {
    TestApp app(notify_config());
    const auto admin = acc::new_admin(app, "Grace", "Hopper");
    const auto customer = acc::new_user(app, "not-admin");
    clean_slate(app);

    catalog::StockLow low{
        platform::new_uuid_v7(), platform::new_uuid_v7(), "SKU-" + testing::unique_suffix(), "Linen shirt — M", 2, 5};
    const auto event_id = publish(app, low, low.variant_id);
    app.platform().drain_events();
    deliver(app);  // expands the admins, then sends

    const auto rows = deliveries_of_event(app, event_id);
    const auto emails = of_channel(rows, "email");
    bool to_admin = false;
    for (const auto& d : emails) {
      CHECK(d.recipient != customer.email);
      if (d.recipient == admin.email) {
        to_admin = true;
        CHECK(d.status == "sent");
        CHECK(d.template_name == "stock_low");
      }
    }
    CHECK(to_admin);
    auto inbox = app.http().get("/api/v1/me/notifications", admin.token);
    REQUIRE(inbox.status == 200);
    const auto inbox_doc = inbox.json();
    const auto& items = inbox_doc.at("items").as_array();
    REQUIRE_FALSE(items.empty());
    CHECK(str(items[0].at("type")) == "stock_low");
    CHECK(str(items[0].at("title")) == "Low stock: " + low.sku);
    CHECK(contains(str(items[0].at("body")), "down to 2 available (threshold 5)"));
    const auto customer_inbox = app.http().get("/api/v1/me/notifications", customer.token).json();
    for (const auto& item : customer_inbox.at("items").as_array()) {
      CHECK(str(item.at("type")) != "stock_low");
    }
  }
}
