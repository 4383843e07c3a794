// The customer's in-app inbox: parse → service → reply.
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

namespace {

json::object message_json(const repo::MessageRow& m) {
  return {{"id", m.id},     {"type", m.type}, {"title", m.title},
          {"body", m.body}, {"read", m.read}, {"created_at", m.created_at}};
}

asio::awaitable<Reply> list_notifications(Request& rq, Service& svc) {
  auto page = platform::parse_page(rq);
  if (!page) co_return http::problem(page.error(), rq);
  std::vector<platform::FieldError> errors;
  bool unread = false;
  if (auto v = rq.query_param("unread")) {
    if (*v == "true" || *v == "1") {
      unread = true;
    } else if (*v != "false" && *v != "0" && !v->empty()) {
      errors.push_back({"unread", "must be true or false"});
    }
  }
  if (!page->after.empty() && !platform::is_uuid(page->after[0])) errors.push_back({"cursor", "is not valid"});
  if (!errors.empty()) co_return http::problem(Error::validation(std::move(errors)), rq);
  // Plain locals, not a conditional inside the co_await expression (GCC 12 miscompiles those).
  std::string after;
  if (!page->after.empty()) after = page->after[0];
  auto rows = co_await svc.inbox(std::string(rq.user_id()), unread, std::move(after), page->limit + 1);
  co_return http::json_reply(
      200, platform::keyset_page_json(rows, page->limit, [](const auto& row) { return message_json(row); }));
}

asio::awaitable<Reply> mark_read(Request& rq, Service& svc) {
  std::string user(rq.user_id());
  std::string id = *platform::normalize_uuid(rq.param("id"));
  const bool found = co_await svc.mark_read(std::move(user), std::move(id));
  // Another user's message is as absent as a missing one (API.md: never reveal that it exists).
  if (!found) co_return http::problem(Error::not_found("The notification does not exist."), rq);
  co_return http::no_content();
}

}  // namespace

void register_routes(http::Router& r, Service& svc) {
  const auto bind = http::binder(svc);
  r.get("/api/v1/me/notifications", Access::authenticated, bind(list_notifications));
  r.post("/api/v1/me/notifications/{id:uuid}/read", Access::authenticated, bind(mark_read));
}

}  // namespace bazaar::notifications
