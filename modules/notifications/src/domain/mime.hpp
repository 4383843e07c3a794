#pragma once
// Email messages as MIME (RFC 5322, 2045–2047): multipart/alternative with a text/plain and a text/html
// part, UTF-8, quoted-printable bodies, RFC 2047 encoded-words for non-ASCII subjects and display names,
// Message-ID and Date. Pure functions: no I/O, so every byte is unit-tested.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bazaar::notifications::mime {

struct Mailbox {
  std::string name;     // display name, may be empty, any UTF-8
  std::string address;  // local@domain
};

// A deliberately plain check (what we send to, not the full RFC 5321 grammar): one '@', a non-empty local
// part and a dotted domain, printable ASCII, no spaces, brackets, quotes or line breaks.
bool valid_address(std::string_view address);
// "Shop <shop@example.com>", "\"Shop, Inc.\" <shop@example.com>" or "shop@example.com".
std::optional<Mailbox> parse_mailbox(std::string_view text);
// The From/To header value: the address alone, or a quoted or RFC 2047-encoded display name before it.
std::string format_mailbox(const Mailbox& m);

struct Message {
  Mailbox from;
  Mailbox to;
  std::string subject;
  std::string text;                 // text/plain body
  std::optional<std::string> html;  // text/html body, if any
  std::string message_id;           // without angle brackets: "<id>@<domain>"
  std::chrono::system_clock::time_point date;
  std::vector<std::pair<std::string, std::string>> extra_headers;  // e.g. {"Auto-Submitted", "auto-generated"}
};

// The whole message with CRLF line endings, ready for SMTP DATA or an .eml file. `boundary` separates the
// parts; it starts with "=_" so that it can never occur in a quoted-printable body.
std::string build(const Message& m, std::string_view boundary);

// RFC 5322 date-time in UTC: "Sat, 21 Nov 2026 10:00:00 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point t);
// An unstructured header value (a subject): as is when it is printable ASCII, else RFC 2047 "B"
// encoded-words of at most 75 characters split on UTF-8 character boundaries, folded with CRLF SP.
std::string encode_header_text(std::string_view text);
// Quoted-printable (RFC 2045 §6.7) with CRLF line breaks, lines of at most 76 characters; a leading '.'
// and "From " are encoded too, so no SMTP server or mbox ever mangles a line.
std::string quoted_printable(std::string_view text);
std::string base64(std::string_view data);

}  // namespace bazaar::notifications::mime
