#pragma once
// JSON of the catalog API that is not built by PostgreSQL (the category tree, page envelopes), the readers
// that validate request bodies, and compaction of PostgreSQL's json output.
#include "repository.hpp"

#include <platform/json.hpp>
#include <platform/money.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bazaar::catalog {

// Removes the insignificant whitespace PostgreSQL's json functions emit ({"a" : 1, "b" : [1, 2]}).
std::string compact_json(std::string_view text);

// {"items": [<item>, ...], "next_cursor": "<cursor>" | null} from ready item texts.
std::string page_body(const std::vector<std::string>& items, const std::optional<std::string>& next_cursor);

// Category JSON ({id, slug, name, parent_id, children}) for every root, or for one category's subtree.
boost::json::array category_forest(const std::vector<repo::CategoryRow>& rows);
std::optional<boost::json::object> category_subtree(const std::vector<repo::CategoryRow>& rows, const std::string& id);

// Request bodies. Absent fields are nullopt; `partial` (PATCH) makes every field optional.
struct ProductInput {
  std::optional<std::string> title;
  std::optional<std::string> slug;
  std::optional<std::string> description;
  std::optional<std::string> status;
  std::optional<std::vector<std::string>> category_ids;
};
void read_product(platform::FieldReader& r, bool partial, ProductInput& out);

struct VariantInput {
  std::optional<std::string> sku;
  std::optional<std::string> title;
  std::optional<std::string> options_json;  // a flat object of strings, serialised
  std::optional<platform::Money> price;
  std::optional<int> on_hand;
};
void read_variant(platform::FieldReader& r, bool partial, const std::string& store_currency, VariantInput& out);

struct CategoryInput {
  std::optional<std::string> name;
  std::optional<std::string> slug;
  std::optional<std::optional<std::string>> parent_id;  // outer: present; inner nullopt: null (a root)
};
void read_category(platform::FieldReader& r, bool partial, CategoryInput& out);

inline constexpr int kMaxStock = 1'000'000'000;

}  // namespace bazaar::catalog
