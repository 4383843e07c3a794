#include "domain/template.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bazaar::notifications::tmpl {

namespace json = boost::json;

std::string TemplateError::describe() const { return fmt::format("line {}, column {}: {}", line, column, message); }

namespace {

constexpr std::size_t kMaxDepth = 16;

struct Node {
  enum class Kind { text, variable, money, each, if_ } kind = Kind::text;
  std::string text;               // text: the literal; otherwise: the path as written
  std::vector<std::string> path;  // variable, money, each, if_
  std::vector<Node> body;         // each, if_
  std::vector<Node> otherwise;    // each (empty list), if_ (false)
  std::size_t offset = 0;         // where the tag starts, for error positions
};

struct Failure {
  std::size_t offset;
  std::string message;
};

TemplateError error_at(std::string_view source, std::size_t offset, std::string message) {
  TemplateError e;
  e.message = std::move(message);
  offset = std::min(offset, source.size());
  for (std::size_t i = 0; i < offset; ++i) {
    if (source[i] == '\n') {
      ++e.line;
      e.column = 1;
    } else if ((static_cast<unsigned char>(source[i]) & 0xC0) != 0x80) {  // count code points, not bytes
      ++e.column;
    }
  }
  return e;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  const auto first = static_cast<unsigned char>(s.front());
  if (std::isdigit(first)) return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
  if (!std::isalpha(first) && first != '_') return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

// "order.lines" → {"order", "lines"}; "this" / "this.title" / "@index" as they are. Empty on a bad path.
std::vector<std::string> parse_path(std::string_view text) {
  std::vector<std::string> parts;
  if (text == "@index" || text == "@number") return {std::string(text)};
  std::size_t pos = 0;
  while (true) {
    const auto dot = text.find('.', pos);
    const auto part = text.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (!is_identifier(part)) return {};
    if (part == "this" && !parts.empty()) return {};
    parts.emplace_back(part);
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return parts;
}

class Parser {
 public:
  explicit Parser(std::string_view source) : src_(source) {}

  std::vector<Node> parse() {
    if (src_.size() > kMaxTemplateBytes) {
      throw Failure{0, fmt::format("the template is larger than {} KiB", kMaxTemplateBytes / 1024)};
    }
    std::vector<Node> nodes;
    parse_until(nodes, nullptr);
    return nodes;
  }

 private:
  struct Open {
    Node::Kind kind;
    std::size_t offset;
    bool else_seen = false;
  };

  // Parses into `out` until the closing tag of `open` (or the end of input when open is null).
  void parse_until(std::vector<Node>& out, Open* open) {
    std::vector<Node>* target = &out;
    while (pos_ < src_.size()) {
      const auto tag = src_.find("{{", pos_);
      const auto text_end = tag == std::string_view::npos ? src_.size() : tag;
      if (text_end > pos_) append_text(*target, src_.substr(pos_, text_end - pos_));
      if (tag == std::string_view::npos) {
        pos_ = src_.size();
        break;
      }
      const auto close = src_.find("}}", tag + 2);
      if (close == std::string_view::npos) throw Failure{tag, "'{{' is never closed with '}}'"};
      const auto inner = src_.substr(tag + 2, close - tag - 2);
      const auto content = trim(inner);
      pos_ = close + 2;
      if (content.empty()) throw Failure{tag, "empty tag '{{}}'"};
      if (inner.find("{{") != std::string_view::npos) throw Failure{tag, "'{{' inside a tag"};

      if (content.front() == '!') {
        strip_standalone(*target, tag);
        continue;
      }
      if (content.front() == '#') {
        strip_standalone(*target, tag);
        target->push_back(parse_block(content.substr(1), tag));
        continue;
      }
      if (content.front() == '/') {
        const auto name = trim(content.substr(1));
        if (!open) throw Failure{tag, fmt::format("'{{{{/{}}}}}' closes a block that was never opened", name)};
        const auto expected = open->kind == Node::Kind::each ? "each" : "if";
        if (name != expected) {
          throw Failure{tag, fmt::format("'{{{{/{}}}}}' found where '{{{{/{}}}}}' was expected", name, expected)};
        }
        strip_standalone(*target, tag);
        return;
      }
      if (content == "else") {
        if (!open) throw Failure{tag, "'{{else}}' outside '{{#if}}' or '{{#each}}'"};
        if (open->else_seen) throw Failure{tag, "a second '{{else}}' in the same block"};
        open->else_seen = true;
        strip_standalone(*target, tag);
        target = &otherwise_;
        // The caller's node owns the else branch: hand it over when the block closes (see parse_block).
        continue;
      }
      target->push_back(parse_value(content, tag));
    }
    if (open) {
      const auto name = open->kind == Node::Kind::each ? "each" : "if";
      throw Failure{open->offset, fmt::format("'{{{{#{}}}}}' is never closed with '{{{{/{}}}}}'", name, name)};
    }
  }

  Node parse_block(std::string_view content, std::size_t tag) {
    const auto space = content.find_first_of(" \t\r\n");
    const auto keyword = content.substr(0, space);
    const auto arg = space == std::string_view::npos ? std::string_view() : trim(content.substr(space));
    Node node;
    node.offset = tag;
    if (keyword == "each") {
      node.kind = Node::Kind::each;
    } else if (keyword == "if") {
      node.kind = Node::Kind::if_;
    } else {
      throw Failure{tag, fmt::format("unknown block '{{{{#{}}}}}' (known: #each, #if)", keyword)};
    }
    if (arg.empty()) throw Failure{tag, fmt::format("'{{{{#{}}}}}' needs a variable", keyword)};
    node.path = parse_path(arg);
    if (node.path.empty()) throw Failure{tag, fmt::format("'{}' is not a variable name", arg)};
    node.text = std::string(arg);
    if (++depth_ > kMaxDepth) throw Failure{tag, fmt::format("blocks are nested deeper than {}", kMaxDepth)};

    std::vector<Node> saved_otherwise = std::move(otherwise_);
    otherwise_.clear();
    Open open{node.kind, tag};
    parse_until(node.body, &open);
    node.otherwise = std::move(otherwise_);
    otherwise_ = std::move(saved_otherwise);
    --depth_;
    return node;
  }

  Node parse_value(std::string_view content, std::size_t tag) {
    Node node;
    node.offset = tag;
    std::string_view arg = content;
    node.kind = Node::Kind::variable;
    if (content.front() == '{' || content.front() == '&') {
      throw Failure{tag, "unescaped output is not supported: every value is escaped in HTML bodies"};
    }
    const auto space = content.find_first_of(" \t\r\n");
    if (space != std::string_view::npos) {
      const auto helper = content.substr(0, space);
      if (helper != "money") {
        throw Failure{tag, fmt::format("unknown helper '{}' (known: money)", helper)};
      }
      node.kind = Node::Kind::money;
      arg = trim(content.substr(space));
    } else if (content == "money") {
      throw Failure{tag, "'money' needs a variable, e.g. {{money order.total}}"};
    }
    node.path = parse_path(arg);
    if (node.path.empty()) throw Failure{tag, fmt::format("'{}' is not a variable name", arg)};
    node.text = std::string(arg);
    return node;
  }

  void append_text(std::vector<Node>& out, std::string_view text) {
    if (!out.empty() && out.back().kind == Node::Kind::text) {
      out.back().text += text;
      return;
    }
    Node n;
    n.kind = Node::Kind::text;
    n.text = std::string(text);
    out.push_back(std::move(n));
  }

  // A block tag alone on its line ("  {{#each x}}\n") removes the whole line: the indentation before it
  // (already in the preceding text node) and the line break after it.
  void strip_standalone(std::vector<Node>& out, std::size_t tag) {
    std::size_t from = tag;
    while (from > 0 && src_[from - 1] != '\n') --from;
    for (std::size_t i = from; i < tag; ++i) {
      if (src_[i] != ' ' && src_[i] != '\t') return;
    }
    std::size_t after = pos_;
    while (after < src_.size() && (src_[after] == ' ' || src_[after] == '\t' || src_[after] == '\r')) ++after;
    if (after < src_.size() && src_[after] != '\n') return;
    const std::size_t indent = tag - from;  // already appended to the preceding text node
    if (indent > 0 && !out.empty() && out.back().kind == Node::Kind::text && out.back().text.size() >= indent) {
      out.back().text.resize(out.back().text.size() - indent);
    }
    pos_ = after < src_.size() ? after + 1 : after;
  }

  std::string_view src_;
  std::size_t pos_ = 0;
  std::size_t depth_ = 0;
  std::vector<Node> otherwise_;  // the else branch of the innermost open block, while it is parsed
};

struct Scope {
  const json::value* value;
  std::optional<std::size_t> index;  // inside #each
};

class Renderer {
 public:
  Renderer(const json::value& context, Escape escape) : escape_(escape) { scopes_.push_back({&context, {}}); }

  void render(const std::vector<Node>& nodes, std::string& out) {
    for (const auto& node : nodes) {
      switch (node.kind) {
        case Node::Kind::text:
          out += node.text;
          break;
        case Node::Kind::variable:
          emit(out, to_text(node, lookup(node)));
          break;
        case Node::Kind::money:
          emit(out, money(node, lookup(node)));
          break;
        case Node::Kind::if_:
          render(truthy(lookup(node)) ? node.body : node.otherwise, out);
          break;
        case Node::Kind::each:
          render_each(node, out);
          break;
      }
      if (out.size() > kMaxOutputBytes) {
        throw Failure{node.offset, fmt::format("the rendered text is larger than {} KiB", kMaxOutputBytes / 1024)};
      }
    }
  }

 private:
  void emit(std::string& out, const std::string& value) {
    if (escape_ == Escape::html) {
      out += html_escape(value);
    } else {
      out += value;
    }
  }

  void render_each(const Node& node, std::string& out) {
    const json::value& v = lookup(node);
    if (v.is_null()) {
      render(node.otherwise, out);
      return;
    }
    if (!v.is_array())
      throw Failure{node.offset, fmt::format("'{}' is not a list, so #each cannot loop over it", node.text)};
    const auto& items = v.get_array();
    if (items.empty()) {
      render(node.otherwise, out);
      return;
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      scopes_.push_back({&items[i], i});
      render(node.body, out);
      scopes_.pop_back();
    }
  }

  const json::value& lookup(const Node& node) {
    const auto& path = node.path;
    if (path.front() == "@index" || path.front() == "@number") {
      for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
        if (it->index) {
          number_ = static_cast<std::int64_t>(*it->index) + (path.front() == "@number" ? 1 : 0);
          return number_;
        }
      }
      throw Failure{node.offset, fmt::format("'{}' is only defined inside {{{{#each}}}}", path.front())};
    }
    const json::value* current = nullptr;
    std::size_t next = 1;
    if (path.front() == "this") {
      current = scopes_.back().value;
    } else {
      for (auto it = scopes_.rbegin(); it != scopes_.rend() && !current; ++it) {
        if (const auto* obj = it->value->if_object()) current = obj->if_contains(path.front());
      }
      if (!current) throw Failure{node.offset, fmt::format("unknown variable '{}'", node.text)};
    }
    for (; next < path.size(); ++next) {
      const auto& part = path[next];
      const json::value* child = nullptr;
      if (const auto* obj = current->if_object()) {
        child = obj->if_contains(part);
      } else if (const auto* arr = current->if_array()) {
        std::size_t i = 0;
        auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), i);
        if (ec == std::errc() && p == part.data() + part.size() && i < arr->size()) child = &(*arr)[i];
      } else if (current->is_null()) {
        throw Failure{node.offset,
                      fmt::format("'{}' has no value here, so '{}' is undefined", join(path, next), node.text)};
      }
      if (!child) throw Failure{node.offset, fmt::format("unknown variable '{}'", node.text)};
      current = child;
    }
    return *current;
  }

