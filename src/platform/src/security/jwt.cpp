#include <platform/security.hpp>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <stdexcept>

namespace bazaar::platform::security {

namespace json = boost::json;

namespace {

constexpr std::size_t kEd25519KeySize = 32;
constexpr std::size_t kEd25519SignatureSize = 64;
// Our tokens are ~400 bytes; refusing huge input early keeps a hostile header from costing parse time.
constexpr std::size_t kMaxTokenSize = std::size_t{8} * 1024;

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

PkeyPtr generate_ed25519() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) throw std::runtime_error("Ed25519 key generation failed");
  return key;
}

// kids become file names and JWT header values: keep them to a conservative, path-safe alphabet.
void check_kid(const std::string& kid) {
  const bool ok =
      !kid.empty() && kid.size() <= 64 && kid.front() != '.' && std::all_of(kid.begin(), kid.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.';
      });
  if (!ok) throw std::invalid_argument("invalid key id '" + kid + "': use [A-Za-z0-9._-], at most 64 characters");
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read key file " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

PkeyPtr parse_private_pem(const std::string& pem, const std::filesystem::path& path) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw std::runtime_error("out of memory reading key file " + path.string());
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) throw std::runtime_error("key file " + path.string() + " is not a PEM private key");
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    throw std::runtime_error("key file " + path.string() + " is not an Ed25519 key");
  }
  return key;
}

std::string private_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error("cannot encode Ed25519 key as PEM");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// O_EXCL: a rotation script that reuses a kid must fail loudly rather than silently replace a key whose
// tokens are still in circulation. The mode is set at creation so the key is never world-readable.
void write_secret_file(const std::filesystem::path& path, std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    OPENSSL_cleanse(content.data(), content.size());
    throw std::runtime_error("cannot create key file " + path.string() + ": " + std::strerror(err));
  }
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  const bool closed = ::close(fd) == 0;
  OPENSSL_cleanse(content.data(), content.size());
  if (written != content.size() || !closed) {
    std::filesystem::remove(path);
    throw std::runtime_error("cannot write key file " + path.string());
  }
}

std::string raw_public_key(EVP_PKEY* key) {
  std::array<unsigned char, kEd25519KeySize> raw{};
  std::size_t size = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, raw.data(), &size) != 1 || size != raw.size()) {
    throw std::runtime_error("cannot extract Ed25519 public key");
  }
  return std::string(reinterpret_cast<const char*>(raw.data()), size);
}

}  // namespace

struct KeyRing::Impl {
  struct Key {
    PkeyPtr pkey;
    std::string public_raw;
  };
  // std::map keeps kids in lexicographic order, which defines "newest" (the last one signs).
  std::map<std::string, Key, std::less<>> keys;

  void add(const std::string& kid, PkeyPtr pkey) {
    std::string pub = raw_public_key(pkey.get());
    keys.insert_or_assign(kid, Key{std::move(pkey), std::move(pub)});
  }
  // The entry (kid and key) that signs; an empty ring is a wiring bug, load_dir never returns one.
  const std::pair<const std::string, Key>& signing_entry() const {
    if (keys.empty()) throw std::logic_error("KeyRing is empty: no key to sign with");
    return *std::prev(keys.end());
  }
  const Key* find(std::string_view kid) const {
    const auto it = keys.find(kid);
    return it == keys.end() ? nullptr : &it->second;
  }
};

KeyRing::KeyRing() : impl_(std::make_unique<Impl>()) {}
KeyRing::~KeyRing() = default;
KeyRing::KeyRing(KeyRing&&) noexcept = default;
KeyRing& KeyRing::operator=(KeyRing&&) noexcept = default;

KeyRing KeyRing::load_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) throw std::runtime_error("cannot read key directory " + dir.string() + ": " + ec.message());
  KeyRing ring;
  for (const auto& entry : it) {
    if (!entry.is_regular_file() || entry.path().extension() != ".pem") continue;
    const std::string kid = entry.path().stem().string();
    try {
      check_kid(kid);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error("key file " + entry.path().string() + ": " + e.what());
    }
    std::string pem = read_file(entry.path());
    PkeyPtr key = parse_private_pem(pem, entry.path());
    OPENSSL_cleanse(pem.data(), pem.size());
    ring.impl_->add(kid, std::move(key));
  }
  if (ring.size() == 0) throw std::runtime_error("no <kid>.pem key files in " + dir.string());
  return ring;
}

