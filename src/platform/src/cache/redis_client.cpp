#include <platform/cache.hpp>

#include <boost/url.hpp>
#include <hiredis/hiredis.h>

#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <stdexcept>
#include <utility>

namespace bazaar::platform {

namespace {

using Clock = std::chrono::steady_clock;

// Short enough that an unreachable or hung Redis adds little latency to the (rare) call that probes it.
constexpr timeval kIoTimeout{0, 200'000};
// A failed Redis is probed at most this often; every other call in between returns nullopt at once.
constexpr auto kRetryInterval = std::chrono::seconds(1);
// How long a caller waits for a pooled connection when all of them are busy before giving up.
constexpr auto kAcquireWait = std::chrono::milliseconds(200);

struct Target {
  std::string host;
  int port = 6379;
  std::string user;
  std::string password;
  bool has_password = false;
  int db = 0;
};

[[noreturn]] void bad_url(const std::string& why) {
  // The URL itself is never echoed: it may carry a password.
  throw std::invalid_argument("redis.url: " + why + " (expected redis://[[user]:password@]host[:port][/db])");
}

Target parse_url(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) bad_url("not a valid URI");
  const boost::urls::url_view u = *parsed;
  std::string scheme = u.scheme();
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != "redis") bad_url("the scheme must be redis");
  if (!u.has_authority() || u.encoded_host().empty()) bad_url("the host is missing");
  if (u.has_query() || u.has_fragment()) bad_url("query and fragment are not supported");

  Target t;
  t.host = u.host_address();  // IPv6 literals without their brackets, as hiredis wants them
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0) bad_url("the port is not valid");
    t.port = u.port_number();
  }
  if (u.has_userinfo()) {
    t.user = u.user();
    t.has_password = u.has_password();
    if (t.has_password) t.password = u.password();
    if (!t.user.empty() && !t.has_password) bad_url("a user needs a password");
  }
  const std::string path = u.path();
  if (!path.empty() && path != "/") {
    const char* first = path.data() + 1;
    const char* last = path.data() + path.size();
    const auto [end, ec] = std::from_chars(first, last, t.db);
    if (ec != std::errc{} || end != last || t.db < 0) bad_url("the database must be a number, as in /0");
  }
  return t;
}

// hiredis writes with write(2), so a peer that reset the connection would raise SIGPIPE and kill the process
// unless the application ignores it. Blocking SIGPIPE in this thread for the duration of a call, and
// swallowing one we caused, keeps Redis trouble from ever being fatal without touching global signal state.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        sigtimedwait(&pipe_, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// redisCommandArgv's view of a command: pointers and lengths, so arguments may hold any bytes.
struct Argv {
  explicit Argv(const std::vector<std::string>& argv) {
    pointers.reserve(argv.size());
    lengths.reserve(argv.size());
    for (const auto& a : argv) {
      pointers.push_back(a.data());
      lengths.push_back(a.size());
    }
  }
  mutable std::vector<const char*> pointers;  // hiredis takes `const char**`, though it only reads
  std::vector<std::size_t> lengths;
};

ReplyPtr run_command(redisContext* c, const Argv& argv) {
  return ReplyPtr(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.pointers.size()), argv.pointers.data(), argv.lengths.data())));
}

RedisClient::Reply flatten(const redisReply& r) {
  RedisClient::Reply out;
  using Type = RedisClient::Reply::Type;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      out.type = Type::integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.type = r.type == REDIS_REPLY_STRING   ? Type::string
                 : r.type == REDIS_REPLY_STATUS ? Type::status
                                                : Type::error;
      if (r.str != nullptr) out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Type::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(flatten(*r.element[i]));
      break;
    default:  // REDIS_REPLY_NIL; RESP3-only types never arrive since we never send HELLO 3
      break;
  }
  return out;
}

bool is_ok(const ReplyPtr& r) { return r && r->type == REDIS_REPLY_STATUS; }

}  // namespace

struct RedisClient::Impl {
  Target target;
  std::size_t max_connections = 1;

  std::mutex mutex;
  std::condition_variable released;
  std::vector<redisContext*> idle;  // healthy, authenticated, on the right database
  std::size_t open = 0;             // idle + checked out + being connected
  bool failing = false;             // the last connect or I/O attempt failed
  Clock::time_point retry_at{};     // no new connection before this while failing

  struct Lease {
    redisContext* context = nullptr;
    bool reused = false;
  };