  static std::string join(const std::vector<std::string>& path, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
      if (i) out.push_back('.');
      out += path[i];
    }
    return out;
  }

  static bool truthy(const json::value& v) {
    switch (v.kind()) {
      case json::kind::null:
        return false;
      case json::kind::bool_:
        return v.get_bool();
      case json::kind::int64:
        return v.get_int64() != 0;
      case json::kind::uint64:
        return v.get_uint64() != 0;
      case json::kind::double_:
        return v.get_double() != 0.0;
      case json::kind::string:
        return !v.get_string().empty();
      case json::kind::array:
        return !v.get_array().empty();
      case json::kind::object:
        return !v.get_object().empty();
    }
    return false;
  }

  static std::string to_text(const Node& node, const json::value& v) {
    switch (v.kind()) {
      case json::kind::null:
        return {};
      case json::kind::bool_:
        return v.get_bool() ? "true" : "false";
      case json::kind::int64:
        return std::to_string(v.get_int64());
      case json::kind::uint64:
        return std::to_string(v.get_uint64());
      case json::kind::double_:
        return fmt::format("{}", v.get_double());
      case json::kind::string:
        return std::string(v.get_string());
      case json::kind::array:
        throw Failure{node.offset,
                      fmt::format("'{}' is a list: loop over it with {{{{#each {}}}}}", node.text, node.text)};
      case json::kind::object:
        if (const auto* o = v.if_object(); o && o->contains("amount") && o->contains("currency")) {
          throw Failure{node.offset,
                        fmt::format("'{}' is an amount of money: write {{{{money {}}}}}", node.text, node.text)};
        }
        throw Failure{node.offset, fmt::format("'{}' is an object, not a value; name one of its fields", node.text)};
    }
    return {};
  }

  std::string money(const Node& node, const json::value& v) {
    const auto* o = v.if_object();
    const json::value* amount = o ? o->if_contains("amount") : nullptr;
    const json::value* currency = o ? o->if_contains("currency") : nullptr;
    if (!amount || !currency || !currency->is_string() || !(amount->is_int64() || amount->is_uint64())) {
      throw Failure{node.offset,
                    fmt::format("'{}' is not an amount of money ({{\"amount\", \"currency\"}})", node.text)};
    }
    const std::int64_t minor =
        amount->is_int64() ? amount->get_int64() : static_cast<std::int64_t>(amount->get_uint64());
    return format_money(minor, currency->get_string());
  }

  Escape escape_;
  std::vector<Scope> scopes_;
  json::value number_;  // storage for @index / @number
};

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string format_money(std::int64_t minor_units, std::string_view currency) {
  // ISO 4217 minor-unit exponents that differ from 2.
  static constexpr std::string_view kZero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
                                               "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"};
  static constexpr std::string_view kThree[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
  int exponent = 2;
  if (std::find(std::begin(kZero), std::end(kZero), currency) != std::end(kZero)) exponent = 0;
  if (std::find(std::begin(kThree), std::end(kThree), currency) != std::end(kThree)) exponent = 3;
  const bool negative = minor_units < 0;
  // Magnitude as unsigned: INT64_MIN has no positive counterpart in int64.
  const std::uint64_t magnitude =
      negative ? static_cast<std::uint64_t>(-(minor_units + 1)) + 1 : static_cast<std::uint64_t>(minor_units);
  std::uint64_t scale = 1;
  for (int i = 0; i < exponent; ++i) scale *= 10;
  std::string out = negative ? "-" : "";
  out += std::to_string(magnitude / scale);
  if (exponent > 0) out += fmt::format(".{:0{}}", magnitude % scale, exponent);
  out.push_back(' ');
  out += currency;
  return out;
}

