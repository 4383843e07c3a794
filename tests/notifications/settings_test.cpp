// Configuration is validated at start-up with errors naming the key, and the render contexts the
// subscriptions build have exactly the shape of the samples that edited templates are checked against.
#include "domain/catalogue.hpp"
#include "settings.hpp"
#include "subscriptions_context.hpp"

#include <platform/config.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

using namespace bazaar;
using namespace bazaar::notifications;
namespace json = boost::json;

namespace {

platform::Config defaults() { return platform::Config::load("", "", nullptr); }

std::string error_of(const platform::Config& c) {
  try {
    load_settings(c);
  } catch (const platform::ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

// Every key path in `v` ("order.lines[].title"), for comparing shapes.
void paths(const json::value& v, const std::string& prefix, std::set<std::string>& out) {
  if (const auto* o = v.if_object()) {
    for (const auto& [k, child] : *o) {
      const auto p = prefix.empty() ? std::string(k) : prefix + "." + std::string(k);
      out.insert(p);
      paths(child, p, out);
    }
  } else if (const auto* a = v.if_array()) {
    for (const auto& item : *a) paths(item, prefix + "[]", out);
  }
}

}  // namespace

TEST_SUITE("notifications.settings") {
  TEST_CASE("settings: the built-in defaults load: file transport, no webhooks, sane worker settings") {
    const auto s = load_settings(defaults());
    CHECK(s.email.transport == "file");
    CHECK(s.email.from.address == "shop@localhost");
    CHECK(s.email.from.name == "bazaar");
    CHECK(s.webhooks.empty());
    CHECK(s.max_attempts == 8);
    CHECK(s.worker_interval == std::chrono::milliseconds(1000));
    CHECK(s.store.url == "http://localhost:3000");
    CHECK(s.store.name == "bazaar");
  }

  TEST_CASE("settings: bad values fail at start-up naming the key") {
    auto c = defaults();
    c.set("notifications.email.transport", "pigeon");
    CHECK(error_of(c).find("notifications.email.transport") != std::string::npos);

    c = defaults();
    c.set("notifications.email.transport", "smtp");
    CHECK(error_of(c).find("notifications.email.smtp_url") != std::string::npos);
    c.set("notifications.email.smtp_url", "http://127.0.0.1:25");
    CHECK(error_of(c).find("notifications.email.smtp_url") != std::string::npos);
    c.set("notifications.email.smtp_url", "smtp://127.0.0.1:2525");
    CHECK(error_of(c) == "<no error>");

    c = defaults();
    c.set("notifications.email.from", "not an address");
    CHECK(error_of(c).find("notifications.email.from") != std::string::npos);

    c = defaults();
    c.set("notifications.email.password", "secret");
    CHECK(error_of(c).find("notifications.email.username") != std::string::npos);

    c = defaults();
    c.set("notifications.max_attempts", 0);
    CHECK(error_of(c).find("notifications.max_attempts") != std::string::npos);
    c = defaults();
    c.set("notifications.worker_interval_ms", 0);
    CHECK(error_of(c).find("notifications.worker_interval_ms") != std::string::npos);
    c = defaults();
    c.set("notifications.email.timeout_ms", "soon");
    CHECK(error_of(c).find("notifications.email.timeout_ms") != std::string::npos);
    c = defaults();
    c.set("store.public_url", "localhost:3000");
    CHECK(error_of(c).find("store.public_url") != std::string::npos);
  }

  TEST_CASE("settings: SMTP with STARTTLS and AUTH from config") {
    auto c = defaults();
    c.set("notifications.email.transport", "smtp");
    c.set("notifications.email.smtp_url", "smtp://mail.example.com:587");
    c.set("notifications.email.starttls", true);
    c.set("notifications.email.username", "shop");
    c.set("notifications.email.password", "from-the-environment");
    c.set("notifications.email.from", "\"Shop, Inc.\" <orders@shop.example>");
    const auto s = load_settings(c);
    CHECK(s.email.transport == "smtp");
    CHECK(s.email.smtp_url == "smtp://mail.example.com:587");
    CHECK(s.email.starttls);
    CHECK(s.email.username == "shop");
    CHECK(s.email.password == "from-the-environment");
    CHECK(s.email.from.name == "Shop, Inc.");
    CHECK(s.email.from.address == "orders@shop.example");
    c.set("notifications.email.starttls", "sometimes");
    CHECK(error_of(c).find("notifications.email.starttls") != std::string::npos);
  }

  TEST_CASE("settings: the SMTP CA file is optional, and when given must be readable") {
    CHECK(load_settings(defaults()).email.smtp_ca_file.empty());
    auto c = defaults();
    c.set("notifications.email.smtp_ca_file", "/nonexistent/ca.pem");
    CHECK(error_of(c).find("notifications.email.smtp_ca_file") != std::string::npos);
    c.set("notifications.email.smtp_ca_file", "/tmp");  // a directory is not a PEM file
    CHECK(error_of(c).find("notifications.email.smtp_ca_file") != std::string::npos);
    const auto ca = std::filesystem::temp_directory_path() / "bazaar-settings-test-ca.pem";
    std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\n";
    c.set("notifications.email.smtp_ca_file", json::string(ca.string()));
    CHECK(load_settings(c).email.smtp_ca_file == ca);
    std::filesystem::remove(ca);
  }

  TEST_CASE("settings: retention defaults to 90 days in bounded batches, and is validated") {
    const auto s = load_settings(defaults());
    CHECK(s.retention == std::chrono::days(90));
    CHECK(s.retention_batch == 1000);
    CHECK(s.retention_interval == std::chrono::hours(1));
    auto c = defaults();
    c.set("notifications.retention_days", 0);
    CHECK(error_of(c).find("notifications.retention_days") != std::string::npos);
    c = defaults();
    c.set("notifications.retention_batch", 0);
    CHECK(error_of(c).find("notifications.retention_batch") != std::string::npos);
    c = defaults();
    c.set("notifications.retention_days", 7);
    CHECK(load_settings(c).retention == std::chrono::days(7));
  }

  TEST_CASE("settings: webhooks need http(s) URLs, event types and a secret") {
    auto c = defaults();
    c.set("notifications.webhooks", json::parse(R"([{"url": "ftp://x", "events": ["orders.order_paid"]}])"));
    CHECK(error_of(c).find("notifications.webhooks[0].url") != std::string::npos);
    c.set("notifications.webhooks", json::parse(R"([{"url": "https://erp.example/hook", "events": []}])"));
    CHECK(error_of(c).find("notifications.webhooks[0].events") != std::string::npos);
    c.set("notifications.webhooks", json::parse(R"([{"url": "https://erp.example/hook", "events": ["Bad Type"]}])"));
    CHECK(error_of(c).find("notifications.webhooks[0].events") != std::string::npos);
    c.set("notifications.webhooks",
          json::parse(R"([{"url": "https://erp.example/hook", "events": ["orders.order_paid"]}])"));
    CHECK(error_of(c).find("notifications.webhook_secret") != std::string::npos);
    c.set("notifications.webhook_secret", "0123456789abcdef0123");
    const auto s = load_settings(c);
    REQUIRE(s.webhooks.size() == 1);
    CHECK(s.endpoints_for("orders.order_paid").size() == 1);
    CHECK(s.endpoints_for("orders.order_shipped").empty());
    // From the environment the list arrives as JSON text.
    c.set("notifications.webhooks", R"([{"url": "http://127.0.0.1:9/h", "events": ["catalog.stock_low"]}])");
    CHECK(load_settings(c).endpoints_for("catalog.stock_low").size() == 1);
    c.set("notifications.webhooks", "[not json");
    CHECK(error_of(c).find("notifications.webhooks") != std::string::npos);
  }

  TEST_CASE("settings: order contexts have exactly the shape of the samples templates are checked against") {
    orders::OrderSummary o;
    o.order_id = "0190c0de-0000-7000-8000-000000000001";
    o.number = "BZR-000001";
    o.email = "ada@example.com";
    o.currency = "EUR";
    o.lines = {{"v", "p", "SKU", "Title", 1, 100, 100}};
    o.subtotal = 100;
    o.total = 100;
    o.shipping_address = json::object{{"first_name", "Ada"}, {"last_name", "L"}, {"line1", "x"},  {"city", "y"},
                                      {"postal_code", "1"},  {"country", "DE"},  {"phone", "+49"}};
    o.status = "paid";
    o.payment_status = "captured";
    std::set<std::string> built, sample;
    paths(order_context(o), "", built);
    auto s = domain::sample_context("order_confirmed", {"bazaar", "http://localhost:3000"});
    s.erase("store");
    s.erase("recipient");
    paths(s, "", sample);
    CHECK(built == sample);
  }

  TEST_CASE("settings: every template name has a sample context and at least one channel") {
    for (const auto& spec : domain::template_specs()) {
      CHECK_MESSAGE(!domain::sample_context(spec.name, {"bazaar", "http://x"}).empty(), spec.name);
      CHECK_MESSAGE((spec.email || spec.in_app), spec.name);
    }
    CHECK(domain::sample_context("nope", {"bazaar", "http://x"}).empty());
  }
}
