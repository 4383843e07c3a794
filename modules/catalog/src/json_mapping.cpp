#include "json_mapping.hpp"

#include "domain/slug.hpp"

#include <platform/ids.hpp>

#include <map>
#include <set>

namespace bazaar::catalog {

namespace json = boost::json;

namespace {

// Control characters other than tab and newlines are never valid in catalog text (PostgreSQL rejects NUL).
bool has_control_characters(std::string_view s, bool allow_newlines) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) {
      if (allow_newlines && (c == '\n' || c == '\r' || c == '\t')) continue;
      return true;
    }
  }
  return false;
}

std::optional<std::string> read_text(platform::FieldReader& r, std::string_view key, bool required, std::size_t min,
                                     std::size_t max, bool multiline) {
  auto v = r.string(key, required, min, max);
  if (v && has_control_characters(*v, multiline)) {
    r.fail(key, "must not contain control characters");
    return std::nullopt;
  }
  return v;
}

std::optional<std::string> read_slug(platform::FieldReader& r) {
  auto slug = r.string("slug", false, 1, domain::kMaxSlugLength);
  if (slug && !domain::is_valid_slug(*slug)) {
    r.fail("slug", "must be lower-case letters and digits separated by single dashes (and not a UUID)");
    return std::nullopt;
  }
  return slug;
}

bool is_sku_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '/';
}

json::object category_json(const repo::CategoryRow& c, const std::multimap<std::string, const repo::CategoryRow*>& kids,
                           int depth) {
  json::array children;
  if (depth < 64) {  // the tree cannot have cycles (writes check), but never recurse without bound
    auto [first, last] = kids.equal_range(c.id);
    for (auto it = first; it != last; ++it) children.push_back(category_json(*it->second, kids, depth + 1));
  }
  return {{"id", c.id},
          {"slug", c.slug},
          {"name", c.name},
          {"parent_id", c.parent_id ? json::value(*c.parent_id) : json::value(nullptr)},
          {"children", std::move(children)}};
}

std::multimap<std::string, const repo::CategoryRow*> children_index(const std::vector<repo::CategoryRow>& rows) {
  std::multimap<std::string, const repo::CategoryRow*> kids;  // rows come ordered by name: so do children
  for (const auto& row : rows) {
    if (row.parent_id) kids.emplace(*row.parent_id, &row);
  }
  return kids;
}

}  // namespace

std::string compact_json(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        out.push_back(text[++i]);
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      out.push_back(c);
    }
  }
  return out;
}

std::string page_body(const std::vector<std::string>& items, const std::optional<std::string>& next_cursor) {
  std::size_t size = 40;
  for (const auto& item : items) size += item.size() + 1;
  std::string out;
  out.reserve(size);
  out += R"({"items":[)";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out += items[i];
  }
  out += R"(],"next_cursor":)";
  if (next_cursor) {
    out += json::serialize(json::value(*next_cursor));  // base64url needs no escaping; this stays safe anyway
  } else {
    out += "null";
  }
  out.push_back('}');
  return out;
}

json::array category_forest(const std::vector<repo::CategoryRow>& rows) {
  const auto kids = children_index(rows);
  json::array roots;
  for (const auto& row : rows) {
    if (!row.parent_id) roots.push_back(category_json(row, kids, 0));
  }
  return roots;
}

std::optional<json::object> category_subtree(const std::vector<repo::CategoryRow>& rows, const std::string& id) {
  const auto kids = children_index(rows);
  for (const auto& row : rows) {
    if (row.id == id) return category_json(row, kids, 0);
  }
  return std::nullopt;
}

void read_product(platform::FieldReader& r, bool partial, ProductInput& out) {
  out.title = read_text(r, "title", !partial, 1, 200, false);
  out.slug = read_slug(r);
  out.description = read_text(r, "description", !partial, 0, 10000, true);
  if (auto status = r.string("status", false)) {
    if (*status == "draft" || *status == "published" || *status == "archived") {
      out.status = *status;
    } else {
      r.fail("status", "must be draft, published or archived");
    }
  }
  if (const auto* ids = r.array("category_ids", false)) {
    std::set<std::string> unique;
    bool ok = ids->size() <= 50;
    if (!ok) r.fail("category_ids", "must list at most 50 categories");
    for (const auto& v : *ids) {
      auto id = v.is_string() ? platform::normalize_uuid(v.get_string()) : std::nullopt;
      if (!id) {
        if (ok) r.fail("category_ids", "must be a list of category ids");
        ok = false;
        break;
      }
      unique.insert(*id);
    }
    if (ok) out.category_ids = std::vector<std::string>(unique.begin(), unique.end());
  }
}

void read_variant(platform::FieldReader& r, bool partial, const std::string& store_currency, VariantInput& out) {
  if (auto sku = r.string("sku", !partial, 1, 64)) {
    bool ok = true;
    for (char c : *sku) ok = ok && is_sku_char(c);
    if (ok) {
      out.sku = *sku;
    } else {
      r.fail("sku", "must be letters, digits and - _ . / only");
    }
  }
  out.title = read_text(r, "title", !partial, 1, 200, false);
  if (r.has("options") && !r.is_null("options")) {
    if (const auto* options = r.object("options", false)) {
      bool ok = options->size() <= 20;
      for (const auto& [k, v] : *options) {
        ok = ok && !k.empty() && k.size() <= 50 && v.is_string() && !v.get_string().empty() &&
             v.get_string().size() <= 100 && platform::valid_utf8(k) && platform::valid_utf8(v.get_string()) &&
             !has_control_characters(k, false) && !has_control_characters(v.get_string(), false);
      }
      if (ok) {
        out.options_json = json::serialize(*options);
      } else {
        r.fail("options", "must be an object of at most 20 names (1..50 characters) with text values (1..100 characters)");
      }
    }
  } else if (r.is_null("options")) {
    out.options_json = "{}";
  }
  out.price = platform::read_money(r, "price", !partial, store_currency);
  if (auto on_hand = r.integer("on_hand", false, 0, kMaxStock)) out.on_hand = static_cast<int>(*on_hand);
}

void read_category(platform::FieldReader& r, bool partial, CategoryInput& out) {
  out.name = read_text(r, "name", !partial, 1, 100, false);
  out.slug = read_slug(r);
  if (r.is_null("parent_id")) {
    out.parent_id = std::optional<std::string>{};
  } else if (auto parent = r.string("parent_id", false)) {
    if (auto id = platform::normalize_uuid(*parent)) {
      out.parent_id = std::optional<std::string>(*id);
    } else {
      r.fail("parent_id", "must be a category id or null");
    }
  }
}

}  // namespace bazaar::catalog