void KeyRing::generate_key_file(const std::filesystem::path& dir, const std::string& kid) {
  check_kid(kid);
  std::filesystem::create_directories(dir);
  const PkeyPtr key = generate_ed25519();
  std::string pem = private_key_pem(key.get());
  write_secret_file(dir / (kid + ".pem"), pem);
}

void KeyRing::add_generated(const std::string& kid) {
  check_kid(kid);
  impl_->add(kid, generate_ed25519());
}

std::string KeyRing::signing_kid() const { return impl_->signing_entry().first; }

std::size_t KeyRing::size() const { return impl_->keys.size(); }

json::value KeyRing::jwks() const {
  json::array keys;
  for (const auto& [kid, key] : impl_->keys) {
    keys.push_back(json::object{{"kty", "OKP"},
                                {"crv", "Ed25519"},
                                {"alg", "EdDSA"},
                                {"use", "sig"},
                                {"kid", kid},
                                {"x", base64url_encode(key.public_raw)}});
  }
  return json::object{{"keys", std::move(keys)}};
}

// ---------------------------------------------------------------------------------------------------------

namespace {

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string ed25519_sign(EVP_PKEY* key, std::string_view data) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) throw std::runtime_error("Ed25519 signing: out of memory");
  // Ed25519 hashes internally, so the digest must be NULL and the one-shot EVP_DigestSign is required.
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) {
    throw std::runtime_error("Ed25519 signing: init failed");
  }
  std::array<unsigned char, kEd25519SignatureSize> sig{};
  std::size_t size = sig.size();
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), sig.data(), &size, bytes, data.size()) != 1) {
    throw std::runtime_error("Ed25519 signing failed");
  }
  return std::string(reinterpret_cast<const char*>(sig.data()), size);
}

bool ed25519_verify(EVP_PKEY* key, std::string_view data, std::string_view sig) {
  if (sig.size() != kEd25519SignatureSize) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

Error invalid_token(std::string detail, std::string internal) {
  Error e = Error::unauthorized("invalid_token", std::move(detail));
  e.internal = "JWT rejected: " + std::move(internal);
  return e;
}

Error malformed(std::string internal) { return invalid_token("The access token is malformed.", std::move(internal)); }

// Decodes one base64url segment holding a JSON object; anything else is a malformed token.
std::optional<json::object> decode_json_object(std::string_view segment) {
  const auto text = base64url_decode(segment);
  if (!text) return std::nullopt;
  std::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

const json::string* string_member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v ? v->if_string() : nullptr;
}

// NumericDate as an integer; we only issue integers, so fractions or huge unsigned values are malformed.
std::optional<std::int64_t> int_member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (const auto* i = v->if_int64()) return *i;
  if (const auto* u = v->if_uint64(); u && *u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(*u);
  }
  return std::nullopt;
}

bool audience_matches(const json::value* aud, std::string_view ours) {
  if (!aud) return false;
  if (const auto* s = aud->if_string()) return *s == ours;
  if (const auto* a = aud->if_array()) {
    return std::any_of(a->begin(), a->end(),
                       [&](const json::value& v) { return v.is_string() && v.get_string() == ours; });
  }
  return false;
}

bool typ_acceptable(const json::object& header) {
  const json::value* typ = header.if_contains("typ");
  if (!typ) return true;
  const auto* s = typ->if_string();
  if (!s) return false;
  std::string lower(s->begin(), s->end());
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == "jwt" || lower == "at+jwt";
}

struct Segments {
  std::string_view header, payload, signature, signing_input;
};

std::optional<Segments> split_token(std::string_view token) {
  const auto first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) return std::nullopt;
  Segments s{token.substr(0, first), token.substr(first + 1, second - first - 1), token.substr(second + 1),
             token.substr(0, second)};
  if (s.header.empty() || s.payload.empty() || s.signature.empty()) return std::nullopt;
  return s;
}

