#pragma once
// Holds a request to its SQL round-trip budget (issue targets such as "add-to-cart ≤ 5 round trips"): the
// whole application runs with its database connections through a counting TcpProxy. The pool has one
// connection, so a statement prepared once per connection is prepared by the warm-up request, as it would
// be long before any measured request in production.
#include "support/tcp_proxy.hpp"
#include "support/test_env.hpp"

#include <cstdint>
#include <functional>

namespace bazaar::testing {

class RoundTripApp {
 public:
  // `customize` may change the configuration before the application starts (e.g. turn a cache off).
  explicit RoundTripApp(const std::function<void(platform::Config&)>& customize = {});
  TestApp& app() { return app_; }
  HttpClient http() const { return app_.http(); }
  // SQL round trips `action` causes.
  std::uint64_t count(const std::function<void()>& action);

 private:
  TcpProxy proxy_;
  TestApp app_;
};

}  // namespace bazaar::testing
