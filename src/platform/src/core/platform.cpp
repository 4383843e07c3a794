#include <platform/log.hpp>
#include <platform/migrations.hpp>
#include <platform/platform.hpp>

#include "events/dispatcher.hpp"
#include "http/idempotency.hpp"
#include "http/pipeline.hpp"
#include "http/server.hpp"
#include "ops_routes.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <filesystem>
#include <thread>

namespace bazaar::platform {

namespace asio = boost::asio;

namespace {

DatabaseOptions database_options(const Config& c) {
  DatabaseOptions o;
  o.url = c.required_string("database.url");
  o.pool_size = static_cast<std::size_t>(c.integer("database.pool_size", 4, 1, 256));
  o.max_queue = static_cast<std::size_t>(c.integer("database.max_queue", 2048, 1, 1'000'000));
  o.acquire_timeout = c.millis("database.acquire_timeout_ms", 2000);
  o.statement_timeout = c.millis("database.statement_timeout_ms", 5000);
  o.async_connections = static_cast<std::size_t>(c.integer("database.async_connections", 1, 0, 64));
  return o;
}

DispatcherOptions dispatcher_options(const Config& c) {
  DispatcherOptions o;
  o.max_attempts = static_cast<int>(c.integer("events.max_attempts", 10, 1, 1000));
  o.batch_size = static_cast<int>(c.integer("events.batch_size", 100, 1, 10000));
  o.poll_interval = c.millis("events.poll_interval_ms", 1000);
  o.wake_delay = c.millis("events.wake_delay_ms", 50);
  o.backoff_base = c.millis("events.backoff_base_ms", 1000);
  o.listen_url = c.boolean("events.listen", true) ? c.required_string("database.url") : "";
  return o;
}

std::optional<ListenerSpec> listener(const Config& c, const std::string& name, bool tls, bool admin) {
  const std::string value = c.string(name + ".listen", "");
  if (value.empty()) return std::nullopt;
  return ListenerSpec{name, parse_listen_address(name + ".listen", value), tls, admin};
}

ServerOptions server_options(const Config& c) {
  ServerOptions o;
  if (auto l = listener(c, "http", false, false)) o.listeners.push_back(*l);
  if (auto l = listener(c, "https", true, false)) o.listeners.push_back(*l);
  if (auto l = listener(c, "admin", false, true)) o.listeners.push_back(*l);
  if (o.listeners.empty()) throw ConfigError("http.listen, https.listen and admin.listen are all empty: nothing to serve");
  o.cert_file = c.string("https.cert_file", "");
  o.key_file = c.string("https.key_file", "");
  o.body_limit = static_cast<std::size_t>(c.integer("http.body_limit_bytes", 1 << 20, 1024, 1 << 30));
  o.upload_limit = static_cast<std::size_t>(c.integer("http.upload_limit_bytes", 10 << 20, 1024, 1 << 30));
  o.header_limit = static_cast<std::size_t>(c.integer("http.header_limit_bytes", 16384, 1024, 1 << 20));
  o.read_timeout = c.millis("http.read_timeout_ms", 10000);
  o.idle_timeout = c.millis("http.idle_timeout_ms", 60000);
  o.max_connections = static_cast<std::size_t>(c.integer("http.max_connections", 10000, 1, 1'000'000));
  o.max_in_flight = static_cast<std::size_t>(c.integer("http.max_in_flight", 4096, 1, 1'000'000));
  o.trust_forwarded_for = c.boolean("http.trust_forwarded_for", false);
  return o;
}

std::shared_ptr<security::JwtService> load_jwt(const Config& c) {
  security::JwtSettings s;
  s.issuer = c.string("auth.issuer", "bazaar");
  s.audience = c.string("auth.audience", "bazaar-api");
  s.access_ttl = std::chrono::seconds(c.integer("auth.access_ttl_seconds", 900, 30, 86400));
  const std::string dir = c.string("auth.keys_dir", "");
  if (dir.empty()) throw ConfigError("auth.keys_dir is required (a directory of Ed25519 <kid>.pem keys)");
  try {
    auto keys = std::make_shared<const security::KeyRing>(security::KeyRing::load_dir(dir));
    return std::make_shared<security::JwtService>(std::move(keys), s);
  } catch (const std::exception& e) {
    throw ConfigError(fmt::format("auth.keys_dir '{}': {} (scripts/run.sh creates development keys)", dir, e.what()));
  }
}

}  // namespace

struct Platform::Impl {
  // One io_context per I/O thread, each run by exactly that thread: connections never need a strand and
  // schedulers are not contended. `io` (the first) also runs the acceptors, dispatcher, jobs and signals.
  // Declared first: destroyed last, after every timer and socket bound to them.
  asio::io_context io{1};
  std::vector<std::unique_ptr<asio::io_context>> extra_ios;
  Config config;
  Metrics metrics;
  Database db;
  std::shared_ptr<RedisClient> redis;
  std::unique_ptr<WorkerPool> redis_pool;
  std::unique_ptr<RateLimiter> rate_limiter;
  std::shared_ptr<security::JwtService> jwt;
  security::PasswordHasher hasher;
  WorkerPool hashing;
  http::Router router;
  Dispatcher dispatcher;
  IdempotencyStore idempotency;
  Jobs jobs;
  OpenApi openapi;
  std::vector<PrincipalCheck> principal_checks;
  std::vector<Command> commands;
  std::vector<std::pair<std::string, PersonalDataExporter>> personal_data;
  std::vector<std::string> schemas{"platform"};
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<Server> server;
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::shared_ptr<asio::steady_timer>> job_timers;
  std::atomic<bool> stopping{false};
  bool started = false;

