#include "support/round_trips.hpp"

#include <boost/json.hpp>

namespace bazaar::testing {

namespace {

TcpProxy proxy_to_test_database() {
  const auto db = host_port_of(database_url(), 5432);
  return TcpProxy(db.host, db.port);
}

platform::Config through(const TcpProxy& proxy, const std::function<void(platform::Config&)>& customize) {
  auto cfg = test_config();
  if (customize) customize(cfg);
  cfg.set("https.listen", "");
  cfg.set("database.url", boost::json::string(with_host_port(database_url(), "127.0.0.1", proxy.port())));
  cfg.set("database.pool_size", 1);
  return cfg;
}

}  // namespace

RoundTripApp::RoundTripApp(const std::function<void(platform::Config&)>& customize)
    : proxy_(proxy_to_test_database()), app_(through(proxy_, customize)) {}

std::uint64_t RoundTripApp::count(const std::function<void()>& action) {
  proxy_.reset_round_trips();
  action();
  return proxy_.round_trips();
}

}  // namespace bazaar::testing
