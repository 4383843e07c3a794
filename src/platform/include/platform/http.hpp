#pragma once
// The modules' whole view of HTTP: plain Request/Reply values and a Router of coroutine handlers.
// No Beast here: handler translation units stay cheap to compile (STYLE.md §3, §9).
#include <platform/error.hpp>
#include <platform/json.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/container/small_vector.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bazaar::platform::http {

namespace asio = boost::asio;

enum class Method : std::uint8_t { get, head, post, put, patch, del, options, other };
std::string_view to_string(Method m);
Method method_from_string(std::string_view s);

// Who may call a route.
enum class Access : std::uint8_t { public_route, authenticated, admin };

struct Principal {
  std::string user_id;
  std::string role;  // "customer" | "admin"
  std::string token_id;
  bool is_admin() const { return role == "admin"; }
};

// Header list with case-insensitive look-up, in the order added. Every name and value lives in one
// string, the index inline: a request's or reply's headers cost one allocation, not two per header.
class Headers {
 public:
  std::optional<std::string_view> get(std::string_view name) const;
  void set(std::string_view name, std::string_view value);  // replaces
  void add(std::string_view name, std::string_view value);  // appends
  void remove(std::string_view name);
  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void reserve(std::size_t bytes) { text_.reserve(bytes); }
  // Calls f(name, value) for every header, in order.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& e : entries_) f(name_of(e), value_of(e));
  }

 private:
  struct Entry {
    std::uint32_t name_at, name_size, value_at, value_size;
  };
  std::string_view name_of(const Entry& e) const { return std::string_view(text_).substr(e.name_at, e.name_size); }
  std::string_view value_of(const Entry& e) const { return std::string_view(text_).substr(e.value_at, e.value_size); }
  Entry* find(std::string_view name);

  std::string text_;
  boost::container::small_vector<Entry, 12> entries_;
};

struct Route;
struct IdempotencyClaim;  // platform/idempotency.hpp

struct Request {
  Method method = Method::get;
  std::string method_name;  // as sent, for logs
  std::string target;       // raw request-target
  std::string path;         // path without the query, percent-encoding kept
  std::string query;        // raw query string without '?'
  Headers headers;
  std::string body;
  std::string client_ip;
  bool secure = false;          // arrived over TLS
  bool admin_listener = false;  // arrived on the admin listener
  // Filled in by the middleware chain:
  std::string request_id;
  std::string_view route;  // the matched template, e.g. "/api/v1/products/{id}" (owned by the Router), for logs and metrics
  std::vector<std::pair<std::string, std::string>> params;
  // Shared with the verified-token cache: a request costs no copy of the principal's strings.
  std::shared_ptr<const Principal> principal;
  const Route* matched_route = nullptr;  // set by the routing middleware
  std::shared_ptr<IdempotencyClaim> idempotency;  // a keyed request's claimed key, while its handler runs

  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
  // Path parameter by name ("" when absent: the router guarantees declared ones are present).
  std::string_view param(std::string_view name) const;
  // Decoded query parameter; nullopt when absent.
  std::optional<std::string> query_param(std::string_view name) const;
  std::string_view user_id() const { return principal ? std::string_view(principal->user_id) : std::string_view(); }
};

struct Reply {
  int status = 200;
  Headers headers;
  std::string body;
  // A ready-made body shared with a cache: sent as is, never copied (catalog reads).
  std::shared_ptr<const std::string> shared_body;

  std::string_view body_view() const { return shared_body ? std::string_view(*shared_body) : std::string_view(body); }
};

Reply json_reply(int status, const json::value& body);
Reply raw_json_reply(int status, std::string body);
Reply no_content();
Reply text_reply(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
// RFC 9457 problem document for `error`, carrying the request id.
Reply problem(const Error& error, const Request& rq);

// Parses the body as a JSON object: 415 for a media type other than application/json, 400 when malformed.
Result<json::object> parse_json_body(const Request& rq);

// The caller's principal, or 401 when the route let an anonymous caller through.
Result<Principal> require_principal(const Request& rq);

using Handler = std::function<asio::awaitable<Reply>(Request&)>;
using Next = std::function<asio::awaitable<Reply>(Request&)>;

// Turns `fn(Request&, Service&)` handler functions into router handlers bound to one service:
//   const auto bind = http::binder(service);
//   router.get("/api/v1/things/{id}", Access::public_route, bind(get_thing));
template <class Service>
auto binder(Service& service) {
  return [&service](asio::awaitable<Reply> (*fn)(Request&, Service&)) -> Handler {
    return [&service, fn](Request& rq) { return fn(rq, service); };
  };
}

struct Route {
  Method method;
  std::string pattern;  // "/api/v1/products/{id}" or with a typed parameter "{id:uuid}"
  Access access;
  Handler handler;
};

struct RouteMatch {
  const Route* route = nullptr;
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<Method> allowed;  // methods that exist for this path (405 + Allow when route is null)
};

// Method + path template routing. Literal segments win over parameters; typed parameters ({id:uuid},
// {n:int}) only match values of their type, so a malformed id is a plain 404.
class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  void add(Method method, std::string pattern, Access access, Handler handler);
  void get(std::string pattern, Access access, Handler h) { add(Method::get, std::move(pattern), access, std::move(h)); }
  void post(std::string pattern, Access access, Handler h) { add(Method::post, std::move(pattern), access, std::move(h)); }
  void put(std::string pattern, Access access, Handler h) { add(Method::put, std::move(pattern), access, std::move(h)); }
  void patch(std::string pattern, Access access, Handler h) { add(Method::patch, std::move(pattern), access, std::move(h)); }
  void del(std::string pattern, Access access, Handler h) { add(Method::del, std::move(pattern), access, std::move(h)); }

  RouteMatch match(Method method, std::string_view path) const;
  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

  struct Node;  // the trie node (router.cpp)

 private:
  std::unique_ptr<Node> root_;
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace bazaar::platform::http
