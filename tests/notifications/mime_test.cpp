// Email MIME building (pure): quoted-printable bodies, RFC 2047 headers, addresses, the multipart layout,
// and no header injection through names or subjects.
#include "domain/mime.hpp"
#include "settings.hpp"
#include "transport.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace bazaar::notifications;

namespace {

int hex(char c) { return c <= '9' ? c - '0' : c - 'A' + 10; }

// RFC 2045 quoted-printable decoding, strict enough to catch encoder mistakes.
std::string qp_decode(const std::string& in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '=') {
      out.push_back(in[i]);
      continue;
    }
    if (in.compare(i + 1, 2, "\r\n") == 0) {  // soft line break
      i += 2;
      continue;
    }
    REQUIRE(i + 2 < in.size());
    out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
    i += 2;
  }
  return out;
}

std::string b64_decode(const std::string& in) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int buffer = 0, bits = 0;
  for (char c : in) {
    if (c == '=') break;
    buffer = (buffer << 6) | static_cast<int>(alphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

// Decodes a header value made of "=?UTF-8?B?...?=" words separated by folding whitespace.
std::string words_decode(const std::string& value) {
  std::string out;
  std::size_t pos = 0;
  while ((pos = value.find("=?UTF-8?B?", pos)) != std::string::npos) {
    const auto end = value.find("?=", pos + 10);
    REQUIRE(end != std::string::npos);
    CHECK(end + 2 - pos <= 75);  // an encoded-word is at most 75 characters
    out += b64_decode(value.substr(pos + 10, end - pos - 10));
    pos = end + 2;
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto eol = text.find("\r\n", pos);
    lines.push_back(text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos));
    if (eol == std::string::npos) break;
    pos = eol + 2;
  }
  return lines;
}

std::string header_of(const std::string& message, const std::string& name) {
  const auto head = message.substr(0, message.find("\r\n\r\n"));
  const auto start = head.find("\r\n" + name + ": ");
  const auto at = head.rfind(name + ": ", 0) == 0 ? 0 : (start == std::string::npos ? std::string::npos : start + 2);
  if (at == std::string::npos) return {};
  auto end = head.find("\r\n", at);
  while (end != std::string::npos && end + 2 < head.size() && (head[end + 2] == ' ' || head[end + 2] == '\t')) {
    end = head.find("\r\n", end + 2);
  }
  return head.substr(at + name.size() + 2, end == std::string::npos ? std::string::npos : end - at - name.size() - 2);
}

mime::Message message() {
  mime::Message m;
  m.from = {"bazaar", "shop@example.com"};
  m.to = {"Zoë Ådahl", "zoe@example.com"};
  m.subject = "Ihre Bestellung BZR-001042 ist unterwegs — Größe M";
  m.text = "Hallo Zoë,\nTotal: 12.34 EUR\n.\nFrom here on = fine\n";
  m.html = "<p>Hallo Zo&euml;</p>";
  m.message_id = "0190c0de@example.com";
  m.date = std::chrono::system_clock::time_point(std::chrono::seconds(1795347600));  // 2026-11-22 11:40:00 UTC
  return m;
}

}  // namespace

