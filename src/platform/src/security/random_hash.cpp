#include <platform/security.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <climits>
#include <stdexcept>

namespace bazaar::platform::security {

namespace {

constexpr std::string_view kBase64UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalidSextet = 0xFF;

// Reverse lookup built at compile time so decoding is a table read per character.
constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> table{};
  table.fill(kInvalidSextet);
  for (std::size_t i = 0; i < kBase64UrlAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kBase64UrlAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr auto kDecodeTable = make_decode_table();

std::string to_hex(const unsigned char* data, std::size_t size) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0x0F]);
  }
  return out;
}

}  // namespace

std::string random_token(std::size_t bytes) {
  // RAND_bytes takes an int; a token anywhere near that size is a caller bug, not a request to truncate.
  if (bytes > static_cast<std::size_t>(INT_MAX)) throw std::invalid_argument("random_token: size too large");
  std::string raw(bytes, '\0');
  if (bytes > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    // Never fall back to a weaker source: a predictable token is worse than a failed request.
    throw std::runtime_error("random_token: RAND_bytes failed");
  }
  std::string token = base64url_encode(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return token;
}

std::string base64url_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(data[i]) << 16) |
                            (static_cast<unsigned char>(data[i + 1]) << 8) | static_cast<unsigned char>(data[i + 2]);
    out.push_back(kBase64UrlAlphabet[(n >> 18) & 0x3F]);
    out.push_back(kBase64UrlAlphabet[(n >> 12) & 0x3F]);
    out.push_back(kBase64UrlAlphabet[(n >> 6) & 0x3F]);
    out.push_back(kBase64UrlAlphabet[n & 0x3F]);
  }
  const std::size_t rest = data.size() - i;
  if (rest == 1) {
    const std::uint32_t n = static_cast<unsigned char>(data[i]) << 16;
    out.push_back(kBase64UrlAlphabet[(n >> 18) & 0x3F]);
    out.push_back(kBase64UrlAlphabet[(n >> 12) & 0x3F]);
  } else if (rest == 2) {
    const std::uint32_t n =
        (static_cast<unsigned char>(data[i]) << 16) | (static_cast<unsigned char>(data[i + 1]) << 8);
    out.push_back(kBase64UrlAlphabet[(n >> 18) & 0x3F]);
    out.push_back(kBase64UrlAlphabet[(n >> 12) & 0x3F]);
    out.push_back(kBase64UrlAlphabet[(n >> 6) & 0x3F]);
  }
  return out;
}

// Strict: no padding, no whitespace, no standard-alphabet '+' '/', and the unused low bits of the last
// character must be zero. Accepting several spellings of the same bytes would make JWT signatures
// malleable (two different token strings verifying as one).
std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const std::uint8_t sextet = kDecodeTable[static_cast<unsigned char>(c)];
    if (sextet == kInvalidSextet) return std::nullopt;
    buffer = (buffer << 6) | sextet;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  if ((buffer & ((1U << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  std::size_t size = 0;
  if (EVP_Q_digest(nullptr, "SHA256", nullptr, data.data(), data.size(), digest.data(), &size) != 1) {
    throw std::runtime_error("sha256_hex: EVP_Q_digest failed");
  }
  return to_hex(digest.data(), size);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  std::size_t size = 0;
  // To EVP_MAC a null key means "no key supplied", not "empty key"; an empty key is legal HMAC, so pass a
  // valid pointer with length 0 and leave no room for that reading.
  static constexpr unsigned char kEmpty = 0;
  const void* key_ptr = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key_ptr, key.size(),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), mac.size(),
                &size) == nullptr) {
    throw std::runtime_error("hmac_sha256_hex: EVP_Q_mac failed");
  }
  return to_hex(mac.data(), size);
}

// The length is not secret (tokens and MACs have fixed sizes), only the content is.
bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace bazaar::platform::security
