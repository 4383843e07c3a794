// The Beast-free request/reply helpers modules use.
#include <platform/http.hpp>

#include <boost/url/parse_query.hpp>

#include <algorithm>

#include <fmt/format.h>

#include <strings.h>

namespace bazaar::platform::http {

namespace {
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}
}  // namespace

std::string_view to_string(Method m) {
  switch (m) {
    case Method::get: return "GET";
    case Method::head: return "HEAD";
    case Method::post: return "POST";
    case Method::put: return "PUT";
    case Method::patch: return "PATCH";
    case Method::del: return "DELETE";
    case Method::options: return "OPTIONS";
    case Method::other: return "OTHER";
  }
  return "OTHER";
}

Method method_from_string(std::string_view s) {
  if (s == "GET") return Method::get;
  if (s == "HEAD") return Method::head;
  if (s == "POST") return Method::post;
  if (s == "PUT") return Method::put;
  if (s == "PATCH") return Method::patch;
  if (s == "DELETE") return Method::del;
  if (s == "OPTIONS") return Method::options;
  return Method::other;
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& e : entries_) {
    if (iequals(name_of(e), name)) return value_of(e);
  }
  return std::nullopt;
}

Headers::Entry* Headers::find(std::string_view name) {
  for (auto& e : entries_) {
    if (iequals(name_of(e), name)) return &e;
  }
  return nullptr;
}

void Headers::set(std::string_view name, std::string_view value) {
  Entry* e = find(name);
  if (!e) return add(name, value);
  if (value.size() <= e->value_size) {  // in place; a longer value goes to the end (the old bytes stay unused)
    text_.replace(e->value_at, value.size(), value);
  } else {
    e->value_at = static_cast<std::uint32_t>(text_.size());
    text_.append(value);
  }
  e->value_size = static_cast<std::uint32_t>(value.size());
}

void Headers::add(std::string_view name, std::string_view value) {
  if (text_.capacity() == 0) text_.reserve(256);
  Entry e{};
  e.name_at = static_cast<std::uint32_t>(text_.size());
  e.name_size = static_cast<std::uint32_t>(name.size());
  text_.append(name);
  e.value_at = static_cast<std::uint32_t>(text_.size());
  e.value_size = static_cast<std::uint32_t>(value.size());
  text_.append(value);
  entries_.push_back(e);
}

void Headers::remove(std::string_view name) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return iequals(name_of(e), name); }),
                 entries_.end());
}

std::string_view Request::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  if (query.empty()) return std::nullopt;
  auto params = boost::urls::parse_query(query);
  if (!params) return std::nullopt;
  // Keys and values are percent-decoded, '+' is a space (HTML forms, URLSearchParams).
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  for (const auto& p : *params) {
    if (p.key.decode(opts) == name) return p.value.decode(opts);
  }
  return std::nullopt;
}

Reply raw_json_reply(int status, std::string body) {
  Reply r;
  r.status = status;
  r.headers.set("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

Reply json_reply(int status, const json::value& body) { return raw_json_reply(status, json::serialize(body)); }

Reply no_content() {
  Reply r;
  r.status = 204;
  return r;
}

Reply text_reply(int status, std::string body, std::string content_type) {
  Reply r;
  r.status = status;
  r.headers.set("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

Reply problem(const Error& error, const Request& rq) {
  const int status = http_status(error.code);
  json::object doc;
  doc["type"] = fmt::format("urn:bazaar:problem:{}", error.code_slug());
  doc["title"] = default_title(error.code);
  doc["status"] = status;
  doc["detail"] = error.detail.empty() ? std::string(default_title(error.code)) : error.detail;
  doc["code"] = error.code_slug();
  doc["request_id"] = rq.request_id;
  if (!error.fields.empty()) {
    json::array fields;
    for (const auto& f : error.fields) fields.push_back(json::object{{"field", f.field}, {"message", f.message}});
    doc["errors"] = std::move(fields);
  }
  Reply r;
  r.status = status;
  r.headers.set("Content-Type", "application/problem+json");
  if (error.retry_after_seconds > 0) r.headers.set("Retry-After", std::to_string(error.retry_after_seconds));
  if (status == 401) r.headers.set("WWW-Authenticate", "Bearer");
  r.body = json::serialize(doc);
  return r;
}

Result<json::object> parse_json_body(const Request& rq) {
  auto type = rq.header("Content-Type");
  const auto media = type ? type->substr(0, type->find(';')) : std::string_view();
  auto trimmed = media;
  while (!trimmed.empty() && trimmed.back() == ' ') trimmed.remove_suffix(1);
  if (!iequals(trimmed, "application/json")) {
    if (rq.body.empty() && !type) {
      return Error::bad_request("A JSON body is required (Content-Type: application/json).");
    }
    return Error::make(Errc::unsupported_media_type, "unsupported_media_type",
                       "The body must be JSON with Content-Type: application/json.");
  }
  return parse_json_object(rq.body);
}

Result<Principal> require_principal(const Request& rq) {
  if (!rq.principal) return Error::unauthorized("unauthorized", "Authentication is required.");
  return *rq.principal;
}

}  // namespace bazaar::platform::http
