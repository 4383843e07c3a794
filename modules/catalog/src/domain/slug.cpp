#include "domain/slug.hpp"

#include <platform/ids.hpp>

#include <algorithm>
#include <array>
#include <unordered_set>

namespace bazaar::catalog::domain {

namespace {

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// ASCII spelling of U+00C0..U+00FF (Latin-1 letters); "" for the signs in that block.
constexpr std::array<const char*, 64> kLatin1 = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",   // C0..CF
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",  // D0..DF
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",   // E0..EF
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y",   // F0..FF
};

// ASCII spelling of a few Latin Extended-A letters common in product names (Polish, Czech, Turkish ...).
const char* latin_extended(char32_t cp) {
  switch (cp) {
    case 0x0105: case 0x0104: case 0x0101: case 0x0103: return "a";
    case 0x0107: case 0x0106: case 0x010D: case 0x010C: return "c";
    case 0x010F: case 0x010E: case 0x0111: case 0x0110: return "d";
    case 0x0119: case 0x0118: case 0x011B: case 0x011A: case 0x0113: return "e";
    case 0x011F: case 0x011E: return "g";
    case 0x0131: case 0x0130: case 0x012B: return "i";
    case 0x0142: case 0x0141: case 0x013E: case 0x013D: return "l";
    case 0x0144: case 0x0143: case 0x0148: case 0x0147: return "n";
    case 0x0151: case 0x0150: case 0x014D: return "o";
    case 0x0153: case 0x0152: return "oe";
    case 0x0159: case 0x0158: return "r";
    case 0x015B: case 0x015A: case 0x0161: case 0x0160: case 0x015F: case 0x015E: return "s";
    case 0x0165: case 0x0164: case 0x0163: case 0x0162: return "t";
    case 0x016F: case 0x016E: case 0x0171: case 0x0170: case 0x016B: return "u";
    case 0x017A: case 0x0179: case 0x017C: case 0x017B: case 0x017E: case 0x017D: return "z";
    default: return nullptr;
  }
}

// Decodes one UTF-8 sequence at s[i]; advances i. Invalid bytes decode as U+FFFD, one byte at a time.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + static_cast<std::size_t>(len) > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b >> 6) != 0x2) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  i += static_cast<std::size_t>(len);
  return cp;
}

}  // namespace

bool is_valid_slug(std::string_view slug) {
  if (slug.empty() || slug.size() > kMaxSlugLength) return false;
  if (slug.front() == '-' || slug.back() == '-') return false;
  char prev = 0;
  for (char c : slug) {
    if (!is_alnum(c) && c != '-') return false;
    if (c == '-' && prev == '-') return false;
    prev = c;
  }
  return !platform::is_uuid(slug);
}

std::string slugify(std::string_view text, std::string_view fallback) {
  std::string out;
  bool pending_dash = false;
  auto emit = [&](std::string_view piece) {
    if (pending_dash && !out.empty()) out.push_back('-');
    pending_dash = false;
    out += piece;
  };
  for (std::size_t i = 0; i < text.size();) {
    const char32_t cp = next_code_point(text, i);
    if (cp < 0x80) {
      char c = static_cast<char>(cp);
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (is_alnum(c)) {
        emit(std::string_view(&c, 1));
      } else if (c != '\'') {  // "women's" → "womens"
        pending_dash = true;
      }
    } else if (cp >= 0xC0 && cp <= 0xFF && *kLatin1[cp - 0xC0] != '\0') {
      emit(kLatin1[cp - 0xC0]);
    } else if (const char* ascii = latin_extended(cp)) {
      emit(ascii);
    } else {
      pending_dash = true;
    }
  }
  if (out.size() > kDerivedSlugLength) {
    const auto cut = out.rfind('-', kDerivedSlugLength);
    out.resize(cut != std::string::npos && cut >= kDerivedSlugLength / 2 ? cut : kDerivedSlugLength);
    while (!out.empty() && out.back() == '-') out.pop_back();
  }
  if (out.empty() || platform::is_uuid(out)) return std::string(fallback);
  return out;
}

std::vector<std::string> slug_candidates(const std::string& base, int from, int count) {
  std::vector<std::string> out;
  for (int n = std::max(from, 1); n < from + count; ++n) out.push_back(n == 1 ? base : base + "-" + std::to_string(n));
  return out;
}

std::optional<std::string> first_free(const std::vector<std::string>& candidates, const std::vector<std::string>& taken) {
  const std::unordered_set<std::string> used(taken.begin(), taken.end());
  for (const auto& c : candidates) {
    if (!used.contains(c)) return c;
  }
  return std::nullopt;
}

}  // namespace bazaar::catalog::domain
