#include "support/test_routes.hpp"

#include <platform/http.hpp>
#include <platform/json.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stdexcept>
#include <thread>

namespace bazaar::testing {

namespace asio = boost::asio;
namespace json = boost::json;
using platform::Errc;
using platform::Error;
using platform::ErrorException;
using platform::http::Access;
using platform::http::Reply;
using platform::http::Request;

asio::awaitable<void> Gate::pass() {
  ++entered_;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!released_) {
    timer.expires_after(std::chrono::milliseconds(2));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  ++left_;
}

bool Gate::wait_entered(std::size_t n, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (entered_ < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling interval of a bounded loop
  }
  return true;
}

void add_test_routes(platform::Platform& p, std::shared_ptr<Gate> gate) {
  namespace http = platform::http;
  auto& r = p.router();
  r.post("/test/echo", Access::public_route, [](Request& rq) -> asio::awaitable<Reply> {
    auto body = http::parse_json_body(rq);
    if (!body) co_return http::problem(body.error(), rq);
    co_return http::json_reply(200, *body);
  });
  r.post("/test/validate", Access::public_route, [](Request& rq) -> asio::awaitable<Reply> {
    auto body = http::parse_json_body(rq);
    if (!body) co_return http::problem(body.error(), rq);
    platform::FieldReader f(*body);
    auto name = f.string("name", true, 1, 10);
    auto age = f.integer("age", true, 0, 150);
    auto email = f.string("email", false, 3, 254);
    if (!f.ok()) co_return http::problem(f.error(), rq);
    json::object out{{"name", *name}, {"age", *age}};
    if (email) out["email"] = *email;
    co_return http::json_reply(200, out);
  });
  r.post("/test/upload", Access::public_route, [](Request& rq) -> asio::awaitable<Reply> {
    co_return http::json_reply(200, json::object{{"bytes", rq.body.size()},
                                                 {"content_type", std::string(rq.header("Content-Type").value_or(""))}});
  });
  r.get("/test/throw", Access::public_route, [](Request&) -> asio::awaitable<Reply> {
    throw std::runtime_error(kSecretExceptionText);
    co_return Reply{};
  });
  r.get("/test/conflict", Access::public_route, [](Request&) -> asio::awaitable<Reply> {
    throw ErrorException(Error::conflict("thing_taken", "The thing is taken."));
    co_return Reply{};
  });
  r.get("/test/unavailable", Access::public_route, [](Request&) -> asio::awaitable<Reply> {
    throw ErrorException(Error::unavailable("The thing is down.", 7));
    co_return Reply{};
  });
  r.get("/test/me", Access::authenticated, [](Request& rq) -> asio::awaitable<Reply> {
    auto who = http::require_principal(rq);
    if (!who) co_return http::problem(who.error(), rq);
    co_return http::json_reply(200, json::object{{"user_id", who->user_id}, {"role", who->role}});
  });
  r.get("/test/admin", Access::admin, [](Request&) -> asio::awaitable<Reply> {
    co_return http::json_reply(200, json::object{{"ok", true}});
  });
  // Reflects ?value= into a response header and sets headers the server writes itself: what a handler
  // that copies client input into a header (a Location, a filename) could send.
  r.get("/test/reflect", Access::public_route, [](Request& rq) -> asio::awaitable<Reply> {
    Reply reply = http::no_content();
    if (rq.query_param("status") == "200") reply = http::text_reply(200, "reflected");
    reply.headers.set("X-Reflected", rq.query_param("value").value_or(""));
    reply.headers.set("Content-Length", "999");
    reply.headers.set("Connection", "close");
    co_return reply;
  });
  r.get("/test/block", Access::public_route, [gate](Request&) -> asio::awaitable<Reply> {
    if (gate) co_await gate->pass();
    co_return http::json_reply(200, json::object{{"released", true}});
  });
}

}  // namespace bazaar::testing
