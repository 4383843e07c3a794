// The in-app inbox (ownership, unread filter, pagination, mark read), the personal-data export and erasure,
// and the admin views of deliveries and templates.
#include "accounts/accounts_support.hpp"
#include "domain/catalogue.hpp"
#include "domain/template.hpp"
#include "notifications/notifications_support.hpp"
#include "service.hpp"

#include <orders/events.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <set>

using namespace bazaar;
using namespace bazaar::notifications_test;
namespace acc = bazaar::accounts_test;

namespace {

json::array inbox_items(TestApp& app, const std::string& token, const std::string& query = "") {
  auto r = app.http().get("/api/v1/me/notifications" + query, token);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return r.json().at("items").as_array();
}

std::set<std::string> ids_of(const json::array& items) {
  std::set<std::string> ids;
  for (const auto& i : items) ids.insert(str(i.at("id")));
  return ids;
}

std::string message_of_type(const json::array& items, const std::string& type) {
  for (const auto& i : items) {
    if (str(i.at("type")) == type) return str(i.at("id"));
  }
  return {};
}

// Puts a template back as it was when the test started, whatever happens in between.
struct TemplateGuard {
  TestApp& app;
  std::string name;
  std::string channel;
  std::string subject;
  std::string body;
  TemplateGuard(TestApp& a, std::string n, std::string c) : app(a), name(std::move(n)), channel(std::move(c)) {
    app.platform().db().run_sync([&](soci::session& s) {
      s << "SELECT subject, body FROM notifications.templates WHERE name = :n AND channel = :c", soci::use(name),
          soci::use(channel), soci::into(subject), soci::into(body);
    });
  }
  ~TemplateGuard() {
    app.platform().db().run_sync([&](soci::session& s) {
      s << "UPDATE notifications.templates SET subject = :s, body = :b WHERE name = :n AND channel = :c",
          soci::use(subject), soci::use(body), soci::use(name), soci::use(channel);
    });
  }
};

}  // namespace

