#pragma once
// Helpers for the notifications tests: local SMTP and HTTP receivers (tests/notifications/sink.py, run as
// child processes on free ports), configurations that let the tests drive the delivery worker themselves,
// events published straight into the outbox, and a clean slate of deliveries in the shared test database.
#include "support/test_env.hpp"

#include <orders/events.hpp>
#include <platform/db.hpp>
#include <platform/ids.hpp>
#include <platform/platform.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace bazaar::notifications_test {

namespace json = boost::json;
namespace fs = std::filesystem;
using testing::TestApp;

inline constexpr const char* kWebhookSecret = "test-webhook-secret-0123456789";

// A port nobody listens on right now (bound, read back, released).
inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline bool port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Polls `done` every 20 ms for at most `limit` (for external processes only; the app is driven directly).
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A receiver process: `sink.py smtp|http PORT DIR [OPTIONS]` (options in sink.py, e.g. "--starttls").
// Stopped (SIGTERM, reaped) when destroyed.
class Sink {
 public:
  Sink(std::string mode, std::uint16_t port, std::vector<std::string> options = {})
      : mode_(std::move(mode)), port_(port), options_(std::move(options)) {
    dir_ = fs::temp_directory_path() / ("bazaar-test-" + mode_ + "-sink-" + platform::new_uuid_v7());
    fs::create_directories(dir_);
  }
  ~Sink() { stop(); }
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  void start() {
    REQUIRE(pid_ == 0);
    const std::string python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    const std::string script = std::string(BAZAAR_NOTIFICATIONS_TEST_DIR) + "/sink.py";
    const std::string port = std::to_string(port_);
    const std::string dir = dir_.string();
    const std::string log = (dir_ / "sink.log").string();
    std::vector<char*> argv{const_cast<char*>(python.c_str()), const_cast<char*>(script.c_str()),
                            const_cast<char*>(mode_.c_str()), const_cast<char*>(port.c_str()),
                            const_cast<char*>(dir.c_str())};
    for (const auto& o : options_) argv.push_back(const_cast<char*>(o.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = posix_spawnp(&pid_, python.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE_MESSAGE(rc == 0, "could not start " << script);
    const bool up = eventually([&] { return port_accepts(port_) || !alive(); });
    REQUIRE_MESSAGE((up && alive()), mode_ << " sink did not start on port " << port_ << ": " << read_text(log));
  }

  void stop() {
    if (pid_ == 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
  }

  bool alive() const {
    if (pid_ == 0) return false;
    int status = 0;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
  }

  std::uint16_t port() const { return port_; }
  const fs::path& dir() const { return dir_; }

  // Everything received so far, oldest first (the .json records; see sink.py).
  std::vector<json::object> received() const {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().extension() == ".json" && e.path().filename().string().front() != '.') files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<json::object> out;
    for (const auto& f : files) {
      auto v = json::parse(read_text(f));
      v.as_object()["file"] = f.string();
      out.push_back(v.as_object());
    }
    return out;
  }

  std::vector<json::object> matching(const std::function<bool(const json::object&)>& pred) const {
    std::vector<json::object> out;
    for (auto& m : received()) {
      if (pred(m)) out.push_back(std::move(m));
    }
    return out;
  }

  // Waits (bounded) until a record matches, and returns the first that does.
  json::object wait_for(const std::function<bool(const json::object&)>& pred,
                        std::chrono::milliseconds limit = std::chrono::seconds(10)) const {
    json::object found;
    const bool ok = eventually(
        [&] {
          auto m = matching(pred);
          if (m.empty()) return false;
          found = m.front();
          return true;
        },
        limit);
    REQUIRE_MESSAGE(ok, "nothing matching arrived at the " << mode_ << " sink within " << limit.count() << " ms");
    return found;
  }

  // Every AUTH attempt the SMTP sink (with --auth) answered so far, oldest first: {mechanism, login,
  // success, tls}. Recorded before the answer is sent, so a finished delivery pass has seen all of its own.
  std::vector<json::object> auth_attempts() const {
    std::vector<fs::path> files;
    if (fs::exists(dir_ / "auth")) {
      for (const auto& e : fs::directory_iterator(dir_ / "auth")) {
        if (e.path().extension() == ".json" && e.path().filename().string().front() != '.') files.push_back(e.path());
      }
    }
    std::sort(files.begin(), files.end());
    std::vector<json::object> out;
    for (const auto& f : files) out.push_back(json::parse(read_text(f)).as_object());
    return out;
  }

  // The raw message (.eml) next to a record of the SMTP sink.
  static std::string raw_of(const json::object& record) {
    auto path = fs::path(std::string(record.at("file").as_string()));
    path.replace_extension(".eml");
    return read_text(path);
  }

 private:
  std::string mode_;
  std::uint16_t port_;
  std::vector<std::string> options_;
  fs::path dir_;
  pid_t pid_ = 0;
};

inline std::string str(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : std::string(); }
inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The worker runs only when a test says so: no periodic pass, no wake-up after commits.
inline platform::Config notify_config() {
  auto c = testing::test_config();
  c.set("notifications.worker_interval_ms", 3'600'000);
  c.set("notifications.wake_on_commit", false);
  c.set("notifications.backoff_base_ms", 0);
  return c;
}

inline platform::Config smtp_config(std::uint16_t port) {
  auto c = notify_config();
  c.set("notifications.email.transport", "smtp");
  c.set("notifications.email.smtp_url", json::string("smtp://127.0.0.1:" + std::to_string(port)));
  c.set("notifications.email.timeout_ms", 5000);
  return c;
}

// One pass of the delivery worker, exactly as the periodic job runs it.
inline void deliver(TestApp& app) {
  for (const auto& job : app.platform().jobs().all()) {
    if (job.name == "notifications-delivery") {
      app.platform().run_on_io(job.run);
      return;
    }
  }
  FAIL("the notifications-delivery job is not registered");
}

inline void exec_sql(TestApp& app, const std::string& sql) {
  app.platform().db().run_sync([&](soci::session& s) { s << sql; });
}

inline long long count_sql(TestApp& app, const std::string& sql, const std::string& arg) {
  long long n = 0;
  app.platform().db().run_sync([&](soci::session& s) { s << sql, soci::use(arg), soci::into(n); });
  return n;
}

// The shared test database holds other tests' events and deliveries: deliver those events now and park
// every delivery still waiting, so that this test's passes send only what the test itself queues.
inline void clean_slate(TestApp& app) {
  app.platform().drain_events();
  exec_sql(app, R"(UPDATE notifications.deliveries
                   SET status = 'dead', next_attempt_at = NULL, last_error = 'parked by a notifications test'
                   WHERE status IN ('pending', 'failed'))");
  exec_sql(app, "DELETE FROM notifications.fanouts");
}

template <class Contract>
std::string publish(TestApp& app, const Contract& event, const std::string& aggregate_id) {
  std::string id;
  app.platform().db().transaction_sync([&](platform::Tx& tx) {
    auto e = platform::make_event(event, aggregate_id);
    id = e.id;
    tx.publish(e);
  });
  return id;
}

struct DeliveryState {
  std::string id;
  std::string channel;
  std::string recipient;
  std::string template_name;
  std::string status;
  int attempts = 0;
  std::string last_error;
};

inline std::vector<DeliveryState> deliveries_of_event(TestApp& app, const std::string& event_id) {
  std::vector<DeliveryState> out;
  app.platform().db().run_sync([&](soci::session& s) {
    soci::rowset<soci::row> rows = (s.prepare << R"(
        SELECT id::text, channel, recipient, template, status, attempts, coalesce(last_error, '')
        FROM notifications.deliveries WHERE event_id = CAST(:e AS uuid) ORDER BY channel, recipient)",
                                    soci::use(event_id));
    for (const auto& r : rows) {
      out.push_back({r.get<std::string>(0), r.get<std::string>(1), r.get<std::string>(2), r.get<std::string>(3),
                     r.get<std::string>(4), r.get<int>(5), r.get<std::string>(6)});
    }
  });
  return out;
}

inline std::vector<DeliveryState> of_channel(const std::vector<DeliveryState>& all, const std::string& channel) {
  std::vector<DeliveryState> out;
  std::copy_if(all.begin(), all.end(), std::back_inserter(out), [&](const auto& d) { return d.channel == channel; });
  return out;
}

// An order as the orders module announces it, with a unique number and customer email.
inline orders::OrderSummary sample_order(const std::string& user_id = "", const std::string& first_name = "Ada") {
  orders::OrderSummary o;
  const auto suffix = testing::unique_suffix();
  o.order_id = platform::new_uuid_v7();
  o.number = "BZR-T" + suffix;
  o.user_id = user_id;
  o.email = "notify-" + suffix + "@example.com";
  o.currency = "EUR";
  o.lines = {{platform::new_uuid_v7(), platform::new_uuid_v7(), "MUG-" + suffix, "Enamel mug", 2, 1250, 2500},
             {platform::new_uuid_v7(), platform::new_uuid_v7(), "TEA-" + suffix, "Earl Grey, 250 g", 1, 899, 899}};
  o.subtotal = 3399;
  o.shipping_total = 495;
  o.total = 3894;
  o.shipping_address = json::object{{"first_name", first_name}, {"last_name", "Lovelace"}, {"line1", "12 Main Street"},
                                    {"line2", nullptr},         {"city", "Springfield"},   {"postal_code", "12345"},
                                    {"region", nullptr},        {"country", "DE"}};
  o.status = "paid";
  o.payment_status = "captured";
  return o;
}

}  // namespace bazaar::notifications_test
