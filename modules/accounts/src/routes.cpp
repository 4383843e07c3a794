// Customer-facing accounts routes: parse → service → reply. No SQL here.
#include "routes.hpp"

#include "domain/validation.hpp"
#include "json_mapping.hpp"

namespace bazaar::accounts {

namespace http = platform::http;
namespace json = boost::json;
using http::Access;
using http::Reply;
using http::Request;
using platform::Error;
using platform::FieldReader;

namespace {

json::object tokens_json(const Tokens& t) {
  return {{"access_token", t.access_token},
          {"refresh_token", t.refresh_token},
          {"token_type", "Bearer"},
          {"expires_in", t.expires_in}};
}

// Reads a new password field, checking the policy (length in code points, not a common password).
std::optional<std::string> read_new_password(FieldReader& r, std::string_view key) {
  auto pw = r.string(key, true, 0, 4096);
  if (!pw) return std::nullopt;
  if (auto problem = domain::password_problem(*pw)) {
    r.fail(key, *problem);
    return std::nullopt;
  }
  return pw;
}

std::optional<std::string> read_email(FieldReader& r) {
  auto raw = r.string("email", true, 1, 320);
  if (!raw) return std::nullopt;
  auto email = domain::normalize_email(*raw);
  if (!domain::is_valid_email(email)) {
    r.fail("email", "must be a valid email address");
    return std::nullopt;
  }
  return email;
}

asio::awaitable<Reply> register_user(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  Registration in;
  auto email = read_email(r);
  auto password = read_new_password(r, "password");
  auto first = r.string("first_name", true, 1, 100);
  auto last = r.string("last_name", true, 1, 100);
  auto phone = r.string("phone", false, 0, 32);
  if (phone && !phone->empty() && !domain::is_valid_phone(*phone)) r.fail("phone", "must be a phone number");
  if (!r.ok()) co_return http::problem(r.error(), rq);
  in.email = *email;
  in.password = *password;
  in.first_name = *first;
  in.last_name = *last;
  if (phone && !phone->empty()) in.phone = *phone;
  auto user = co_await svc.register_user(std::move(in), rq.client_ip);
  if (!user) co_return http::problem(user.error(), rq);
  co_return http::json_reply(201, user_json(*user));
}

asio::awaitable<Reply> login(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  auto email = r.string("email", true, 1, 320);
  auto password = r.string("password", true, 1, 4096);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  auto tokens = co_await svc.login(domain::normalize_email(*email), *password, rq.client_ip);
  if (!tokens) co_return http::problem(tokens.error(), rq);
  co_return http::json_reply(200, tokens_json(*tokens));
}

std::optional<std::string> read_token(Request& rq, std::string_view field, Reply& error) {
  auto body = http::parse_json_body(rq);
  if (!body) {
    error = http::problem(body.error(), rq);
    return std::nullopt;
  }
  FieldReader r(*body);
  auto token = r.string(field, true, 1, 512);
  if (!r.ok()) {
    error = http::problem(r.error(), rq);
    return std::nullopt;
  }
  return token;
}

asio::awaitable<Reply> refresh(Request& rq, Service& svc) {
  Reply error;
  auto token = read_token(rq, "refresh_token", error);
  if (!token) co_return error;
  auto tokens = co_await svc.refresh(*token);
  if (!tokens) co_return http::problem(tokens.error(), rq);
  co_return http::json_reply(200, tokens_json(*tokens));
}

asio::awaitable<Reply> logout(Request& rq, Service& svc) {
  Reply error;
  auto token = read_token(rq, "refresh_token", error);
  if (!token) co_return error;
  co_await svc.logout(*token);
  co_return http::no_content();
}

asio::awaitable<Reply> verify_email(Request& rq, Service& svc) {
  Reply error;
  auto token = read_token(rq, "token", error);
  if (!token) co_return error;
  auto ok = co_await svc.verify_email(*token);
  if (!ok) co_return http::problem(ok.error(), rq);
  co_return http::no_content();
}

asio::awaitable<Reply> password_reset(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  auto email = read_email(r);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  auto ok = co_await svc.request_password_reset(*email, rq.client_ip);
  if (!ok) co_return http::problem(ok.error(), rq);
  co_return http::json_reply(202, json::object{{"status", "accepted"}});
}

asio::awaitable<Reply> password_reset_confirm(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  auto token = r.string("token", true, 1, 512);
  auto password = read_new_password(r, "new_password");
  if (!r.ok()) co_return http::problem(r.error(), rq);
  auto ok = co_await svc.confirm_password_reset(*token, *password);
  if (!ok) co_return http::problem(ok.error(), rq);
  co_return http::no_content();
}

asio::awaitable<Reply> get_me(Request& rq, Service& svc) {
  auto user = co_await svc.profile(std::string(rq.user_id()));
  if (!user) co_return http::problem(user.error(), rq);
  co_return http::raw_json_reply(200, user_json_text(*user));
}

asio::awaitable<Reply> patch_me(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  ProfilePatch patch;
  // role, email, status and email_verified are read-only here: present or not, they are ignored.
  patch.first_name = r.string("first_name", false, 1, 100);
  patch.last_name = r.string("last_name", false, 1, 100);
  if (r.is_null("phone")) {
    patch.phone = std::optional<std::string>{};
  } else if (auto phone = r.string("phone", false, 0, 32)) {
    if (!phone->empty() && !domain::is_valid_phone(*phone)) r.fail("phone", "must be a phone number");
    patch.phone = phone->empty() ? std::nullopt : std::optional(*phone);
  }
  if (!r.ok()) co_return http::problem(r.error(), rq);
  auto user = co_await svc.update_profile(std::string(rq.user_id()), patch);
  if (!user) co_return http::problem(user.error(), rq);
  co_return http::json_reply(200, user_json(*user));
}

asio::awaitable<Reply> change_password(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  auto current = r.string("current_password", true, 1, 4096);
  auto next = read_new_password(r, "new_password");
  if (!r.ok()) co_return http::problem(r.error(), rq);
  auto ok = co_await svc.change_password(std::string(rq.user_id()), *current, *next);
  if (!ok) co_return http::problem(ok.error(), rq);
  co_return http::no_content();
}

asio::awaitable<Reply> delete_me(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  auto password = r.string("password", true, 1, 4096);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  auto ok = co_await svc.delete_account(std::string(rq.user_id()), *password);
  if (!ok) co_return http::problem(ok.error(), rq);
  co_return http::no_content();
}

asio::awaitable<Reply> export_me(Request& rq, Service& svc) {
  auto data = co_await svc.export_data(std::string(rq.user_id()));
  if (!data) co_return http::problem(data.error(), rq);
  Reply reply = http::json_reply(200, *data);
  reply.headers.set("Content-Disposition", "attachment; filename=\"bazaar-export.json\"");
  co_return reply;
}

asio::awaitable<Reply> list_addresses(Request& rq, Service& svc) {
  json::array items;
  for (const auto& a : co_await svc.addresses(std::string(rq.user_id()))) items.push_back(address_json(a));
  co_return http::json_reply(200, json::object{{"items", std::move(items)}});
}

asio::awaitable<Reply> create_address(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  FieldReader r(*body);
  Address a;
  read_address(r, a, false);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  auto created = co_await svc.create_address(std::string(rq.user_id()), std::move(a));
  if (!created) co_return http::problem(created.error(), rq);
  co_return http::json_reply(201, address_json(*created));
}

asio::awaitable<Reply> get_address(Request& rq, Service& svc) {
  auto a = co_await svc.address(std::string(rq.user_id()), std::string(rq.param("id")));
  if (!a) co_return http::problem(Error::not_found("The address does not exist."), rq);
  co_return http::json_reply(200, address_json(*a));
}

asio::awaitable<Reply> patch_address(Request& rq, Service& svc) {
  auto body = http::parse_json_body(rq);
  if (!body) co_return http::problem(body.error(), rq);
  auto current = co_await svc.address(std::string(rq.user_id()), std::string(rq.param("id")));
  if (!current) co_return http::problem(Error::not_found("The address does not exist."), rq);
  FieldReader r(*body);
  Address a = *current;
  read_address(r, a, true);
  if (!r.ok()) co_return http::problem(r.error(), rq);
  auto updated = co_await svc.replace_address(std::string(rq.user_id()), std::move(a));
  if (!updated) co_return http::problem(updated.error(), rq);
  co_return http::json_reply(200, address_json(*updated));
}

asio::awaitable<Reply> delete_address(Request& rq, Service& svc) {
  auto ok = co_await svc.delete_address(std::string(rq.user_id()), std::string(rq.param("id")));
  if (!ok) co_return http::problem(ok.error(), rq);
  co_return http::no_content();
}

}  // namespace

void register_customer_routes(http::Router& r, Service& svc) {
  const auto bind = http::binder(svc);
  r.post("/api/v1/auth/register", Access::public_route, bind(register_user));
  r.post("/api/v1/auth/login", Access::public_route, bind(login));
  r.post("/api/v1/auth/refresh", Access::public_route, bind(refresh));
  r.post("/api/v1/auth/logout", Access::public_route, bind(logout));
  r.post("/api/v1/auth/verify-email", Access::public_route, bind(verify_email));
  r.post("/api/v1/auth/password-reset", Access::public_route, bind(password_reset));
  r.post("/api/v1/auth/password-reset/confirm", Access::public_route, bind(password_reset_confirm));
  r.get("/api/v1/me", Access::authenticated, bind(get_me));
  r.patch("/api/v1/me", Access::authenticated, bind(patch_me));
  r.del("/api/v1/me", Access::authenticated, bind(delete_me));
  r.post("/api/v1/me/password", Access::authenticated, bind(change_password));
  r.get("/api/v1/me/export", Access::authenticated, bind(export_me));
  r.get("/api/v1/me/addresses", Access::authenticated, bind(list_addresses));
  r.post("/api/v1/me/addresses", Access::authenticated, bind(create_address));
  r.get("/api/v1/me/addresses/{id:uuid}", Access::authenticated, bind(get_address));
  r.patch("/api/v1/me/addresses/{id:uuid}", Access::authenticated, bind(patch_address));
  r.del("/api/v1/me/addresses/{id:uuid}", Access::authenticated, bind(delete_address));
}

}  // namespace bazaar::accounts
