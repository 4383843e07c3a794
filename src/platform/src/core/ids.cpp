#include <platform/ids.hpp>

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <stdexcept>

#include <fmt/format.h>

namespace bazaar::platform {

std::string new_uuid_v7() {
  // RFC 9562 §5.7: 48-bit Unix milliseconds, version 7, 12 bits rand_a, 62 bits rand_b. rand_a is a counter
  // (§6.2, method 1) seeded randomly each millisecond, so ids made by this process are strictly increasing
  // even within one millisecond or when the clock steps back: "ORDER BY id" is creation order, which
  // newest-first lists and keyset pagination rely on.
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  static std::atomic<std::uint64_t> last{0};  // (milliseconds << 12) | counter of the latest id
  const auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  // The seed leaves the counter's top bit clear: at least 2048 ids per millisecond before it carries into
  // the timestamp (borrowing a millisecond from the future, as §6.2 allows).
  const std::uint64_t seeded = (ms << 12) | ((static_cast<std::uint64_t>(b[6]) << 8 | b[7]) & 0x7FF);
  std::uint64_t previous = last.load(std::memory_order_relaxed);
  std::uint64_t next = 0;
  do {
    next = std::max(seeded, previous + 1);
  } while (!last.compare_exchange_weak(previous, next, std::memory_order_relaxed));
  const std::uint64_t stamp = next >> 12;
  for (int i = 0; i < 6; ++i) b[static_cast<std::size_t>(i)] = static_cast<unsigned char>(stamp >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>(0x70 | ((next >> 8) & 0x0F));
  b[7] = static_cast<unsigned char>(next & 0xFF);
  b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3F));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0F]);
  }
  return out;
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> normalize_uuid(std::string_view s) {
  if (!is_uuid(s)) return std::nullopt;
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string now_rfc3339() {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

}  // namespace bazaar::platform