TEST_SUITE("db.notifications") {
  TEST_CASE("notifications: each user sees and marks only their own notifications; another's is a 404") {
    TestApp app(notify_config());
    const auto ada = acc::new_user(app, "ada");
    const auto bob = acc::new_user(app, "bob");
    clean_slate(app);

    auto order = sample_order(ada.id);
    order.email = ada.email;
    publish(app, orders::OrderPaid{order}, order.order_id);
    order.status = "shipped";
    publish(app, orders::OrderShipped{order, "UPS", "1Z999AA10123456784"}, order.order_id);
    app.platform().drain_events();

    const auto mine = inbox_items(app, ada.token);
    const auto shipped = message_of_type(mine, "order_shipped");
    REQUIRE_FALSE(shipped.empty());
    REQUIRE_FALSE(message_of_type(mine, "order_confirmed").empty());
    for (const auto& item : mine) {
      if (str(item.at("id")) == shipped) {
        CHECK(str(item.at("title")) == "Order " + order.number + " shipped");
        CHECK(str(item.at("body")) == "UPS tracking number: 1Z999AA10123456784.");
        CHECK_FALSE(item.at("read").as_bool());
        CHECK(str(item.at("created_at")).ends_with("Z"));
      }
    }

    // Bob sees none of Ada's, and cannot mark them.
    const auto bobs = ids_of(inbox_items(app, bob.token));
    for (const auto& id : ids_of(mine)) CHECK(bobs.count(id) == 0);
    CHECK(app.http().post_json("/api/v1/me/notifications/" + shipped + "/read", json::object{}, bob.token).status ==
          404);
    CHECK(app.http()
              .post_json("/api/v1/me/notifications/" + platform::new_uuid_v7() + "/read", json::object{}, ada.token)
              .status == 404);
    CHECK_FALSE(inbox_items(app, ada.token, "?unread=true").empty());

    // Ada marks it read (twice: idempotent); the unread filter drops it, the full list shows it read.
    CHECK(app.http().post_json("/api/v1/me/notifications/" + shipped + "/read", json::object{}, ada.token).status ==
          204);
    CHECK(app.http().post_json("/api/v1/me/notifications/" + shipped + "/read", json::object{}, ada.token).status ==
          204);
    CHECK(ids_of(inbox_items(app, ada.token, "?unread=true")).count(shipped) == 0);
    for (const auto& item : inbox_items(app, ada.token)) {
      if (str(item.at("id")) == shipped) CHECK(item.at("read").as_bool());
    }

    CHECK(app.http().get("/api/v1/me/notifications").status == 401);
    CHECK(app.http().get("/api/v1/me/notifications?unread=maybe", ada.token).status == 422);
    CHECK(app.http().get("/api/v1/me/notifications?limit=0", ada.token).status == 422);
    CHECK(app.http().get("/api/v1/me/notifications?cursor=bm90LWEtdXVpZA", ada.token).status == 422);
  }

  TEST_CASE("notifications: the inbox pages with limit and cursor, newest first, without repeats") {
    TestApp app(notify_config());
    const auto user = acc::new_user(app, "pages");
    clean_slate(app);
    auto order = sample_order(user.id);
    order.email = user.email;
    publish(app, orders::OrderPaid{order}, order.order_id);
    publish(app, orders::OrderDelivered{order}, order.order_id);
    app.platform().drain_events();

    const auto all = inbox_items(app, user.token);
    REQUIRE(all.size() == 3);
    std::set<std::string> types;
    for (const auto& item : all) types.insert(str(item.at("type")));
    CHECK(types == std::set<std::string>{"welcome", "order_confirmed", "order_delivered"});
    // Newest first, by id (UUIDv7: time-ordered to the millisecond).
    CHECK(str(all[0].at("id")) > str(all[1].at("id")));
    CHECK(str(all[1].at("id")) > str(all[2].at("id")));

    auto first = app.http().get("/api/v1/me/notifications?limit=2", user.token).json().as_object();
    REQUIRE(first.at("items").as_array().size() == 2);
    REQUIRE(first.at("next_cursor").is_string());
    auto second = app.http()
                      .get("/api/v1/me/notifications?limit=2&cursor=" + str(first.at("next_cursor")), user.token)
                      .json()
                      .as_object();
    REQUIRE(second.at("items").as_array().size() == 1);
    CHECK(second.at("next_cursor").is_null());
    auto seen = ids_of(first.at("items").as_array());
    seen.merge(ids_of(second.at("items").as_array()));
    CHECK(seen == ids_of(all));
  }

  TEST_CASE("notifications: the export lists a user's messages; deleting the account erases and anonymises them") {
    TestApp app(notify_config());
    const auto user = acc::new_user(app, "erase");
    const auto other = acc::new_user(app, "keep");
    clean_slate(app);
    auto order = sample_order(user.id);
    order.email = user.email;
    const auto event_id = publish(app, orders::OrderPaid{order}, order.order_id);
    auto kept = sample_order(other.id);
    kept.email = other.email;
    const auto kept_event = publish(app, orders::OrderPaid{kept}, kept.order_id);
    app.platform().drain_events();

    auto exported = app.http().get("/api/v1/me/export", user.token);
    REQUIRE_MESSAGE(exported.status == 200, exported.body);
    const auto export_doc = exported.json();
    const auto& section = export_doc.at("notifications").as_object();
    CHECK_FALSE(message_of_type(section.at("messages").as_array(), "order_confirmed").empty());
    bool email_listed = false;
    for (const auto& d : section.at("deliveries").as_array()) {
      if (str(d.at("channel")) == "email" && str(d.at("template")) == "order_confirmed") {
        email_listed = true;
        CHECK(str(d.at("recipient")) == user.email);
      }
    }
    CHECK(email_listed);

    auto r = acc::send_json(app, "DELETE", "/api/v1/me", json::object{{"password", acc::kPassword}}, user.token);
    REQUIRE_MESSAGE(r.status == 204, r.body);
    app.platform().drain_events();

    CHECK(count_sql(app, "SELECT count(*) FROM notifications.messages WHERE user_id = CAST(:u AS uuid)", user.id) == 0);
    CHECK(count_sql(app, "SELECT count(*) FROM notifications.deliveries WHERE user_id = CAST(:u AS uuid)", user.id) ==
          0);
    CHECK(count_sql(app, "SELECT count(*) FROM notifications.deliveries WHERE recipient = :e", user.email) == 0);
    for (const auto& d : deliveries_of_event(app, event_id)) {
      CHECK(d.recipient.rfind("redacted:", 0) == 0);
      if (d.channel == "email") {
        CHECK(d.status == "dead");  // it was still pending: never sent to an erased address
        CHECK(contains(d.last_error, "deleted"));
      }
    }
    CHECK(count_sql(app,
                    "SELECT count(*) FROM notifications.deliveries WHERE event_id = CAST(:e AS uuid) "
                    "AND (payload <> '{}'::jsonb OR body_text IS NOT NULL OR recipient_name IS NOT NULL)",
                    event_id) == 0);
    // Someone else's are untouched.
    CHECK(of_channel(deliveries_of_event(app, kept_event), "email").at(0).recipient == other.email);
    CHECK_FALSE(inbox_items(app, other.token).empty());
  }

  TEST_CASE("notifications: admins list deliveries by status and channel, page through them, and cannot retry in-app") {
    TestApp app(notify_config());
    const auto admin = acc::new_admin(app);
    const auto customer = acc::new_user(app, "customer");
    clean_slate(app);
    auto order = sample_order(customer.id);
    order.email = customer.email;
    const auto event_id = publish(app, orders::OrderPaid{order}, order.order_id);
    app.platform().drain_events();
    const auto rows = deliveries_of_event(app, event_id);
    const auto in_app = of_channel(rows, "in_app").at(0);
    const auto email = of_channel(rows, "email").at(0);
    CHECK(in_app.status == "sent");
    CHECK(in_app.recipient == customer.id);

    auto r = app.http().get("/admin/v1/notifications?status=pending&channel=email&limit=100", admin.token);
    REQUIRE(r.status == 200);
    bool found = false;
    const auto listed = r.json();
    for (const auto& item : listed.at("items").as_array()) {
      CHECK(str(item.at("status")) == "pending");
      CHECK(str(item.at("channel")) == "email");
      if (str(item.at("id")) == email.id) {
        found = true;
        CHECK(str(item.at("event_id")) == event_id);
        CHECK(str(item.at("recipient")) == customer.email);
        CHECK(str(item.at("template")) == "order_confirmed");
        CHECK(item.at("attempts").as_int64() == 0);
        CHECK(item.at("last_error").is_null());
        CHECK(item.at("sent_at").is_null());
      }
    }
    CHECK(found);

    auto page = app.http().get("/admin/v1/notifications?limit=1", admin.token).json().as_object();
    REQUIRE(page.at("items").as_array().size() == 1);
    REQUIRE(page.at("next_cursor").is_string());
    auto next = app.http().get("/admin/v1/notifications?limit=1&cursor=" + str(page.at("next_cursor")), admin.token);
    REQUIRE(next.status == 200);
    CHECK(str(next.json().at("items").at(0).at("id")) < str(page.at("items").at(0).at("id")));

    CHECK(app.http().get("/admin/v1/notifications?status=lost", admin.token).status == 422);
    CHECK(app.http().get("/admin/v1/notifications?channel=fax", admin.token).status == 422);
    CHECK(app.http().get("/admin/v1/notifications", customer.token).status == 403);
    auto retry = app.http().post_json("/admin/v1/notifications/" + in_app.id + "/retry", json::object{}, admin.token);
    CHECK(retry.status == 409);
    CHECK(acc::code_of(retry) == "not_retryable");
    CHECK(
        app.http().post_json("/admin/v1/notifications/" + email.id + "/retry", json::object{}, customer.token).status ==
        403);
  }

  TEST_CASE("notifications: admins read and edit templates; a template error is a 422 naming line and column") {
    TestApp app(notify_config());
    const auto admin = acc::new_admin(app);
    const auto customer = acc::new_user(app, "templates");
    clean_slate(app);
    TemplateGuard guard(app, "order_delivered", "in_app");

    auto list = app.http().get("/admin/v1/notification-templates", admin.token);
    REQUIRE(list.status == 200);
    std::set<std::string> names;
    const auto list_doc = list.json();
    for (const auto& t : list_doc.at("items").as_array()) {
      names.insert(str(t.at("name")) + "/" + str(t.at("channel")));
      if (str(t.at("name")) == "verify_email") {
        CHECK(t.at("body_html").is_string());
        CHECK(str(t.at("sample_context").at("link")).ends_with("/verify-email?token=sample-token"));
      }
    }
    for (const auto& spec : notifications::domain::template_specs()) {
      if (spec.email) CHECK_MESSAGE(names.count(std::string(spec.name) + "/email") == 1, spec.name);
      if (spec.in_app) CHECK_MESSAGE(names.count(std::string(spec.name) + "/in_app") == 1, spec.name);
    }
    CHECK(app.http().get("/admin/v1/notification-templates", customer.token).status == 403);

    auto put = [&](const std::string& name, const json::object& body, const std::string& token) {
      return app.http().send({"PUT",
                              "/admin/v1/notification-templates/" + name,
                              json::serialize(body),
                              {{"Content-Type", "application/json"}},
                              token});
    };
    CHECK(put("no_such_template", {{"subject", "x"}, {"body", "y"}}, admin.token).status == 404);
    CHECK(put("order_delivered", {{"channel", "in_app"}, {"subject", "x"}, {"body", "y"}}, customer.token).status ==
          403);

    auto bad = put("order_delivered",
                   {{"channel", "in_app"},
                    {"subject", "Delivered {{order.number}}"},
                    {"body", "Hi {{customer.first_name}},\nyour {{order.numbr}} arrived"}},
                   admin.token);
    REQUIRE(bad.status == 422);
    CHECK(acc::code_of(bad) == "validation_failed");
    const auto bad_doc = bad.json();
    const auto& errors = bad_doc.at("errors").as_array();
    REQUIRE(errors.size() == 1);
    CHECK(str(errors[0].at("field")) == "body");
    CHECK(str(errors[0].at("message")) == "line 2, column 6: unknown variable 'order.numbr'");

    CHECK(put("order_delivered", {{"channel", "in_app"}, {"subject", "x"}, {"body", "y"}, {"body_html", "<p>z</p>"}},
              admin.token)
              .status == 422);
    CHECK(put("welcome", {{"channel", "email"}, {"subject", "x"}, {"body", "y"}}, admin.token).status == 422);
    CHECK(put("order_delivered", {{"channel", "in_app"}, {"subject", "{{#if order.number}}x"}, {"body", "y"}},
              admin.token)
              .status == 422);

    auto ok = put("order_delivered",
                  {{"channel", "in_app"},
                   {"subject", "Arrived: {{order.number}}"},
                   {"body", "{{#each order.lines}}{{quantity}}× {{title}}; {{/each}}"}},
                  admin.token);
    REQUIRE_MESSAGE(ok.status == 200, ok.body);
    CHECK(str(ok.json().at("updated_by")) == admin.id);
    CHECK(count_sql(app,
                    "SELECT count(*) FROM platform.audit_log WHERE action = 'notifications.template.update' "
                    "AND actor_id = :a",
                    admin.id) == 1);

    // The next message uses it.
    auto order = sample_order(customer.id);
    order.email = customer.email;
    publish(app, orders::OrderDelivered{order}, order.order_id);
    app.platform().drain_events();
    const auto items = inbox_items(app, customer.token);
    REQUIRE_FALSE(items.empty());
    CHECK(str(items[0].at("title")) == "Arrived: " + order.number);
    CHECK(str(items[0].at("body")) == "2× Enamel mug; 1× Earl Grey, 250 g; ");
  }

  TEST_CASE("notifications: every default template renders against its sample context") {
    TestApp app(notify_config());
    std::vector<notifications::repo::TemplateRow> rows;
    app.platform().db().run_sync([&](soci::session& s) {
      soci::rowset<soci::row> rs =
          (s.prepare << "SELECT name, channel, subject, body, body_html FROM notifications.templates");
      for (const auto& r : rs) {
        notifications::repo::TemplateRow t;
        t.name = r.get<std::string>(0);
        t.channel = r.get<std::string>(1);
        t.subject = r.get<std::string>(2);
        t.body = r.get<std::string>(3);
        t.body_html = platform::optional_string(r, 4);
        rows.push_back(t);
      }
    });
    CHECK(rows.size() >= 17);
    for (const auto& t : rows) {
      const auto ctx = notifications::domain::sample_context(t.name, {"bazaar", "https://shop.example"});
      REQUIRE_MESSAGE(!ctx.empty(), t.name);
      const auto r = notifications::render_template(t, ctx);
      CHECK_MESSAGE(!r.error, t.name << "/" << t.channel << ": " << r.error.value_or(""));
      CHECK_FALSE(contains(r.subject, "{{"));
      CHECK_FALSE(contains(r.text, "{{"));
      CHECK_FALSE(contains(r.text, "\n\n\n"));  // standalone block lines leave no holes
      CHECK(r.html.has_value() == (t.channel == "email"));
    }
  }
}
