#pragma once
// Routes that exist only in tests, added through TestApp's before_start callback, to drive the platform's
// HTTP edge: JSON parsing and validation, exceptions, access levels, uploads and a handler that holds the
// request until the test lets it go.
#include <platform/platform.hpp>

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>

namespace bazaar::testing {

// Holds requests inside a handler until the test releases them. The handler waits on a timer loop on its
// I/O executor, so the I/O threads stay free for other requests meanwhile.
class Gate {
 public:
  boost::asio::awaitable<void> pass();  // handler side: counts itself in, then waits for release()
  void release() { released_ = true; }
  bool released() const { return released_; }
  std::size_t entered() const { return entered_; }
  std::size_t left() const { return left_; }
  // Polls until `n` requests are inside the handler (bounded); false on timeout.
  bool wait_entered(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

 private:
  std::atomic<bool> released_{false};
  std::atomic<std::size_t> entered_{0};
  std::atomic<std::size_t> left_{0};
};

// Releases the gate when the test leaves its scope, also on a failed assertion, so nothing hangs.
struct GateRelease {
  Gate& gate;
  ~GateRelease() { gate.release(); }
};

// The message of the exception /test/throw raises: must never reach a client.
inline constexpr const char* kSecretExceptionText = "secret-internal-detail password=hunter2";

// POST /test/echo          public: parses the JSON body (400/415), echoes it
// POST /test/validate      public: {"name": 1..10 chars, "age": 0..150, "email"?: string} → 422 per field
// POST /test/upload        public: {"bytes": body size, "content_type": ...} (any media type)
// GET  /test/throw         public: throws std::runtime_error(kSecretExceptionText)
// GET  /test/conflict      public: throws ErrorException(409 "thing_taken")
// GET  /test/unavailable   public: throws ErrorException(503, Retry-After 7)
// GET  /test/me            authenticated: {"user_id", "role"}
// GET  /test/admin         admin: {"ok": true}
// GET  /test/block         public: waits at `gate` (when given), then {"released": true}
void add_test_routes(platform::Platform& platform, std::shared_ptr<Gate> gate = nullptr);

}  // namespace bazaar::testing
