#include <platform/security.hpp>

#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <filesystem>
#include <fstream>
#include <set>

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace bazaar::platform;
using namespace bazaar::platform::security;
using std::chrono::seconds;

// A fixed instant keeps every time-based test deterministic: no sleeps, no dependence on the wall clock.
const std::chrono::system_clock::time_point kNow{seconds{1'700'000'000}};

// Cheap Argon2 parameters so the suite stays fast; one test uses the production defaults.
constexpr PasswordParams kFastParams{1024, 1, 1};

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("bazaar-security-test-" + random_token(9));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

std::shared_ptr<KeyRing> ring_with(std::initializer_list<std::string> kids) {
  auto ring = std::make_shared<KeyRing>();
  for (const auto& kid : kids) ring->add_generated(kid);
  return ring;
}

std::vector<std::string> split(const std::string& token) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot; (dot = token.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(token.substr(start, dot - start));
  }
  parts.push_back(token.substr(start));
  return parts;
}

json::object decode_segment(const std::string& segment) {
  const auto text = base64url_decode(segment);
  REQUIRE(text.has_value());
  return json::parse(*text).as_object();
}

std::string encode_segment(const json::object& o) { return base64url_encode(json::serialize(o)); }

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

json::object valid_claims(const JwtSettings& s) {
  const std::int64_t now = 1'700'000'000;
  return json::object{{"sub", "user-1"}, {"role", "customer"}, {"iat", now},     {"exp", now + 900},
                      {"iss", s.issuer}, {"aud", s.audience},  {"jti", "abc123"}};
}

// Signs arbitrary header and payload with a real ring key, loaded straight from its PEM file, so claim checks
// can be tested on tokens whose signature is genuine but whose content JwtService::issue would never produce.
class TokenForger {
 public:
  TokenForger() {
    KeyRing::generate_key_file(dir_.path, "k1");
    ring_ = std::make_shared<KeyRing>(KeyRing::load_dir(dir_.path));
    std::ifstream in(dir_.path / "k1.pem");
    pem_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::shared_ptr<const KeyRing> ring() const { return ring_; }

  std::string sign(const json::object& header, const json::object& payload) const {
    const std::string input = encode_segment(header) + "." + encode_segment(payload);
    BIO* bio = BIO_new_mem_buf(pem_.data(), static_cast<int>(pem_.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    unsigned char sig[64];
    std::size_t size = sizeof sig;
    const bool ok =
        key && ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
        EVP_DigestSign(ctx, sig, &size, reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    BIO_free(bio);
    REQUIRE(ok);
    return input + "." + base64url_encode(std::string_view(reinterpret_cast<const char*>(sig), size));
  }
  std::string sign(const json::object& payload) const {
    return sign(json::object{{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", "k1"}}, payload);
  }

 private:
  TempDir dir_;
  std::shared_ptr<KeyRing> ring_;
  std::string pem_;
};

void check_rejected(const Result<AccessClaims>& r, std::string_view detail_fragment = {}) {
  REQUIRE_FALSE(r.has_value());
  const Error e = r.error();
  CHECK(e.code == Errc::unauthorized);
  CHECK(e.slug == "invalid_token");
  CHECK_FALSE(e.detail.empty());
  if (!detail_fragment.empty()) CHECK(e.detail.find(detail_fragment) != std::string::npos);
}

}  // namespace

// ----- random, encoding, hashing --------------------------------------------------------------------------

TEST_CASE("security: base64url round-trips every length and byte value") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 1) {
    const std::string data = all.substr(0, n);
    const std::string text = base64url_encode(data);
    CHECK(text.find_first_of("+/=") == std::string::npos);
    const auto back = base64url_decode(text);
    REQUIRE(back.has_value());
    CHECK(*back == data);
  }
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("\xfb\xff") == "-_8");
}

TEST_CASE("security: base64url decoding refuses padding, foreign characters and non-canonical input") {
  CHECK_FALSE(base64url_decode("Zg==").has_value());    // padding
  CHECK_FALSE(base64url_decode("+_8").has_value());     // standard alphabet
  CHECK_FALSE(base64url_decode("-/8").has_value());     // standard alphabet
  CHECK_FALSE(base64url_decode("Zm9v\n").has_value());  // whitespace
  CHECK_FALSE(base64url_decode("Z").has_value());       // impossible length
  CHECK_FALSE(base64url_decode("Zm9vY").has_value());   // impossible length
  CHECK_FALSE(base64url_decode("Zh").has_value());      // unused bits set: "Zg" is the only spelling of "f"
  CHECK_FALSE(base64url_decode(std::string_view("Zm\0v", 4)).has_value());
  CHECK(base64url_decode("").value() == "");
}

TEST_CASE("security: sha256 matches the FIPS 180-2 vectors") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("security: hmac-sha256 matches the RFC 4231 vectors") {
  // Test case 2: a short key and data containing spaces and a question mark.
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 1.
  CHECK(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // An empty key is legal HMAC and must not be treated as "no key".
  CHECK(hmac_sha256_hex("", "") == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_CASE("security: constant_time_equal compares content and length") {
  CHECK(constant_time_equal("", ""));
  CHECK(constant_time_equal("secret", "secret"));
  CHECK_FALSE(constant_time_equal("secret", "secreT"));
  CHECK_FALSE(constant_time_equal("secret", "secret2"));
  CHECK_FALSE(constant_time_equal("", "x"));
  CHECK(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  CHECK_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

TEST_CASE("security: random tokens have the expected length and do not repeat") {
  CHECK(random_token().size() == 43);  // 32 bytes, unpadded base64url
  CHECK(random_token(16).size() == 22);
  CHECK(random_token(0).empty());
  CHECK(base64url_decode(random_token(48)).value().size() == 48);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(random_token());
  CHECK(seen.size() == 1000);
}

// ----- JWT ---------------------------------------------------------------------------------------------------

TEST_CASE("security: an issued token verifies and carries its claims") {
  const JwtService jwt(ring_with({"k1"}), JwtSettings{});
  const std::string token = jwt.issue("user-42", "admin", kNow);
  CHECK(split(token).size() == 3);

  const auto header = decode_segment(split(token)[0]);
  CHECK(header.at("alg") == "EdDSA");
  CHECK(header.at("typ") == "JWT");
  CHECK(header.at("kid") == "k1");
  const auto payload = decode_segment(split(token)[1]);
  CHECK(payload.at("iss") == "bazaar");
  CHECK(payload.at("aud") == "bazaar-api");

  const auto claims = jwt.verify(token, kNow);
  REQUIRE(claims.has_value());
  CHECK(claims->sub == "user-42");
  CHECK(claims->role == "admin");
  CHECK(claims->iat == 1'700'000'000);
  CHECK(claims->exp == 1'700'000'000 + 900);
  CHECK(claims->jti.size() >= 16);
  CHECK(jwt.issue("user-42", "admin", kNow) != token);  // fresh jti every time
}

TEST_CASE("security: a token with a tampered payload is rejected") {
  const JwtService jwt(ring_with({"k1"}), JwtSettings{});
  auto parts = split(jwt.issue("user-1", "customer", kNow));
  auto payload = decode_segment(parts[1]);
  payload["role"] = "admin";
  const std::string forged = parts[0] + "." + encode_segment(payload) + "." + parts[2];
  check_rejected(jwt.verify(forged, kNow), "signature");
}

TEST_CASE("security: a token with a tampered signature is rejected") {
  const JwtService jwt(ring_with({"k1"}), JwtSettings{});
  auto parts = split(jwt.issue("user-1", "customer", kNow));
  auto sig = base64url_decode(parts[2]).value();
  sig[10] = static_cast<char>(sig[10] ^ 0x01);
  check_rejected(jwt.verify(parts[0] + "." + parts[1] + "." + base64url_encode(sig), kNow), "signature");
  // A truncated or an empty signature is no better.
  check_rejected(jwt.verify(parts[0] + "." + parts[1] + "." + parts[2].substr(0, 40), kNow));
  check_rejected(jwt.verify(parts[0] + "." + parts[1] + ".", kNow));
}

TEST_CASE("security: a token signed by a different key with the same kid is rejected") {
  const JwtService ours(ring_with({"k1"}), JwtSettings{});
  const JwtService theirs(ring_with({"k1"}), JwtSettings{});
  check_rejected(ours.verify(theirs.issue("user-1", "admin", kNow), kNow), "signature");
}

TEST_CASE("security: an unsigned alg none token is rejected") {
  const JwtService jwt(ring_with({"k1"}), JwtSettings{});
  const std::string payload = encode_segment(valid_claims(jwt.settings()));
  for (const char* alg : {"none", "None", "NONE"}) {
    const std::string header = encode_segment(json::object{{"alg", alg}, {"typ", "JWT"}, {"kid", "k1"}});
    check_rejected(jwt.verify(header + "." + payload + ".", kNow));
    check_rejected(jwt.verify(header + "." + payload + "." + base64url_encode("x"), kNow), "algorithm");
  }
}

TEST_CASE("security: headers without alg or with a non-EdDSA alg are rejected") {
  const JwtService jwt(ring_with({"k1"}), JwtSettings{});
  auto parts = split(jwt.issue("user-1", "customer", kNow));
  for (const json::value& alg :
       {json::value("eddsa"), json::value("ES256"), json::value("RS256"), json::value(1), json::value(nullptr)}) {
    auto header = decode_segment(parts[0]);
    header["alg"] = alg;
    check_rejected(jwt.verify(encode_segment(header) + "." + parts[1] + "." + parts[2], kNow), "algorithm");
  }
  auto header = decode_segment(parts[0]);
  header.erase("alg");
  check_rejected(jwt.verify(encode_segment(header) + "." + parts[1] + "." + parts[2], kNow), "algorithm");
}

TEST_CASE("security: an HS256 token keyed with the public key is rejected (key confusion)") {
  auto ring = ring_with({"k1"});
  const JwtService jwt(ring, JwtSettings{});
  // An attacker knows the public key from the JWKS and hopes the verifier will use it as an HMAC secret.
  const std::string x = ring->jwks().at("keys").at(0).at("x").as_string().c_str();
  const std::string public_raw = base64url_decode(x).value();
  const std::string header = encode_segment(json::object{{"alg", "HS256"}, {"typ", "JWT"}, {"kid", "k1"}});
  const std::string signing_input = header + "." + encode_segment(valid_claims(jwt.settings()));
  for (const std::string& key : {public_raw, x, json::serialize(ring->jwks())}) {
    const std::string mac = base64url_encode(from_hex(hmac_sha256_hex(key, signing_input)));
    check_rejected(jwt.verify(signing_input + "." + mac, kNow), "algorithm");
  }
}

TEST_CASE("security: a token naming an unknown or no kid is rejected") {
  const JwtService jwt(ring_with({"k1"}), JwtSettings{});
  auto parts = split(jwt.issue("user-1", "customer", kNow));
  auto header = decode_segment(parts[0]);
  header["kid"] = "k0";
  check_rejected(jwt.verify(encode_segment(header) + "." + parts[1] + "." + parts[2], kNow), "unknown key");
  header.erase("kid");
  check_rejected(jwt.verify(encode_segment(header) + "." + parts[1] + "." + parts[2], kNow), "unknown key");
}

TEST_CASE("security: an expired token is rejected, within the leeway it is still accepted") {
  JwtSettings settings;
  settings.access_ttl = seconds{900};
  settings.leeway = seconds{30};
  const JwtService jwt(ring_with({"k1"}), settings);
  const std::string token = jwt.issue("user-1", "customer", kNow);
  CHECK(jwt.verify(token, kNow + seconds{899}).has_value());
  CHECK(jwt.verify(token, kNow + seconds{929}).has_value());
  check_rejected(jwt.verify(token, kNow + seconds{930}), "expired");
  check_rejected(jwt.verify(token, kNow + seconds{86'400}), "expired");
}

TEST_CASE("security: a token issued far in the future is rejected") {
  const JwtService jwt(ring_with({"k1"}), JwtSettings{});
  const std::string token = jwt.issue("user-1", "customer", kNow + seconds{3600});
  check_rejected(jwt.verify(token, kNow), "not valid yet");
  // Small clock skew between instances is tolerated.
  CHECK(jwt.verify(jwt.issue("user-1", "customer", kNow + seconds{20}), kNow).has_value());
}

TEST_CASE("security: a token for another audience is rejected") {
  auto ring = ring_with({"k1"});
  const JwtService jwt(ring, JwtSettings{});
  JwtSettings other_settings;
  other_settings.audience = "other-api";
  const JwtService other(ring, other_settings);
  check_rejected(jwt.verify(other.issue("user-1", "customer", kNow), kNow), "not meant");
  CHECK(other.verify(other.issue("user-1", "customer", kNow), kNow).has_value());
}

TEST_CASE("security: an audience list is accepted only if it contains ours") {
  const TokenForger forger;
  const JwtService jwt(forger.ring(), JwtSettings{});
  auto claims = valid_claims(jwt.settings());
  CHECK(jwt.verify(forger.sign(claims), kNow).has_value());  // the forger itself produces valid tokens
  claims["aud"] = json::array{"other-api", "bazaar-api"};
  CHECK(jwt.verify(forger.sign(claims), kNow).has_value());
  for (const json::value& aud : {json::value(json::array{"other-api"}), json::value(json::array{}),
                                 json::value(json::array{1, 2}), json::value("bazaar"), json::value(nullptr)}) {
    claims["aud"] = aud;
    check_rejected(jwt.verify(forger.sign(claims), kNow), "not meant");
  }
  claims.erase("aud");
  check_rejected(jwt.verify(forger.sign(claims), kNow), "not meant");
}

TEST_CASE("security: genuinely signed tokens with missing or mistyped claims are rejected") {
  const TokenForger forger;
  const JwtService jwt(forger.ring(), JwtSettings{});
  const auto base = valid_claims(jwt.settings());
  for (const char* name : {"sub", "jti", "role", "exp", "iat", "iss"}) {
    CAPTURE(name);
    auto claims = base;
    claims.erase(name);
    check_rejected(jwt.verify(forger.sign(claims), kNow));
    claims[name] = json::array{};
    check_rejected(jwt.verify(forger.sign(claims), kNow));
  }
  for (const char* name : {"sub", "jti"}) {
    auto claims = base;
    claims[name] = "";
    check_rejected(jwt.verify(forger.sign(claims), kNow));
  }
  auto claims = base;
  claims["exp"] = 1'700'000'900.5;  // fractional NumericDate: we never issue one
  check_rejected(jwt.verify(forger.sign(claims), kNow));
  claims = base;
  claims["nbf"] = 1'700'003'600;
  check_rejected(jwt.verify(forger.sign(claims), kNow), "not valid yet");
  claims["nbf"] = "soon";
  check_rejected(jwt.verify(forger.sign(claims), kNow));
  claims["nbf"] = 1'700'000'000;
  CHECK(jwt.verify(forger.sign(claims), kNow).has_value());
  // A typ announcing some other kind of JWT, or critical extensions we do not understand, are refused even
  // with a good signature; a typ of "at+jwt" (RFC 9068) or none at all is fine.
  check_rejected(
      jwt.verify(forger.sign(json::object{{"alg", "EdDSA"}, {"typ", "dpop+jwt"}, {"kid", "k1"}}, base), kNow));
  check_rejected(jwt.verify(
      forger.sign(json::object{{"alg", "EdDSA"}, {"kid", "k1"}, {"crit", json::array{"exp"}}, {"exp", 1}}, base),
      kNow));
  CHECK(jwt.verify(forger.sign(json::object{{"alg", "EdDSA"}, {"typ", "at+jwt"}, {"kid", "k1"}}, base), kNow)
            .has_value());
  CHECK(jwt.verify(forger.sign(json::object{{"alg", "EdDSA"}, {"kid", "k1"}}, base), kNow).has_value());
}

TEST_CASE("security: a token from another issuer is rejected") {
  auto ring = ring_with({"k1"});
  const JwtService jwt(ring, JwtSettings{});
  JwtSettings other_settings;
  other_settings.issuer = "someone-else";
  const JwtService other(ring, other_settings);
  check_rejected(jwt.verify(other.issue("user-1", "customer", kNow), kNow), "not issued by this service");
}

TEST_CASE("security: structurally broken tokens are rejected without throwing") {
  const JwtService jwt(ring_with({"k1"}), JwtSettings{});
  const std::string token = jwt.issue("user-1", "customer", kNow);
  const auto parts = split(token);
  for (const std::string& bad :
       {std::string{}, std::string("."), std::string(".."), std::string("..."), std::string("abc"),
        parts[0] + "." + parts[1], token + ".", token + "." + parts[2], "." + parts[1] + "." + parts[2],
        parts[0] + ".." + parts[2], base64url_encode("[]") + "." + parts[1] + "." + parts[2],
        base64url_encode("{not json") + "." + parts[1] + "." + parts[2], std::string("a.b.c"),
        token + std::string(10'000, 'A')}) {
    check_rejected(jwt.verify(bad, kNow));
  }
}

TEST_CASE("security: after rotation old tokens still verify and new tokens use the newer kid") {
  auto ring = ring_with({"2024-01"});
  const JwtService jwt(ring, JwtSettings{});
  const std::string old_token = jwt.issue("user-1", "customer", kNow);
  CHECK(decode_segment(split(old_token)[0]).at("kid") == "2024-01");

  ring->add_generated("2024-06");
  CHECK(ring->size() == 2);
  CHECK(ring->signing_kid() == "2024-06");
  CHECK(jwt.verify(old_token, kNow).has_value());
  const std::string new_token = jwt.issue("user-1", "customer", kNow);
  CHECK(decode_segment(split(new_token)[0]).at("kid") == "2024-06");
  CHECK(jwt.verify(new_token, kNow).has_value());
}

TEST_CASE("security: the JWKS lists every public key as an Ed25519 OKP key") {
  auto ring = ring_with({"b", "a"});
  const json::value jwks = ring->jwks();
  const auto& keys = jwks.at("keys").as_array();
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].at("kid") == "a");
  CHECK(keys[1].at("kid") == "b");
  for (const auto& key : keys) {
    CHECK(key.at("kty") == "OKP");
    CHECK(key.at("crv") == "Ed25519");
    CHECK(key.at("alg") == "EdDSA");
    CHECK(key.at("use") == "sig");
    CHECK(base64url_decode(key.at("x").as_string()).value().size() == 32);
    CHECK_FALSE(key.as_object().contains("d"));  // never the private part
  }
  CHECK(keys[0].at("x") != keys[1].at("x"));
}

TEST_CASE("security: keys written by generate_key_file load back from the directory") {
  TempDir dir;
  KeyRing::generate_key_file(dir.path, "2024-01");
  KeyRing::generate_key_file(dir.path, "2024-06");
  std::ofstream(dir.path / "README.txt") << "not a key, ignored";
  CHECK(fs::status(dir.path / "2024-01.pem").permissions() == (fs::perms::owner_read | fs::perms::owner_write));
  CHECK_THROWS_AS(KeyRing::generate_key_file(dir.path, "2024-01"), std::runtime_error);  // never overwrites
  CHECK_THROWS_AS(KeyRing::generate_key_file(dir.path, "../escape"), std::invalid_argument);

  auto ring = std::make_shared<KeyRing>(KeyRing::load_dir(dir.path));
  CHECK(ring->size() == 2);
  CHECK(ring->signing_kid() == "2024-06");
  const JwtService jwt(ring, JwtSettings{});
  const std::string token = jwt.issue("user-1", "customer", kNow);

  // A second process loading the same directory verifies tokens the first one issued.
  const JwtService other(std::make_shared<KeyRing>(KeyRing::load_dir(dir.path)), JwtSettings{});
  CHECK(other.verify(token, kNow).has_value());
}

TEST_CASE("security: loading a directory with a garbage key file fails naming the file") {
  TempDir dir;
  KeyRing::generate_key_file(dir.path, "good");
  std::ofstream(dir.path / "broken.pem") << "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n";
  try {
    (void)KeyRing::load_dir(dir.path);
    FAIL("load_dir accepted a garbage key file");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("broken.pem") != std::string::npos);
  }
}

TEST_CASE("security: loading an empty or missing key directory fails") {
  TempDir dir;
  CHECK_THROWS_AS((void)KeyRing::load_dir(dir.path), std::runtime_error);
  CHECK_THROWS_AS((void)KeyRing::load_dir(dir.path / "missing"), std::runtime_error);
}

// ----- passwords ---------------------------------------------------------------------------------------------

TEST_CASE("security: a hashed password verifies and a wrong one does not") {
  const PasswordHasher hasher(kFastParams);
  const std::string phc = hasher.hash("correct horse battery staple");
  CHECK(phc.rfind("$argon2id$v=19$m=1024,t=1,p=1$", 0) == 0);
  CHECK(hasher.hash("correct horse battery staple") != phc);  // random salt

  const PasswordCheck good = hasher.verify("correct horse battery staple", phc);
  CHECK(good.ok);
  CHECK_FALSE(good.needs_rehash);
  CHECK_FALSE(hasher.verify("correct horse battery stapl", phc).ok);
  CHECK_FALSE(hasher.verify("", phc).ok);
  CHECK(hasher.verify("", hasher.hash("")).ok);
}

TEST_CASE("security: default Argon2 parameters hash and verify") {
  const PasswordHasher hasher;
  const std::string phc = hasher.hash("s3cret-enough");
  CHECK(phc.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0) == 0);
  const PasswordCheck check = hasher.verify("s3cret-enough", phc);
  CHECK(check.ok);
  CHECK_FALSE(check.needs_rehash);
}

TEST_CASE("security: a hash made with other parameters verifies but asks for a rehash") {
  const std::string phc = PasswordHasher(kFastParams).hash("pw-123456");
  for (const PasswordParams current :
       {PasswordParams{2048, 1, 1}, PasswordParams{1024, 2, 1}, PasswordParams{1024, 1, 2}}) {
    const PasswordCheck check = PasswordHasher(current).verify("pw-123456", phc);
    CHECK(check.ok);
    CHECK(check.needs_rehash);
  }
  // A wrong password never asks for a rehash: the caller has no trustworthy plaintext to rehash.
  CHECK_FALSE(PasswordHasher(PasswordParams{2048, 1, 1}).verify("wrong", phc).needs_rehash);
}

TEST_CASE("security: malformed PHC strings fail verification without throwing") {
  const PasswordHasher hasher(kFastParams);
  const std::string phc = hasher.hash("pw");
  const std::vector<std::string> bad = {
      "",
      "random text",
      "$",
      "$$$$$",
      phc.substr(0, phc.size() / 2),
      phc.substr(0, phc.size() - 1) + "!",
      phc + "$extra",
      "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=1024,t=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=abc,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=-1,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=99999999999,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
      // Syntactically fine but would cost 4 GiB: refused before libargon2 allocates anything.
      "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=1024,t=0,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=1024,t=1,p=1$$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$",
      "$argon2id$v=19$m=1024,t=1,p=1$!!!!$aGFzaGhhc2hoYXNoaGFzaA",
      std::string("$argon2id$v=19$m=1024,t=1,p=1$\0abc$def", 38),
      phc + std::string(1, '\0') + "junk",
  };
  for (const auto& phc_text : bad) {
    CAPTURE(phc_text);
    PasswordCheck check;
    CHECK_NOTHROW(check = hasher.verify("pw", phc_text));
    CHECK_FALSE(check.ok);
    CHECK_FALSE(check.needs_rehash);
  }
}

TEST_CASE("security: a genuine hash with absurd cost parameters is refused rather than computed") {
  // t=100 at the minimum memory is cheap to make here, but stands for a planted row that would pin a CPU.
  const std::string phc = PasswordHasher(PasswordParams{8, 100, 1}).hash("pw");
  CHECK_FALSE(PasswordHasher(PasswordParams{8, 100, 1}).verify("pw", phc).ok);
  CHECK(PasswordHasher(PasswordParams{8, 64, 1}).verify("pw", PasswordHasher(PasswordParams{8, 64, 1}).hash("pw")).ok);
}

TEST_CASE("security: common passwords are recognised regardless of case") {
  for (const char* pw : {"123456", "password", "qwerty", "iloveyou", "12345678", "Password", "QWERTY", "LetMeIn",
                         "P@ssw0rd", "dragon", "football", "abc123"}) {
    CAPTURE(pw);
    CHECK(is_common_password(pw));
  }
  for (const char* pw : {"", "correct horse battery staple", "x9$Lk2!qpZ", "password-for-bazaar-42", "1234567a8"}) {
    CAPTURE(pw);
    CHECK_FALSE(is_common_password(pw));
  }
}
