#include "domain/mime.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>

namespace bazaar::notifications::mime {

namespace {

constexpr std::size_t kMaxEncodedWordBytes = 45;  // 60 base64 characters + 12 of "=?UTF-8?B?" "?=" = 72 ≤ 75
constexpr std::size_t kFoldAt = 72;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Header values never carry line breaks of their own (header injection): they become spaces.
std::string single_line(std::string_view s) {
  std::string out(s);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return out;
}

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

// RFC 5322 atext plus space: a display name made only of these needs no quoting.
bool plain_phrase(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' ||
           std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
  });
}

// Splits UTF-8 text into chunks of at most `max` bytes without cutting a character in two.
std::vector<std::string_view> utf8_chunks(std::string_view s, std::size_t max) {
  std::vector<std::string_view> chunks;
  while (!s.empty()) {
    std::size_t n = std::min(max, s.size());
    if (n < s.size()) {
      while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // back to a character start
      if (n == 0) n = std::min(max, s.size());                                 // not UTF-8: cut anyway
    }
    chunks.push_back(s.substr(0, n));
    s.remove_prefix(n);
  }
  return chunks;
}

std::string encoded_words(std::string_view text) {
  std::string out;
  for (const auto chunk : utf8_chunks(text, kMaxEncodedWordBytes)) {
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(chunk) + "?=";
  }
  return out;
}

// Folds a long ASCII value at spaces so that lines stay readable (≤ 78 characters where possible).
std::string fold_ascii(std::string_view text) {
  std::string out;
  std::size_t line = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto space = text.find(' ', pos + 1);
    if (space == std::string_view::npos) space = text.size();
    const auto word = text.substr(pos, space - pos);  // includes its leading space, if any
    if (line > 0 && line + word.size() > kFoldAt && word.front() == ' ') {
      out += "\r\n";
      line = 0;
    }
    out += word;
    line += word.size();
    pos = space;
  }
  return out;
}

const char* hex_digits = "0123456789ABCDEF";

void append_hex(std::string& out, unsigned char c) {
  out.push_back('=');
  out.push_back(hex_digits[c >> 4]);
  out.push_back(hex_digits[c & 0x0F]);
}

// A character that would start a physical line with "." or "From " is encoded: SMTP dot-stuffing and mbox
// "From " quoting then never touch our bodies.
bool guarded_at_line_start(std::string_view line, std::size_t i) {
  return line[i] == '.' || (line[i] == 'F' && line.substr(i).starts_with("From "));
}

// Characters that go out as they are anywhere but at the end of a line (where blanks are encoded).
bool is_literal(unsigned char c) { return (c >= 0x20 && c <= 0x7E && c != '=') || c == '\t'; }

