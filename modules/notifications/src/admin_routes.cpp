// Admin: the delivery log with retry, and the message templates. Writes land in the audit log.
#include "domain/catalogue.hpp"
#include "routes.hpp"

#include <platform/ids.hpp>
#include <platform/pagination.hpp>

namespace bazaar::notifications {

namespace http = platform::http;
namespace json = boost::json;
using http::Access;
using http::Reply;
using http::Request;
using platform::Error;
using platform::FieldReader;

namespace {

json::value nullable(const std::optional<std::string>& v) { return v ? json::value(*v) : json::value(nullptr); }

json::object delivery_json(const repo::DeliveryRow& d) {
  return {{"id", d.id},
          {"event_id", d.event_id},
          {"event_type", d.event_type},
          {"channel", d.channel},
          {"recipient", d.recipient},
          {"template", d.template_name},
          {"status", d.status},
          {"attempts", d.attempts},
          {"last_error", nullable(d.last_error)},
          {"next_attempt_at", nullable(d.next_attempt_at)},
          {"created_at", d.created_at},
          {"sent_at", nullable(d.sent_at)}};
}

json::object template_json(const repo::TemplateRow& t, const domain::Store& store) {
  const auto* spec = domain::find_template_spec(t.name);
  return {{"name", t.name},
          {"channel", t.channel},
          {"trigger", spec ? json::value(spec->trigger) : json::value(nullptr)},
          {"subject", t.subject},
          {"body", t.body},
          {"body_html", nullable(t.body_html)},
          {"updated_at", t.updated_at},
          {"updated_by", t.updated_by},
          {"sample_context", domain::sample_context(t.name, store)}};
}

bool one_of(const std::string& v, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (v == a) return true;
  }
  return false;
}

asio::awaitable<Reply> list_deliveries(Request& rq, Service& svc) {
  auto page = platform::parse_page(rq);
  if (!page) co_return http::problem(page.error(), rq);
  repo::DeliveryFilter f;
  f.status = rq.query_param("status").value_or("");
  f.channel = rq.query_param("channel").value_or("");
  std::vector<platform::FieldError> errors;
  if (!f.status.empty() && !one_of(f.status, {"pending", "sent", "failed", "dead"})) {
    errors.push_back({"status", "must be pending, sent, failed or dead"});
  }
  if (!f.channel.empty() && !one_of(f.channel, {"email", "in_app", "webhook"})) {
    errors.push_back({"channel", "must be email, in_app or webhook"});
  }
  if (!page->after.empty() && !platform::is_uuid(page->after[0])) errors.push_back({"cursor", "is not valid"});
  if (!errors.empty()) co_return http::problem(Error::validation(std::move(errors)), rq);
  f.after_id = page->after.empty() ? "" : page->after[0];
  f.limit = page->limit + 1;
  auto rows = co_await svc.deliveries(f);
  co_return http::json_reply(
      200, platform::keyset_page_json(rows, page->limit, [](const auto& row) { return delivery_json(row); }));
}

asio::awaitable<Reply> retry_delivery(Request& rq, Service& svc) {
  std::string id = *platform::normalize_uuid(rq.param("id"));
  auto row = co_await svc.retry(rq, std::move(id));
  if (!row) co_return http::problem(row.error(), rq);
  co_return http::json_reply(200, delivery_json(*row));
}

asio::awaitable<Reply> list_templates(Request&, Service& svc) {
  auto rows = co_await svc.templates();
  json::array items;
  for (const auto& t : rows) items.push_back(template_json(t, svc.settings().store));
  co_return http::json_reply(200, json::object{{"items", std::move(items)}});
}

asio::awaitable<Reply> put_template(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  TemplateUpdate u;
  u.name = std::string(rq.param("name"));
  u.channel = r.string("channel", false, 1, 20).value_or("email");
  auto subject = r.string("subject", true, 1, 500);
  auto text = r.string("body", true, 1, tmpl::kMaxTemplateBytes);
  if (!r.is_null("body_html")) u.body_html = r.string("body_html", false, 1, tmpl::kMaxTemplateBytes);
  if (!one_of(u.channel, {"email", "in_app"})) r.fail("channel", "must be email or in_app");
  if (!r.ok()) co_return http::problem(r.error(), rq);
  u.subject = *subject;
  u.body = *text;
  auto saved = co_await svc.update_template(rq, std::move(u));
  if (!saved) co_return http::problem(saved.error(), rq);
  co_return http::json_reply(200, template_json(*saved, svc.settings().store));
}

}  // namespace

void register_admin_routes(http::Router& r, Service& svc) {
  const auto bind = http::binder(svc);
  r.get("/admin/v1/notifications", Access::admin, bind(list_deliveries));
  r.post("/admin/v1/notifications/{id:uuid}/retry", Access::admin, bind(retry_delivery));
  r.get("/admin/v1/notification-templates", Access::admin, bind(list_templates));
  r.put("/admin/v1/notification-templates/{name}", Access::admin, bind(put_template));
}

}  // namespace bazaar::notifications
