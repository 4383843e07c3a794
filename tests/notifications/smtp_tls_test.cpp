// SMTP with STARTTLS and AUTH against a real server (aiosmtpd via sink.py, with a CA made for the run that
// signs the server's certificate for 127.0.0.1): the message travels encrypted and authenticated; wrong
// credentials, a server without STARTTLS, or a certificate nobody vouches for make failed deliveries
// (retried, then dead, by the usual rules), and neither the message nor the credentials leave in the clear.
#include "notifications/notifications_support.hpp"

#include <orders/events.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace bazaar;
using namespace bazaar::notifications_test;

namespace {

const std::string kUser = "shop";
const std::string kPassword = "correct horse battery staple";

auto to_address(const std::string& email) {
  return [email](const json::object& m) {
    const auto& rcpts = m.at("rcpt_tos").as_array();
    return !rcpts.empty() && str(rcpts[0]) == email;
  };
}

// A server that refuses mail without STARTTLS and without AUTH as kUser/kPassword.
std::vector<std::string> secure_server() { return {"--starttls", "--auth", kUser + ":" + kPassword}; }

// STARTTLS required, AUTH with `password`, the server's certificate checked against the sink's CA.
platform::Config secure_config(const Sink& smtp, const std::string& password) {
  auto c = smtp_config(smtp.port());
  c.set("notifications.email.starttls", true);
  c.set("notifications.email.username", json::string(kUser));
  c.set("notifications.email.password", json::string(password));
  c.set("notifications.email.smtp_ca_file", json::string((smtp.dir() / "ca.pem").string()));
  return c;
}

// An order confirmation queued for sending; returns its event id.
std::string queue_email(TestApp& app, const orders::OrderSummary& order) {
  const auto event_id = publish(app, orders::OrderPaid{order}, order.order_id);
  app.platform().drain_events();
  REQUIRE(of_channel(deliveries_of_event(app, event_id), "email").size() == 1);
  return event_id;
}

DeliveryState email_of(TestApp& app, const std::string& event_id) {
  return of_channel(deliveries_of_event(app, event_id), "email").at(0);
}

}  // namespace

TEST_SUITE("db.notifications") {
  TEST_CASE("notifications: with STARTTLS and AUTH the email arrives encrypted, sent by the configured user") {
    Sink smtp("smtp", free_port(), secure_server());
    smtp.start();
    TestApp app(secure_config(smtp, kPassword));
    clean_slate(app);

    const auto order = sample_order();
    const auto event_id = queue_email(app, order);
    deliver(app);

    const auto m = smtp.wait_for(to_address(order.email));
    CHECK(m.at("tls").as_bool());
    CHECK(str(m.at("auth_user")) == kUser);
    CHECK(str(m.at("subject")) == "Your order " + order.number + " is confirmed");
    CHECK(contains(str(m.at("text")), order.number));
    const auto row = email_of(app, event_id);
    CHECK(row.status == "sent");
    CHECK(row.attempts == 1);

    const auto attempts = smtp.auth_attempts();
    REQUIRE(attempts.size() == 1);
    CHECK(attempts[0].at("success").as_bool());
    CHECK(attempts[0].at("tls").as_bool());
    CHECK(str(attempts[0].at("login")) == kUser);
  }

  TEST_CASE("notifications: wrong SMTP credentials fail readably, are retried, then dead; nothing is sent") {
    Sink smtp("smtp", free_port(), secure_server());
    smtp.start();
    auto config = secure_config(smtp, "not the password");
    config.set("notifications.max_attempts", 2);
    TestApp app(config);
    clean_slate(app);

    const auto event_id = queue_email(app, sample_order());
    deliver(app);
    auto row = email_of(app, event_id);
    CHECK(row.status == "failed");
    CHECK(row.attempts == 1);
    CHECK_MESSAGE(contains(row.last_error, "smtp: "), row.last_error);
    CHECK_MESSAGE(contains(row.last_error, "server replied 535"), row.last_error);
    CHECK_MESSAGE(contains(row.last_error, "notifications.email.password"), row.last_error);
    CHECK_FALSE(contains(row.last_error, "not the password"));  // the error names the key, never the secret

    deliver(app);
    row = email_of(app, event_id);
    CHECK(row.status == "dead");
    CHECK(row.attempts == 2);
    deliver(app);  // dead is final
    CHECK(email_of(app, event_id).attempts == 2);

    CHECK(smtp.received().empty());
    const auto attempts = smtp.auth_attempts();
    CHECK(attempts.size() == 2);  // one login per delivery attempt
    for (const auto& a : attempts) {
      CHECK_FALSE(a.at("success").as_bool());
      CHECK(a.at("tls").as_bool());  // refused, but even the wrong password travelled encrypted
      CHECK(str(a.at("login")) == kUser);
    }
  }

  TEST_CASE("notifications: when STARTTLS is required and the server offers none, nothing leaves in the clear") {
    // This server would take AUTH and mail over plain SMTP; only the client's refusal keeps them off it.
    Sink smtp("smtp", free_port(), {"--auth", kUser + ":" + kPassword, "--auth-in-clear"});
    smtp.start();
    auto config = smtp_config(smtp.port());
    config.set("notifications.email.starttls", true);
    config.set("notifications.email.username", json::string(kUser));
    config.set("notifications.email.password", json::string(kPassword));
    std::string event_id;
    const auto order = sample_order();
    {
      TestApp app(config);
      clean_slate(app);
      event_id = queue_email(app, order);
      deliver(app);
      const auto row = email_of(app, event_id);
      CHECK(row.status == "failed");
      CHECK(row.attempts == 1);
      CHECK_MESSAGE(contains(row.last_error, "STARTTLS"), row.last_error);
      CHECK_MESSAGE(contains(row.last_error, "nothing was sent"), row.last_error);
      CHECK(smtp.received().empty());
      CHECK(smtp.auth_attempts().empty());
    }

    // Control: a client that does not require TLS hands the same server the credentials and the message in
    // the clear (the row is still due), so the emptiness above is the STARTTLS requirement's doing.
    config.set("notifications.email.starttls", false);
    TestApp plain(config);
    deliver(plain);
    const auto m = smtp.wait_for(to_address(order.email));
    CHECK_FALSE(m.at("tls").as_bool());
    const auto attempts = smtp.auth_attempts();
    REQUIRE(attempts.size() == 1);
    CHECK_FALSE(attempts[0].at("tls").as_bool());
    CHECK(email_of(plain, event_id).status == "sent");
  }

  TEST_CASE("notifications: the server's certificate is verified: without the CA file the delivery fails") {
    Sink smtp("smtp", free_port(), secure_server());
    smtp.start();
    auto config = secure_config(smtp, kPassword);
    config.set("notifications.email.smtp_ca_file", "");  // the system's trust store knows no test CA
    TestApp app(config);
    clean_slate(app);

    const auto event_id = queue_email(app, sample_order());
    deliver(app);
    const auto row = email_of(app, event_id);
    CHECK(row.status == "failed");
    CHECK_MESSAGE(contains(row.last_error, "certificate"), row.last_error);
    CHECK_MESSAGE(contains(row.last_error, "notifications.email.smtp_ca_file"), row.last_error);
    CHECK(smtp.received().empty());
    CHECK(smtp.auth_attempts().empty());  // no credentials for a server nobody vouched for
  }
}