TEST_SUITE("notifications.mime") {
  TEST_CASE("mime: quoted-printable encodes '=', non-ASCII and trailing blanks, keeps lines within 76") {
    CHECK(mime::quoted_printable("a=b") == "a=3Db");
    CHECK(mime::quoted_printable("Größe") == "Gr=C3=B6=C3=9Fe");
    CHECK(mime::quoted_printable("end \nnext\t") == "end=20\r\nnext=09");
    CHECK(mime::quoted_printable("one\r\ntwo\n") == "one\r\ntwo\r\n");
    CHECK(mime::quoted_printable(".\nFrom me") == "=2E\r\n=46rom me");

    std::string long_text;
    for (int i = 0; i < 50; ++i) long_text += "Grüße=. ";
    long_text += "\n" + std::string(300, 'x');
    const auto encoded = mime::quoted_printable(long_text);
    for (const auto& line : lines_of(encoded)) {
      CHECK(line.size() <= 76);
      CHECK((line.empty() || line.front() != '.'));
    }
    CHECK(qp_decode(encoded) == std::string(long_text).replace(long_text.find('\n'), 1, "\r\n"));
  }

  TEST_CASE("mime: quoted-printable round-trips any text in lines that survive transport") {
    // Pieces that meet every rule: soft breaks at the width, '=' and blanks and '.'/"From " at a line's
    // start, multi-byte characters split across a break, blank runs, bare CRs and LFs.
    const std::vector<std::string> pieces = {"a", "word ", "=", " ", "\t", ".", "From ", "F", "Grüße", "€",
                                             std::string(70, 'x'), std::string(74, 'y'), "\n", "\r\n", "\r"};
    std::mt19937 random(20261122);  // fixed: the same texts on every run
    for (int text_no = 0; text_no < 2000; ++text_no) {
      std::string text;
      const auto count = random() % 40;
      for (std::uint32_t i = 0; i < count; ++i) text += pieces[random() % pieces.size()];
      const auto encoded = mime::quoted_printable(text);
      CAPTURE(text);
      for (const auto& line : lines_of(encoded)) {
        CHECK(line.size() <= 76);
        CHECK((line.empty() || (line.front() != '.' && !line.starts_with("From "))));
        CHECK((line.empty() || (line.back() != ' ' && line.back() != '\t')));
        CHECK(std::all_of(line.begin(), line.end(), [](char c) { return c == '\t' || (c >= 0x20 && c <= 0x7E); }));
      }
      // Line breaks of any kind come back as CRLF; a final one is kept.
      std::string expected;
      for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' || text[i] == '\n') {
          if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
          expected += "\r\n";
        } else {
          expected.push_back(text[i]);
        }
      }
      CHECK(qp_decode(encoded) == expected);
    }
  }

  TEST_CASE("mime: ASCII subjects pass; UTF-8 ones become RFC 2047 words split on character boundaries") {
    CHECK(mime::encode_header_text("Order BZR-1 shipped") == "Order BZR-1 shipped");
    const std::string german = "Ihre Bestellung ist unterwegs — Größe M, Farbe Grün, Menge 2 × Tasse für Zoë";
    const auto encoded = mime::encode_header_text(german);
    CHECK(encoded.rfind("=?UTF-8?B?", 0) == 0);
    CHECK(encoded.find("\r\n ") != std::string::npos);  // folded into several words
    CHECK(words_decode(encoded) == german);
    // Text that merely looks encoded is encoded, so that a reader cannot be tricked into decoding it.
    CHECK(mime::encode_header_text("=?UTF-8?B?SGk=?=").rfind("=?UTF-8?B?", 0) == 0);
    CHECK(words_decode(mime::encode_header_text("=?UTF-8?B?SGk=?=")) == "=?UTF-8?B?SGk=?=");
    // Long ASCII subjects are folded at spaces.
    const auto folded = mime::encode_header_text(std::string(60, 'a') + " " + std::string(30, 'b'));
    CHECK(folded == std::string(60, 'a') + "\r\n " + std::string(30, 'b'));
  }

  TEST_CASE("mime: line breaks in subjects and names cannot inject headers") {
    auto m = message();
    m.subject = "Hello\r\nBcc: victim@example.com";
    m.to.name = "Eve\r\nBcc: other@example.com";
    const auto text = mime::build(m, "=_b");
    for (const auto& line : lines_of(text.substr(0, text.find("\r\n\r\n")))) CHECK(line.rfind("Bcc:", 0) != 0);
    CHECK(header_of(text, "Subject") == "Hello  Bcc: victim@example.com");
  }

  TEST_CASE("mime: addresses are parsed, checked and formatted") {
    auto m = mime::parse_mailbox("Shop <shop@example.com>");
    REQUIRE(m);
    CHECK(m->name == "Shop");
    CHECK(m->address == "shop@example.com");
    m = mime::parse_mailbox("\"Shop, Inc. \\\"best\\\"\" <shop@example.com>");
    REQUIRE(m);
    CHECK(m->name == "Shop, Inc. \"best\"");
    CHECK(mime::parse_mailbox("bazaar <shop@localhost>")->address == "shop@localhost");
    CHECK(mime::parse_mailbox("plain@example.com")->name.empty());
    CHECK_FALSE(mime::parse_mailbox("no address"));
    CHECK_FALSE(mime::parse_mailbox("Shop <two@@example.com>"));

    CHECK(mime::valid_address("a.b+tag@sub.example.com"));
    CHECK_FALSE(mime::valid_address("a b@example.com"));
    CHECK_FALSE(mime::valid_address("a@b@example.com"));
    CHECK_FALSE(mime::valid_address("@example.com"));
    CHECK_FALSE(mime::valid_address("a@"));
    CHECK_FALSE(mime::valid_address("a@example..com"));
    CHECK_FALSE(mime::valid_address("a@exa mple.com"));
    CHECK_FALSE(mime::valid_address("a\r\n@example.com"));
    CHECK_FALSE(mime::valid_address("<a>@example.com"));

    CHECK(mime::format_mailbox({"", "a@example.com"}) == "a@example.com");
    CHECK(mime::format_mailbox({"Ada Lovelace", "a@example.com"}) == "Ada Lovelace <a@example.com>");
    CHECK(mime::format_mailbox({"Lovelace, Ada", "a@example.com"}) == "\"Lovelace, Ada\" <a@example.com>");
    CHECK(mime::format_mailbox({"Ada \"Countess\"", "a@example.com"}) == "\"Ada \\\"Countess\\\"\" <a@example.com>");
    const auto encoded = mime::format_mailbox({"Zoë Ådahl", "z@example.com"});
    CHECK(encoded.rfind("=?UTF-8?B?", 0) == 0);
    CHECK(encoded.ends_with(" <z@example.com>"));
    CHECK(words_decode(encoded) == "Zoë Ådahl");
  }

  TEST_CASE("mime: the date is RFC 5322, in UTC, in English whatever the locale") {
    CHECK(mime::rfc5322_date(std::chrono::system_clock::time_point(std::chrono::seconds(1795347600))) ==
          "Sun, 22 Nov 2026 11:40:00 +0000");
    CHECK(mime::rfc5322_date(std::chrono::system_clock::time_point(std::chrono::seconds(0))) ==
          "Thu, 01 Jan 1970 00:00:00 +0000");
  }

  TEST_CASE("mime: a message with HTML is multipart/alternative with a text and an HTML part") {
    const auto text = mime::build(message(), "=_boundary42");
    CHECK(header_of(text, "Date") == "Sun, 22 Nov 2026 11:40:00 +0000");
    CHECK(header_of(text, "From") == "bazaar <shop@example.com>");
    CHECK(words_decode(header_of(text, "To")) == "Zoë Ådahl");
    CHECK(header_of(text, "To").ends_with("<zoe@example.com>"));
    CHECK(words_decode(header_of(text, "Subject")) == "Ihre Bestellung BZR-001042 ist unterwegs — Größe M");
    CHECK(header_of(text, "Message-ID") == "<0190c0de@example.com>");
    CHECK(header_of(text, "MIME-Version") == "1.0");
    CHECK(header_of(text, "Content-Type") == "multipart/alternative; boundary=\"=_boundary42\"");

    const auto body = text.substr(text.find("\r\n\r\n") + 4);
    const auto first = body.find("--=_boundary42\r\n");
    const auto second = body.find("--=_boundary42\r\n", first + 1);
    const auto last = body.find("--=_boundary42--\r\n");
    REQUIRE(first != std::string::npos);
    REQUIRE(second != std::string::npos);
    REQUIRE(last != std::string::npos);
    CHECK(text.ends_with("--=_boundary42--\r\n"));
    const auto plain = body.substr(first, second - first);
    const auto html = body.substr(second, last - second);
    CHECK(
        plain.find("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n") !=
        std::string::npos);
    CHECK(html.find("Content-Type: text/html; charset=UTF-8") != std::string::npos);
    const auto plain_body = plain.substr(plain.find("\r\n\r\n") + 4);
    CHECK(qp_decode(plain_body) == "Hallo Zoë,\r\nTotal: 12.34 EUR\r\n.\r\nFrom here on = fine\r\n");
    // Every line of the message is at most 998 characters, and bare LFs never occur.
    for (const auto& line : lines_of(text)) CHECK(line.size() <= 998);
    CHECK(text.find("\n") == text.find("\r\n") + 1);
    std::size_t lf = 0;
    while ((lf = text.find('\n', lf + 1)) != std::string::npos) CHECK(text[lf - 1] == '\r');
  }

  TEST_CASE("mime: a message without HTML is a single text/plain part") {
    auto m = message();
    m.html.reset();
    const auto text = mime::build(m, "=_unused");
    CHECK(header_of(text, "Content-Type") == "text/plain; charset=UTF-8");
    CHECK(header_of(text, "Content-Transfer-Encoding") == "quoted-printable");
    CHECK(text.find("=_unused") == std::string::npos);
  }

  TEST_CASE("mime: the transports' message keeps the delivery id as Message-ID and carries From from config") {
    EmailSettings s;
    s.from = {"Bäckerei", "orders@shop.example"};
    OutgoingEmail e{"0190c0de-0000-7000-8000-000000000001", {"Ada", "ada@example.com"}, "Hi", "text", "<p>html</p>"};
    const auto text = mime_text(s, e, std::chrono::system_clock::time_point(std::chrono::seconds(1795347600)));
    CHECK(header_of(text, "Message-ID") == "<0190c0de-0000-7000-8000-000000000001@shop.example>");
    CHECK(words_decode(header_of(text, "From")) == "Bäckerei");
    CHECK(header_of(text, "Auto-Submitted") == "auto-generated");
    CHECK(header_of(text, "Content-Type").rfind("multipart/alternative; boundary=\"=_bazaar_", 0) == 0);
  }

  TEST_CASE("mime: webhook signatures follow the payments scheme") {
    // HMAC-SHA256 of "1700000000.{}" with key "secret", computed independently with openssl dgst.
    CHECK(webhook_signature("secret", 1700000000, "{}") ==
          "t=1700000000,v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163");
  }
}