// Runs only after the signature has been verified, so these are the issuer's own claims.
Result<AccessClaims> check_claims(std::string_view payload_segment, const JwtSettings& settings,
                                  std::chrono::system_clock::time_point now) {
  const auto payload = decode_json_object(payload_segment);
  if (!payload) return malformed("payload is not base64url JSON object");
  const json::string* iss = string_member(*payload, "iss");
  if (!iss || *iss != settings.issuer) {
    return invalid_token("The access token was not issued by this service.", "wrong iss");
  }
  if (!audience_matches(payload->if_contains("aud"), settings.audience)) {
    return invalid_token("The access token is not meant for this service.", "wrong aud");
  }
  const auto exp = int_member(*payload, "exp");
  const auto iat = int_member(*payload, "iat");
  if (!exp || !iat) return malformed("exp or iat missing or not an integer");
  const std::int64_t now_s = unix_seconds(now);
  const std::int64_t leeway = settings.leeway.count();
  if (*exp <= now_s - leeway) return invalid_token("The access token has expired.", "expired");
  if (*iat > now_s + leeway) return invalid_token("The access token is not valid yet.", "iat in the future");
  if (payload->contains("nbf")) {
    const auto nbf = int_member(*payload, "nbf");
    if (!nbf) return malformed("nbf not an integer");
    if (*nbf > now_s + leeway) return invalid_token("The access token is not valid yet.", "nbf in the future");
  }
  const json::string* sub = string_member(*payload, "sub");
  const json::string* jti = string_member(*payload, "jti");
  const json::string* role = string_member(*payload, "role");
  if (!sub || sub->empty() || !jti || jti->empty() || !role) return malformed("sub, jti or role missing");
  return AccessClaims{std::string(*sub), std::string(*role), std::string(*jti), *iat, *exp};
}

}  // namespace

JwtService::JwtService(std::shared_ptr<const KeyRing> keys, JwtSettings settings)
    : keys_(std::move(keys)), settings_(std::move(settings)) {
  if (!keys_) throw std::invalid_argument("JwtService needs a KeyRing");
}

std::string JwtService::issue(const std::string& subject, const std::string& role,
                              std::chrono::system_clock::time_point now) const {
  const auto& [kid, key] = keys_->impl().signing_entry();
  const json::object header{{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", kid}};
  const std::int64_t iat = unix_seconds(now);
  const json::object payload{{"sub", subject},
                             {"role", role},
                             {"iat", iat},
                             {"exp", iat + settings_.access_ttl.count()},
                             {"iss", settings_.issuer},
                             {"aud", settings_.audience},
                             {"jti", random_token(16)}};
  std::string token = base64url_encode(json::serialize(header));
  token += '.';
  token += base64url_encode(json::serialize(payload));
  const std::string sig = ed25519_sign(key.pkey.get(), token);
  token += '.';
  token += base64url_encode(sig);
  return token;
}

// Order matters: everything up to the signature check looks only at the header, so unauthenticated payload
// bytes are never interpreted before the signature has been proven.
Result<AccessClaims> JwtService::verify(std::string_view token, std::chrono::system_clock::time_point now) const {
  if (token.size() > kMaxTokenSize) return malformed("token too large");
  const auto seg = split_token(token);
  if (!seg) return malformed("not three non-empty segments");

  const auto header = decode_json_object(seg->header);
  if (!header) return malformed("header is not base64url JSON object");
  const json::string* alg = string_member(*header, "alg");
  if (!alg || *alg != "EdDSA") {
    return invalid_token("The access token uses an unsupported algorithm.", "alg is not EdDSA");
  }
  if (!typ_acceptable(*header)) return malformed("unexpected typ");
  // RFC 7515 §4.1.11: extensions we do not understand must be refused, and we understand none.
  if (header->contains("crit")) return malformed("crit header present");
  const json::string* kid = string_member(*header, "kid");
  if (!kid) return invalid_token("The access token was signed by an unknown key.", "kid missing");
  const KeyRing::Impl::Key* key = keys_->impl().find(*kid);
  if (!key) {
    // The kid is attacker-chosen and ends up in logs: keep it short.
    const std::string shown(kid->data(), std::min<std::size_t>(kid->size(), 64));
    return invalid_token("The access token was signed by an unknown key.", "unknown kid " + shown);
  }

  const auto sig = base64url_decode(seg->signature);
  if (!sig || !ed25519_verify(key->pkey.get(), seg->signing_input, *sig)) {
    return invalid_token("The access token signature is invalid.", "bad signature");
  }
  return check_claims(seg->payload, settings_, now);
}

}  // namespace bazaar::platform::security
