// Admin user management: search, inspect, change role/status, delete. Writes land in the audit log.
#include "json_mapping.hpp"
#include "routes.hpp"

#include <platform/ids.hpp>
#include <platform/pagination.hpp>

namespace bazaar::accounts {

namespace http = platform::http;
namespace json = boost::json;
using http::Access;
using http::Reply;
using http::Request;
using platform::Error;
using platform::FieldReader;

namespace {

bool one_of(const std::string& v, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (v == a) return true;
  }
  return false;
}

asio::awaitable<Reply> list_users(Request& rq, Service& svc) {
  auto page = platform::parse_page(rq);
  if (!page) co_return http::problem(page.error(), rq);
  repo::UserFilter f;
  f.q = rq.query_param("q").value_or("");
  f.role = rq.query_param("role").value_or("");
  f.status = rq.query_param("status").value_or("");
  std::vector<platform::FieldError> errors;
  if (!f.role.empty() && !one_of(f.role, {"customer", "admin"})) errors.push_back({"role", "must be customer or admin"});
  if (!f.status.empty() && !one_of(f.status, {"active", "suspended"})) {
    errors.push_back({"status", "must be active or suspended"});
  }
  if (f.q.size() > 200) errors.push_back({"q", "must be at most 200 characters"});
  if (!page->after.empty() && !platform::is_uuid(page->after[0])) errors.push_back({"cursor", "is not valid"});
  if (!errors.empty()) co_return http::problem(Error::validation(std::move(errors)), rq);
  f.after_id = page->after.empty() ? "" : page->after[0];
  f.limit = page->limit + 1;  // one more tells whether there is a next page
  auto users = co_await svc.list_users(f);
  co_return http::json_reply(
      200, platform::keyset_page_json(users, page->limit, [](const auto& row) { return user_json(row); }));
}

asio::awaitable<Reply> get_user(Request& rq, Service& svc) {
  auto user = co_await svc.profile(std::string(rq.param("id")));
  if (!user) co_return http::problem(Error::not_found("The user does not exist."), rq);
  co_return http::json_reply(200, user_json(*user));
}

asio::awaitable<Reply> patch_user(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  RoleStatusPatch patch;
  patch.role = r.string("role", false);
  patch.status = r.string("status", false);
  if (patch.role && !one_of(*patch.role, {"customer", "admin"})) r.fail("role", "must be customer or admin");
  if (patch.status && !one_of(*patch.status, {"active", "suspended"})) r.fail("status", "must be active or suspended");
  if (!r.ok()) co_return http::problem(r.error(), rq);
  auto user = co_await svc.admin_update_user(rq, std::string(rq.param("id")), patch);
  if (!user) co_return http::problem(user.error(), rq);
  co_return http::json_reply(200, user_json(*user));
}

asio::awaitable<Reply> delete_user(Request& rq, Service& svc) {
  auto ok = co_await svc.admin_delete_user(rq, std::string(rq.param("id")));
  if (!ok) co_return http::problem(ok.error(), rq);
  co_return http::no_content();
}

}  // namespace

void register_admin_routes(http::Router& r, Service& svc) {
  const auto bind = http::binder(svc);
  r.get("/admin/v1/users", Access::admin, bind(list_users));
  r.get("/admin/v1/users/{id:uuid}", Access::admin, bind(get_user));
  r.patch("/admin/v1/users/{id:uuid}", Access::admin, bind(patch_user));
  r.del("/admin/v1/users/{id:uuid}", Access::admin, bind(delete_user));
}

}  // namespace bazaar::accounts