// One line of text. Runs of literal characters, most of a message, are appended at once; the rest goes
// character by character: a checkout's confirmation email passes through here.
void append_qp_line(std::string& out, std::string_view line) {
  const std::size_t n = line.size();
  std::size_t width = 0;  // characters on the current physical line
  std::size_t i = 0;
  while (i < n) {
    // A run ends before the last character (its own rules) and where a soft break is due (width 75).
    if (width > 0 || !guarded_at_line_start(line, i)) {
      const std::size_t stop = std::min(n - 1, i + (75 - width));
      std::size_t end = i;
      while (end < stop && is_literal(static_cast<unsigned char>(line[end]))) ++end;
      if (end > i) {
        out.append(line.data() + i, end - i);
        width += end - i;
        i = end;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(line[i]);
    const bool last = i + 1 == n;
    bool encode = !is_literal(c) ||
                  ((c == ' ' || c == '\t') && last) ||  // trailing whitespace would be stripped in transit
                  (width == 0 && guarded_at_line_start(line, i));
    const std::size_t limit = last ? 76 : 75;  // a soft break needs room for its '='
    if (width + (encode ? 3 : 1) > limit) {
      out += "=\r\n";
      width = 0;
      encode = encode || guarded_at_line_start(line, i);
    }
    if (encode) {
      append_hex(out, c);
      width += 3;
    } else {
      out.push_back(static_cast<char>(c));
      width += 1;
    }
    ++i;
  }
}

}  // namespace

bool valid_address(std::string_view address) {
  if (address.empty() || address.size() > 254) return false;
  const auto at = address.find('@');
  if (at == std::string_view::npos || at == 0 || address.find('@', at + 1) != std::string_view::npos) return false;
  const auto local = address.substr(0, at);
  const auto domain = address.substr(at + 1);
  if (local.size() > 64 || domain.empty()) return false;
  const bool local_ok = std::all_of(local.begin(), local.end(), [](char c) {
    return c > 0x20 && c < 0x7F && std::string_view("<>()[]\\,;:\"").find(c) == std::string_view::npos;
  });
  if (!local_ok || local.front() == '.' || local.back() == '.') return false;
  const bool domain_ok = std::all_of(domain.begin(), domain.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
  return domain_ok && domain.front() != '.' && domain.back() != '.' && domain.front() != '-' &&
         domain.find("..") == std::string_view::npos;
}

std::optional<Mailbox> parse_mailbox(std::string_view text) {
  text = trim(text);
  Mailbox m;
  const auto lt = text.rfind('<');
  if (lt != std::string_view::npos && text.ends_with('>')) {
    m.address = std::string(trim(text.substr(lt + 1, text.size() - lt - 2)));
    auto name = trim(text.substr(0, lt));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
      for (std::size_t i = 0; i < name.size(); ++i) {
        if (name[i] == '\\' && i + 1 < name.size()) ++i;
        m.name.push_back(name[i]);
      }
    } else {
      m.name = std::string(name);
    }
  } else {
    m.address = std::string(text);
  }
  if (!valid_address(m.address)) return std::nullopt;
  if (m.name.find_first_of("\r\n") != std::string::npos) return std::nullopt;
  return m;
}

std::string format_mailbox(const Mailbox& m) {
  const std::string name = single_line(trim(m.name));
  if (name.empty()) return m.address;
  std::string phrase;
  if (!printable_ascii(name) || name.find("=?") != std::string::npos) {
    phrase = encoded_words(name);
  } else if (plain_phrase(name)) {
    phrase = name;
  } else {
    phrase = "\"";
    for (char c : name) {
      if (c == '"' || c == '\\') phrase.push_back('\\');
      phrase.push_back(c);
    }
    phrase += "\"";
  }
  return phrase + " <" + m.address + ">";
}

std::string base64(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(data[i]) << 16) |
                            (static_cast<unsigned char>(data[i + 1]) << 8) | static_cast<unsigned char>(data[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  if (i < data.size()) {
    std::uint32_t n = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<unsigned char>(data[i + 1]) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < data.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string encode_header_text(std::string_view text) {
  const std::string value = single_line(text);
  if (printable_ascii(value) && value.find("=?") == std::string::npos) return fold_ascii(value);
  return encoded_words(value);
}

std::string quoted_printable(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 10);
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto found = std::find_if(text.begin() + static_cast<std::ptrdiff_t>(pos), text.end(),
                                    [](char c) { return c == '\r' || c == '\n'; });
    const auto eol = found == text.end() ? std::string_view::npos : static_cast<std::size_t>(found - text.begin());
    const auto line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    append_qp_line(out, line);
    if (eol == std::string_view::npos) break;
    out += "\r\n";
    pos = eol + ((text[eol] == '\r' && eol + 1 < text.size() && text[eol + 1] == '\n') ? 2 : 1);
    if (pos == text.size()) break;  // the text ended with its line break
  }
  return out;
}

std::string rfc5322_date(std::chrono::system_clock::time_point t) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", kDays[static_cast<std::size_t>(tm.tm_wday)], tm.tm_mday,
                     kMonths[static_cast<std::size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string build(const Message& m, std::string_view boundary) {
  std::string out;
  auto header = [&out](std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  };
  auto body_part = [&out](std::string_view content_type, std::string_view body) {
    out += "Content-Type: ";
    out += content_type;
    out += "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
    out += quoted_printable(body);
    if (!out.ends_with("\r\n")) out += "\r\n";
  };

  header("Date", rfc5322_date(m.date));
  header("From", format_mailbox(m.from));
  header("To", format_mailbox(m.to));
  header("Subject", encode_header_text(m.subject));
  header("Message-ID", "<" + single_line(m.message_id) + ">");
  header("MIME-Version", "1.0");
  for (const auto& [name, value] : m.extra_headers) header(single_line(name), encode_header_text(value));

  if (!m.html) {
    body_part("text/plain", m.text);
    return out;
  }
  const std::string b(boundary);
  header("Content-Type", "multipart/alternative; boundary=\"" + b + "\"");
  out += "\r\nThis is a multi-part message in MIME format.\r\n";
  out += "--" + b + "\r\n";
  body_part("text/plain", m.text);
  out += "--" + b + "\r\n";
  body_part("text/html", *m.html);
  out += "--" + b + "--\r\n";
  return out;
}

}  // namespace bazaar::notifications::mime