  ~Impl() {
    for (auto* c : idle) redisFree(c);
  }

  // nullptr when Redis cannot be reached or refuses AUTH/SELECT; never throws, so a slot counted in `open`
  // cannot leak.
  redisContext* connect() const noexcept {
    struct Free {
      void operator()(redisContext* c) const { redisFree(c); }
    };
    std::unique_ptr<redisContext, Free> c(redisConnectWithTimeout(target.host.c_str(), target.port, kIoTimeout));
    if (!c || c->err != 0 || redisSetTimeout(c.get(), kIoTimeout) != REDIS_OK) return nullptr;
    redisEnableKeepAlive(c.get());  // notices a silently vanished peer on idle pooled connections
    try {
      if (target.has_password) {
        std::vector<std::string> auth{"AUTH"};
        if (!target.user.empty()) auth.push_back(target.user);
        auth.push_back(target.password);
        if (!is_ok(run_command(c.get(), Argv(auth)))) return nullptr;
      }
      if (target.db != 0 && !is_ok(run_command(c.get(), Argv({"SELECT", std::to_string(target.db)})))) return nullptr;
    } catch (const std::exception&) {
      return nullptr;
    }
    return c.release();
  }

  std::optional<Lease> acquire() {
    std::unique_lock lock(mutex);
    const auto deadline = Clock::now() + kAcquireWait;
    for (;;) {
      if (!idle.empty()) {
        Lease lease{idle.back(), true};
        idle.pop_back();
        return lease;
      }
      if (open < max_connections) {
        const auto now = Clock::now();
        if (failing) {
          if (now < retry_at) return std::nullopt;
          retry_at = now + kRetryInterval;  // this caller is the one probe for the next second
        }
        ++open;
        lock.unlock();
        redisContext* c = connect();
        lock.lock();
        if (c == nullptr) {
          --open;
          mark_failing_locked();
          released.notify_one();
          return std::nullopt;
        }
        failing = false;
        return Lease{c, false};
      }
      if (released.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
    }
  }

  void mark_failing_locked() {
    failing = true;
    retry_at = Clock::now() + kRetryInterval;
  }

  void release(redisContext* c) {
    {
      std::lock_guard lock(mutex);
      idle.push_back(c);
    }
    released.notify_one();
  }

  // Drops a broken connection. After a server-side close every idle connection is most likely stale too,
  // so they go as well rather than each costing a failed call.
  void discard(redisContext* c, bool stale) {
    std::vector<redisContext*> dropped{c};
    {
      std::lock_guard lock(mutex);
      if (stale) {
        dropped.insert(dropped.end(), idle.begin(), idle.end());
        idle.clear();
      } else {
        mark_failing_locked();
      }
      open -= dropped.size();
    }
    for (auto* d : dropped) redisFree(d);
    released.notify_all();
  }
};

RedisClient::RedisClient(std::string url, std::size_t connections)
    : url_(std::move(url)), impl_(std::make_unique<Impl>()) {
  impl_->target = parse_url(url_);
  impl_->max_connections = std::max<std::size_t>(connections, 1);
}

RedisClient::~RedisClient() = default;

std::optional<RedisClient::Reply> RedisClient::command(const std::vector<std::string>& argv) {
  if (argv.empty()) return std::nullopt;
  try {
    const Argv args(argv);  // allocated before a connection is leased, so nothing can leak one
    SigpipeGuard guard;
    // Two rounds: a pooled connection the server closed while it sat idle (restart, idle timeout) fails with
    // EOF without the command having run, so it is retried once on a fresh connection. (A server dying after
    // running it but before answering looks the same; one double-counted hit then is an acceptable price.)
    for (int round = 0; round < 2; ++round) {
      auto lease = impl_->acquire();
      if (!lease) return std::nullopt;
      ReplyPtr reply = run_command(lease->context, args);
      if (reply) {
        impl_->release(lease->context);  // the reply is independent of the connection from here on
        return flatten(*reply);
      }
      const bool stale = lease->reused && lease->context->err == REDIS_ERR_EOF;
      impl_->discard(lease->context, stale);
      if (!stale) return std::nullopt;
    }
  } catch (const std::exception&) {
    // Only allocation failures can get here; callers treat nullopt as "Redis unavailable" and fall back.
  }
  return std::nullopt;
}

bool RedisClient::ping() {
  auto reply = command({"PING"});
  return reply && reply->type == Reply::Type::status && reply->str == "PONG";
}

}  // namespace bazaar::platform