std::optional<TemplateError> check_syntax(std::string_view source) {
  try {
    Parser(source).parse();
    return std::nullopt;
  } catch (const Failure& f) {
    return error_at(source, f.offset, f.message);
  }
}

namespace {

// A shop has a handful of templates and renders them for every message (a checkout sends two): each
// source text is parsed once. Keyed by the text itself, so an edited template is simply a new entry; a
// pure cache of a pure function, bounded by clearing it when full. Sources that fail to parse are not kept.
std::shared_ptr<const std::vector<Node>> parsed(std::string_view source) {
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  static std::mutex mutex;
  static std::unordered_map<std::string, std::shared_ptr<const std::vector<Node>>, TextHash, std::equal_to<>> cache;
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(source); it != cache.end()) return it->second;
  }
  auto nodes = std::make_shared<const std::vector<Node>>(Parser(source).parse());
  std::lock_guard lock(mutex);
  if (cache.size() >= 256) cache.clear();
  cache.emplace(std::string(source), nodes);
  return nodes;
}

}  // namespace

Rendered render(std::string_view source, const json::value& context, Escape escape) {
  Rendered result;
  try {
    const auto nodes = parsed(source);
    Renderer(context, escape).render(*nodes, result.text);
  } catch (const Failure& f) {
    result.text.clear();
    result.error = error_at(source, f.offset, f.message);
  }
  return result;
}

}  // namespace bazaar::notifications::tmpl