  explicit Impl(Config c)
      : config(std::move(c)),
        db(database_options(config)),
        jwt(load_jwt(config)),
        hasher(security::PasswordParams{}),
        hashing(WorkerPoolOptions{"password-hashing", static_cast<std::size_t>(config.integer("auth.hash_threads", 1, 1, 64)),
                                  static_cast<std::size_t>(config.integer("auth.hash_queue", 64, 1, 100000)),
                                  std::chrono::milliseconds(5000),
                                  static_cast<int>(config.integer("auth.hash_nice", 10, 0, 19))}),
        dispatcher(db, dispatcher_options(config), metrics),
        idempotency(db) {
    log::set_level(log::level_from_string(config.string("log.level", "info")));
    const std::string redis_url = config.string("redis.url", "");
    if (!redis_url.empty()) {
      redis = std::make_shared<RedisClient>(redis_url, static_cast<std::size_t>(config.integer("redis.pool_size", 2, 1, 64)));
      redis_pool = std::make_unique<WorkerPool>(WorkerPoolOptions{"redis", redis ? 2u : 1u, 4096, std::chrono::milliseconds(500)});
      rate_limiter = std::make_unique<RedisRateLimiter>(redis, *redis_pool);
    } else {
      rate_limiter = std::make_unique<InProcessRateLimiter>();
    }
    db.on_events_committed([this] { dispatcher.wake(); });
    db.register_metrics(metrics);
    metrics.gauge_fn("bazaar_process_resident_memory_bytes", "Resident set size",
                     [] { return static_cast<double>(process_rss_bytes()); });
    register_ops_routes(OpsDeps{router, openapi, metrics, db, redis.get(), jwt.get(), config});
    register_event_admin_routes(router, openapi, db, dispatcher);
    jobs.every("idempotency-purge", std::chrono::minutes(10), [this] { return idempotency.purge_expired(); });
    const auto retention = std::chrono::hours(config.integer("events.retention_hours", 168, 1, 24 * 3650));
    jobs.every("outbox-purge", std::chrono::hours(1), [this, retention] { return dispatcher.purge(retention); });
  }

  void start_jobs() {
    for (const auto& job : jobs.all()) {
      auto timer = std::make_shared<asio::steady_timer>(io);
      job_timers.push_back(timer);
      asio::co_spawn(io, run_job(job, timer, stopping), asio::detached);
    }
  }

