#pragma once
// Security primitives: CSPRNG tokens, hashing, HMAC, constant-time comparison, Ed25519 JWTs with key
// rotation, and Argon2id password hashing. No I/O besides reading key files; no Asio.
#include <platform/error.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bazaar::platform::security {

// `bytes` random bytes from the OS CSPRNG (OpenSSL RAND_bytes), base64url without padding.
std::string random_token(std::size_t bytes = 32);
std::string base64url_encode(std::string_view data);
std::optional<std::string> base64url_decode(std::string_view text);  // nullopt on bad input
std::string sha256_hex(std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
bool constant_time_equal(std::string_view a, std::string_view b);

// Claims bazaar puts in (and requires from) an access token.
struct AccessClaims {
  std::string sub;
  std::string role;
  std::string jti;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
};

struct JwtSettings {
  std::string issuer = "bazaar";
  std::string audience = "bazaar-api";
  std::chrono::seconds access_ttl{900};
  std::chrono::seconds leeway{30};
};

// Ed25519 key set: every key verifies, the newest (last by kid order) signs. Keys are PEM files named
// <kid>.pem in a directory; rotation = add a newer file, keep the old one until its tokens expire.
class KeyRing {
 public:
  KeyRing();
  ~KeyRing();
  KeyRing(KeyRing&&) noexcept;
  KeyRing& operator=(KeyRing&&) noexcept;

  // Loads every *.pem in `dir`. Throws std::runtime_error naming the file on a bad key, or if none exist.
  static KeyRing load_dir(const std::filesystem::path& dir);
  // Writes a fresh Ed25519 private key as <dir>/<kid>.pem (mode 0600) — used by scripts and tests.
  static void generate_key_file(const std::filesystem::path& dir, const std::string& kid);
  // In-memory key, for tests.
  void add_generated(const std::string& kid);

  std::string signing_kid() const;
  std::size_t size() const;
  // {"keys": [{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig","kid":...,"x":...}]}
  boost::json::value jwks() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

class JwtService {
 public:
  JwtService(std::shared_ptr<const KeyRing> keys, JwtSettings settings);

  // Signs {sub, role, iat, exp, iss, aud, jti} with the signing key; header {"alg":"EdDSA","typ":"JWT","kid"}.
  std::string issue(const std::string& subject, const std::string& role, std::chrono::system_clock::time_point now =
                                                                             std::chrono::system_clock::now()) const;
  // Verifies structure, alg == EdDSA exactly (no "none", no HS256 confusion), a known kid, the signature,
  // iss, aud, exp/iat with leeway. Errors are 401 `invalid_token` with a client-safe detail.
  Result<AccessClaims> verify(std::string_view token, std::chrono::system_clock::time_point now =
                                                           std::chrono::system_clock::now()) const;
  const JwtSettings& settings() const { return settings_; }
  const KeyRing& keys() const { return *keys_; }

 private:
  std::shared_ptr<const KeyRing> keys_;
  JwtSettings settings_;
};

struct PasswordParams {
  std::uint32_t memory_kib = 19 * 1024;  // OWASP minimum for Argon2id
  std::uint32_t iterations = 2;
  std::uint32_t parallelism = 1;
};

struct PasswordCheck {
  bool ok = false;
  bool needs_rehash = false;  // stored parameters differ from the current ones
};

// Argon2id via libargon2, PHC strings ($argon2id$v=19$m=...,t=...,p=...$salt$hash), 16-byte random salts.
class PasswordHasher {
 public:
  explicit PasswordHasher(PasswordParams params = {}) : params_(params) {}
  std::string hash(std::string_view password) const;
  PasswordCheck verify(std::string_view password, std::string_view phc) const;  // malformed phc → ok=false
  const PasswordParams& params() const { return params_; }

 private:
  PasswordParams params_;
};

// True for passwords on the built-in list of the most common ones (case-insensitive).
bool is_common_password(std::string_view password);

}  // namespace bazaar::platform::security