  static asio::awaitable<void> run_job(Job job, std::shared_ptr<asio::steady_timer> timer, std::atomic<bool>& stopping) {
    while (!stopping) {
      timer->expires_after(job.interval);
      boost::system::error_code ec;
      co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopping) break;
      try {
        co_await job.run();
      } catch (const std::exception& e) {
        log::warn("background job failed", {{"job", job.name}, {"error", e.what()}});
      }
    }
  }
};

Platform::Platform(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Platform::~Platform() { stop(); }

ModuleContext Platform::context(std::string module_name) {
  if (std::find(impl_->schemas.begin(), impl_->schemas.end(), module_name) == impl_->schemas.end()) {
    impl_->schemas.push_back(module_name);
  }
  return ModuleContext(*this, std::move(module_name));
}

void Platform::migrate() {
  impl_->db.run_sync([this](soci::session& s) {
    auto report = apply_migrations(s, impl_->schemas);
    log::info("migrations", {{"applied", boost::json::value_from(report.applied)},
                             {"already_applied", report.already_applied}});
  });
}

void Platform::start(std::size_t threads) {
  auto& d = *impl_;
  if (d.started) return;
  if (threads == 0) {
    threads = static_cast<std::size_t>(d.config.integer("http.threads", 0, 0, 256));
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  }
  PipelineOptions po;
  po.cors_origins = d.config.strings("http.cors_origins");
  po.rate_limit_enabled = d.config.boolean("rate_limit.enabled", true);
  po.per_ip_per_minute = d.config.integer("rate_limit.per_ip_per_minute", 1200, 1, 100'000'000);
  po.separate_admin_listener = !d.config.string("admin.listen", "").empty();
  d.pipeline = std::make_unique<Pipeline>(
      po, PipelineDeps{d.router, d.jwt.get(), *d.rate_limiter, d.idempotency, d.metrics, d.principal_checks});
  Pipeline* pipeline = d.pipeline.get();
  std::vector<asio::io_context*> contexts{&d.io};
  for (std::size_t i = 1; i < threads; ++i) {
    d.extra_ios.push_back(std::make_unique<asio::io_context>(1));
    contexts.push_back(d.extra_ios.back().get());
  }
  d.server = std::make_unique<Server>(
      d.io, contexts, server_options(d.config), [pipeline](http::Request& rq) { return (*pipeline)(rq); }, d.metrics);
  d.server->start();
  d.db.attach_io(contexts);
  if (d.config.boolean("events.dispatch_in_background", true)) d.dispatcher.start(d.io);
  d.start_jobs();
  for (auto* context : contexts) {
    d.work.push_back(asio::make_work_guard(*context));
    d.threads.emplace_back([context] { context->run(); });
  }
  d.started = true;
}

int Platform::serve_until_signal() {
  auto& d = *impl_;
  std::promise<int> signalled;
  asio::signal_set signals(d.io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) { signalled.set_value(sig); });
  const int sig = signalled.get_future().get();
  log::info("shutting down", {{"signal", sig}});
  stop();
  return 0;
}

void Platform::stop() {
  auto& d = *impl_;
  if (!d.started || d.stopping.exchange(true)) return;
  const auto grace = d.config.millis("http.shutdown_grace_ms", 10000);
  auto done = asio::co_spawn(d.io, d.server->shutdown(grace), asio::use_future);
  done.wait();
  d.dispatcher.stop();
  for (auto& t : d.job_timers) asio::post(d.io, [t] { t->cancel(); });
  d.work.clear();
  d.io.stop();
  for (auto& context : d.extra_ios) context->stop();
  for (auto& t : d.threads) t.join();
  d.threads.clear();
  d.db.detach_io();  // the I/O threads' connections, now that no thread uses them
  d.hashing.stop();
  if (d.redis_pool) d.redis_pool->stop();
  d.db.stop();
}

std::uint16_t Platform::port(std::string_view listener) const {
  return impl_->server ? impl_->server->port(listener) : 0;
}

std::size_t Platform::drain_events() {
  std::size_t total = 0;
  run_on_io([this, &total]() -> asio::awaitable<void> {
    while (std::size_t n = co_await impl_->dispatcher.dispatch_once()) total += n;
  });
  return total;
}

void Platform::run_on_io(std::function<asio::awaitable<void>()> fn) {
  auto& d = *impl_;
  if (!d.started) {  // no I/O threads yet: run on a private context
    asio::io_context io;
    auto f = asio::co_spawn(io, fn(), asio::use_future);
    io.run();
    f.get();
    return;
  }
  asio::co_spawn(d.io, fn(), asio::use_future).get();
}

const Config& Platform::config() const { return impl_->config; }
Database& Platform::db() { return impl_->db; }
http::Router& Platform::router() { return impl_->router; }
EventBus& Platform::events() { return impl_->dispatcher; }
Jobs& Platform::jobs() { return impl_->jobs; }
Metrics& Platform::metrics() { return impl_->metrics; }
RateLimiter& Platform::rate_limiter() { return *impl_->rate_limiter; }
OpenApi& Platform::openapi() { return impl_->openapi; }
const security::JwtService& Platform::jwt() { return *impl_->jwt; }
WorkerPool& Platform::hashing_pool() { return impl_->hashing; }
const security::PasswordHasher& Platform::password_hasher() const { return impl_->hasher; }
void Platform::add_principal_check(PrincipalCheck check) { impl_->principal_checks.push_back(std::move(check)); }
void Platform::add_command(Command command) { impl_->commands.push_back(std::move(command)); }
const std::vector<Command>& Platform::commands() const { return impl_->commands; }
const std::vector<std::string>& Platform::schemas() const { return impl_->schemas; }

void Platform::add_personal_data(std::string section, PersonalDataExporter exporter) {
  impl_->personal_data.emplace_back(std::move(section), std::move(exporter));
}

asio::awaitable<boost::json::object> Platform::export_personal_data(std::string user_id) {
  boost::json::object out;
  for (const auto& [section, exporter] : impl_->personal_data) out[section] = co_await exporter(user_id);
  co_return out;
}

// ModuleContext: a narrow window onto the platform.
const Config& ModuleContext::config() const { return platform_.config(); }
Database& ModuleContext::db() { return platform_.db(); }
http::Router& ModuleContext::router() { return platform_.router(); }
EventBus& ModuleContext::events() { return platform_.events(); }
Jobs& ModuleContext::jobs() { return platform_.jobs(); }
Metrics& ModuleContext::metrics() { return platform_.metrics(); }
RateLimiter& ModuleContext::rate_limiter() { return platform_.rate_limiter(); }
OpenApi& ModuleContext::openapi() { return platform_.openapi(); }
const security::JwtService& ModuleContext::jwt() { return platform_.jwt(); }
void ModuleContext::add_principal_check(PrincipalCheck check) { platform_.add_principal_check(std::move(check)); }
void ModuleContext::add_command(Command command) { platform_.add_command(std::move(command)); }
void ModuleContext::add_personal_data(std::string section, PersonalDataExporter exporter) {
  platform_.add_personal_data(std::move(section), std::move(exporter));
}
asio::awaitable<boost::json::object> ModuleContext::export_personal_data(std::string user_id) {
  return platform_.export_personal_data(std::move(user_id));
}

asio::awaitable<std::string> ModuleContext::hash_password(std::string password) {
  const auto& hasher = platform_.password_hasher();
  co_return co_await platform_.hashing_pool().run([&] { return hasher.hash(password); });
}

asio::awaitable<security::PasswordCheck> ModuleContext::verify_password(std::string password, std::string phc) {
  const auto& hasher = platform_.password_hasher();
  co_return co_await platform_.hashing_pool().run([&] { return hasher.verify(password, phc); });
}

}  // namespace bazaar::platform
