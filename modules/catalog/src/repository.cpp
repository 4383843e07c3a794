// Products, variants, images and categories. Reads build the API's JSON in PostgreSQL (json_build_object
// with json_agg subselects), so a product is one round trip returning ready text and a list page is one
// round trip too. Hot statements are prepared once per connection (platform/pq.hpp).
#include "repository.hpp"

#include <platform/pq.hpp>

namespace bazaar::catalog::repo {

namespace pq = platform::pq;
namespace asio = boost::asio;
using domain::Sort;

namespace {

// ----------------------------------------------------------------------------------------- JSON shapes
// (Timestamps are formatted HH24":"MI":"SS: the same text as HH24:MI:SS, but with no ":name" in it, so that
// bench/pgbench can run these very statements — pgbench would take ":MI" for a variable.)

constexpr const char* kVariantCustomerJson = R"sql(json_build_object(
    'id', v.id, 'sku', v.sku, 'title', v.title, 'options', v.options,
    'price', json_build_object('amount', v.price, 'currency', v.currency),
    'available', greatest(v.on_hand - v.reserved, 0)))sql";

constexpr const char* kVariantAdminJson = R"sql(json_build_object(
    'id', v.id, 'product_id', v.product_id, 'sku', v.sku, 'title', v.title, 'options', v.options,
    'price', json_build_object('amount', v.price, 'currency', v.currency),
    'available', greatest(v.on_hand - v.reserved, 0), 'on_hand', v.on_hand, 'reserved', v.reserved))sql";

constexpr const char* kImageJson = R"sql(json_build_object(
    'id', i.id, 'url', '/media/' || i.key, 'alt', i.alt, 'position', i.position))sql";

constexpr const char* kProductJsonHead = R"sql(json_build_object(
    'id', p.id, 'slug', p.slug, 'title', p.title, 'description', p.description, 'status', p.status,
    'category_ids', coalesce((SELECT json_agg(pc.category_id ORDER BY pc.category_id)
                              FROM catalog.product_categories pc WHERE pc.product_id = p.id), '[]'::json),
    'images', coalesce((SELECT json_agg()sql";
constexpr const char* kProductJsonImages = R"sql( ORDER BY i.position, i.id)
                        FROM catalog.images i WHERE i.product_id = p.id), '[]'::json),
    'variants', coalesce((SELECT json_agg()sql";
constexpr const char* kProductJsonTail = R"sql( ORDER BY v.id)
                          FROM catalog.variants v WHERE v.product_id = p.id), '[]'::json),
    'price_range', CASE WHEN p.min_price IS NULL THEN NULL ELSE json_build_object(
        'min', json_build_object('amount', p.min_price, 'currency', p.currency),
        'max', json_build_object('amount', p.max_price, 'currency', p.currency)) END,
    'created_at', to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"'),
    'updated_at', to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"')))sql";

// The Product JSON of the row aliased p.
std::string product_json_expr(View view) {
  return std::string(kProductJsonHead) + kImageJson + kProductJsonImages +
         (view == View::admin ? kVariantAdminJson : kVariantCustomerJson) + kProductJsonTail;
}

const std::string& product_sql(View view, bool by_id) {
  static const auto make = [](View v, bool id) {
    std::string sql = "SELECT " + product_json_expr(v) + "::text" + R"sql( FROM catalog.products p WHERE )sql";
    sql += id ? R"sql(p.id = $1)sql" : R"sql(p.slug = $1)sql";
    if (v == View::customer) sql += R"sql( AND p.status = 'published')sql";
    return sql;
  };
  static const std::string customer_id = make(View::customer, true);
  static const std::string customer_slug = make(View::customer, false);
  static const std::string admin_id = make(View::admin, true);
  static const std::string admin_slug = make(View::admin, false);
  if (view == View::customer) return by_id ? customer_id : customer_slug;
  return by_id ? admin_id : admin_slug;
}

const std::string& variant_admin_sql() {
  static const std::string sql =
      std::string("SELECT ") + kVariantAdminJson + "::text" + R"sql( FROM catalog.variants v WHERE v.id = $1)sql";
  return sql;
}

bool looks_like_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

// Rows of (json, sort key, id), one more than the page holds: the extra one says there is a next page.
Page to_page(const pq::Result& r, int limit) {
  Page page;
  const int n = std::min(r.rows(), limit);
  page.items.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) page.items.push_back(r.string(i, 0));
  if (r.rows() > limit && n > 0) {
    page.next_key = r.string(n - 1, 1);
    page.next_id = r.string(n - 1, 2);
  }
  return page;
}

// ------------------------------------------------------------------------------------ customer lists

struct SortSql {
  const char* key;    // the sort key of row p (empty: relevance, spelled out with the query)
  const char* order;  // ORDER BY over products p
  const char* outer;  // ORDER BY over the page's (sort_key, id), as "<alias>.sort_key ..., <alias>.id ..."
};

SortSql sort_sql(Sort sort) {
  switch (sort) {
    case Sort::price_asc:
      return {R"sql(coalesce(p.min_price, 9223372036854775807))sql",
              R"sql(coalesce(p.min_price, 9223372036854775807), p.id)sql", R"sql(@.sort_key, @.id)sql"};
    case Sort::price_desc:
      return {R"sql(coalesce(p.max_price, -1))sql", R"sql(coalesce(p.max_price, -1) DESC, p.id DESC)sql",
              R"sql(@.sort_key DESC, @.id DESC)sql"};
    case Sort::title:
      return {R"sql(lower(p.title))sql", R"sql(lower(p.title), p.id)sql", R"sql(@.sort_key, @.id)sql"};
    case Sort::relevance:
      return {"", "", R"sql(@.sort_key DESC, @.id)sql"};
    case Sort::newest:
      break;
  }
  return {R"sql('')sql", R"sql(p.id DESC)sql", R"sql(@.id DESC)sql"};
}

// The outer ORDER BY for the alias of the page's rows.
std::string outer_order(const SortSql& sort, std::string_view alias) {
  std::string out;
  for (char c : std::string_view(sort.outer)) {
    if (c == '@') {
      out += alias;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------- reads

namespace {

// The statement for a product by `ref` (its name and text are static: it outlives any query).
pq::Prepared product_statement(const std::string& ref, View view) {
  const bool by_id = looks_like_uuid(ref);
  static const char* const kNames[2][2] = {{"catalog_product_customer_by_slug_v1", "catalog_product_customer_by_id_v1"},
                                           {"catalog_product_admin_by_slug_v1", "catalog_product_admin_by_id_v1"}};
  return {kNames[view == View::admin ? 1 : 0][by_id ? 1 : 0], product_sql(view, by_id).c_str()};
}

pq::Params one_param(const std::string& value) {
  pq::Params params;
  params.add(value);
  return params;
}

std::optional<std::string> first_text(const pq::Result& r) {
  if (r.rows() == 0) return std::nullopt;
  return r.string(0, 0);
}

}  // namespace

std::optional<std::string> product_json(soci::session& s, const std::string& ref, View view) {
  return first_text(pq::exec_prepared(s, product_statement(ref, view), one_param(ref)));
}

asio::awaitable<std::optional<std::string>> product_json(platform::Database& db, const std::string& ref, View view) {
  const pq::Prepared statement = product_statement(ref, view);
  auto params = one_param(ref);
  co_return first_text(co_await pq::query(db, statement, std::move(params)));
}

asio::awaitable<Page> list_products(platform::Database& db, const domain::ListQuery& q) {
  pq::Params params;
  std::string ctes;
  std::string where = R"sql(p.status = 'published')sql";
  std::string tsquery;
  if (!q.q.empty()) {
    tsquery = R"sql(websearch_to_tsquery('english', )sql" + params.add(q.q) + ")";
    where += R"sql( AND p.search @@ )sql" + tsquery;
  }
  if (!q.category.empty()) {
    const auto ph = params.add(q.category);
    ctes = R"sql(RECURSIVE cats AS (
        SELECT c.id FROM catalog.categories c WHERE )sql" +
           std::string(looks_like_uuid(q.category) ? R"sql(c.id = )sql" + ph + R"sql(::uuid)sql"
                                                    : R"sql(c.slug = )sql" + ph) +
           R"sql(
        UNION
        SELECT c.id FROM catalog.categories c JOIN cats ON c.parent_id = cats.id), )sql";
    where += R"sql( AND EXISTS (SELECT 1 FROM catalog.product_categories pc
                                  WHERE pc.product_id = p.id AND pc.category_id IN (SELECT id FROM cats)))sql";
  }
  // Some variant costs at least min_price iff max_price >= min_price (and likewise for max_price), so one
  // bound is a test of the summary, written as the sort indexes' expressions so that the planner has their
  // statistics. With both bounds some variant must also lie between them.
  std::string min_ph, max_ph;
  if (q.min_price) {
    min_ph = params.add(*q.min_price) + "::bigint";
    where += R"sql( AND coalesce(p.max_price, -1) >= )sql" + min_ph;
  }
  if (q.max_price) {
    max_ph = params.add(*q.max_price) + "::bigint";
    where += R"sql( AND coalesce(p.min_price, 9223372036854775807) <= )sql" + max_ph;
  }
  if (q.min_price && q.max_price) {
    where += R"sql( AND EXISTS (SELECT 1 FROM catalog.variants pv
                                  WHERE pv.product_id = p.id AND pv.price BETWEEN )sql" +
             min_ph + " AND " + max_ph + ")";
  }
  if (q.in_stock) where += *q.in_stock ? R"sql( AND p.available_variants > 0)sql" : R"sql( AND p.available_variants = 0)sql";

  const SortSql sort = sort_sql(q.sort);
  std::string key = sort.key;
  std::string order = sort.order;
  if (q.sort == Sort::relevance) {
    key = R"sql(ts_rank(p.search, )sql" + tsquery + ")";
    order = key + R"sql( DESC, p.id)sql";
  }
  if (q.after) {
    const auto& a = *q.after;
    switch (q.sort) {
      case Sort::newest:
        where += R"sql( AND p.id < )sql" + params.add(a.id) + "::uuid";
        break;
      case Sort::price_asc:
        where += " AND (" + key + ", p.id) > (" + params.add(a.key) + "::bigint, " + params.add(a.id) + "::uuid)";
        break;
      case Sort::title:
        where += " AND (" + key + ", p.id) > (" + params.add(a.key) + ", " + params.add(a.id) + "::uuid)";
        break;
      case Sort::price_desc:
        where += " AND (" + key + ", p.id) < (" + params.add(a.key) + "::bigint, " + params.add(a.id) + "::uuid)";
        break;
      case Sort::relevance: {
        const auto rank = params.add(a.key);
        where += " AND (" + key + " < " + rank + "::real OR (" + key + " = " + rank + "::real AND p.id > " +
                 params.add(a.id) + "::uuid))";
        break;
      }
    }
  }
  const std::string limit = params.add(static_cast<std::int64_t>(q.limit + 1)) + "::int";
  auto select = [&](const std::string& extra) {
    return "SELECT p.id, " + key + " AS sort_key FROM catalog.products p WHERE " + where + extra + " ORDER BY " +
           order + " LIMIT " + limit;
  };

  // A price bound against the sort's direction (price_asc from min_price up, price_desc from max_price down)
  // would make the ordered index scan wade through every product on the wrong side of the bound. Split:
  // the products entirely past the bound come in index order from the bound on; those whose variant prices
  // straddle it are found by an interval search; the page is the first rows of both.
  std::string page;
  if (q.sort == Sort::price_asc && q.min_price) {
    page = "SELECT u.id, u.sort_key FROM ((" +
           select(R"sql( AND p.min_price IS NOT NULL AND int8range(p.min_price, p.max_price, '[]') @> )sql" + min_ph +
                  R"sql( AND p.min_price < )sql" + min_ph) +
           ") UNION ALL (" + select(R"sql( AND coalesce(p.min_price, 9223372036854775807) >= )sql" + min_ph) +
           ")) u ORDER BY " + outer_order(sort, "u") + " LIMIT " + limit;
  } else if (q.sort == Sort::price_desc && q.max_price) {
    page = "SELECT u.id, u.sort_key FROM ((" +
           select(R"sql( AND p.min_price IS NOT NULL AND int8range(p.min_price, p.max_price, '[]') @> )sql" + max_ph +
                  R"sql( AND p.max_price > )sql" + max_ph) +
           ") UNION ALL (" + select(R"sql( AND coalesce(p.max_price, -1) <= )sql" + max_ph) + ")) u ORDER BY " +
           outer_order(sort, "u") + " LIMIT " + limit;
  } else {
    page = select("");
  }
  const std::string sql = "WITH " + ctes + "page AS (" + page + R"sql()
      SELECT )sql" + product_json_expr(View::customer) + R"sql(::text, page.sort_key::text, page.id::text
      FROM page JOIN catalog.products p ON p.id = page.id
      ORDER BY )sql" + outer_order(sort, "page");

  if (!q.q.empty() || q.min_price || q.max_price) {
    // Planned for the actual values: a generic plan cannot know how many rows search terms or a price bound
    // select, which decides between an ordered index scan and a range scan plus sort.
    co_return to_page(co_await pq::query(db, sql, std::move(params)), q.limit);
  }
  // Otherwise the statement has one of a few dozen shapes: each is prepared once per connection. (`name`
  // and `sql` live in this frame until the statement's result has arrived.)
  const std::string name = "catalog_list_" + std::to_string(std::hash<std::string>{}(sql));
  const pq::Prepared statement{name.c_str(), sql.c_str()};
  co_return to_page(co_await pq::query(db, statement, std::move(params)), q.limit);
}

Page list_products_admin(soci::session& s, const domain::AdminListQuery& q) {
  pq::Params params;
  std::string where = "true";
  if (!q.status.empty()) where += R"sql( AND p.status = )sql" + params.add(q.status);
  if (!q.q.empty()) where += R"sql( AND p.search @@ websearch_to_tsquery('english', )sql" + params.add(q.q) + ")";
  if (q.after_id) where += R"sql( AND p.id < )sql" + params.add(*q.after_id) + "::uuid";
  const std::string limit = params.add(static_cast<std::int64_t>(q.limit + 1));
  const std::string sql = R"sql(WITH page AS (
        SELECT p.id FROM catalog.products p WHERE )sql" + where + R"sql(
        ORDER BY p.id DESC LIMIT )sql" + limit + R"sql(::int)
      SELECT )sql" + product_json_expr(View::admin) + R"sql(::text, '', page.id::text
      FROM page JOIN catalog.products p ON p.id = page.id
      ORDER BY page.id DESC)sql";
  return to_page(pq::exec(s, sql, params), q.limit);
}

Page list_low_stock(soci::session& s, const domain::LowStockQuery& q) {
  pq::Params params;
  std::string where = R"sql(v.on_hand - v.reserved <= )sql" + params.add(static_cast<std::int64_t>(q.threshold)) + "::int";
  if (q.after) {
    where += R"sql( AND (v.on_hand - v.reserved, v.id) > ()sql" + params.add(q.after->key) + "::int, " +
             params.add(q.after->id) + "::uuid)";
  }
  const std::string limit = params.add(static_cast<std::int64_t>(q.limit + 1));
  const std::string sql = std::string("SELECT ") + kVariantAdminJson + R"sql(::text,
             (v.on_hand - v.reserved)::text, v.id::text
      FROM catalog.variants v WHERE )sql" + where + R"sql(
      ORDER BY v.on_hand - v.reserved, v.id LIMIT )sql" + limit + "::int";
  return to_page(pq::exec(s, sql, params), q.limit);
}

namespace {

constexpr pq::Prepared kCategories{"catalog_categories_v1", R"sql(
    SELECT id::text, slug, name, parent_id::text FROM catalog.categories ORDER BY name, id)sql"};

std::vector<CategoryRow> category_rows(const pq::Result& r) {
  std::vector<CategoryRow> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back({r.string(i, 0), r.string(i, 1), r.string(i, 2), r.optional(i, 3)});
  return out;
}

}  // namespace

std::vector<CategoryRow> all_categories(soci::session& s) { return category_rows(pq::exec_prepared(s, kCategories)); }

asio::awaitable<std::vector<CategoryRow>> all_categories(platform::Database& db) {
  co_return category_rows(co_await pq::query(db, kCategories));
}

// ---------------------------------------------------------------------------------------------- writes

bool product_exists(soci::session& s, const std::string& id) {
  pq::Params params;
  params.add(id);
  return pq::exec(s, R"sql(SELECT EXISTS (SELECT 1 FROM catalog.products WHERE id = $1))sql", params).boolean(0, 0);
}

std::optional<ProductFields> lock_product(soci::session& s, const std::string& id) {
  pq::Params params;
  params.add(id);
  auto r = pq::exec(s, R"sql(SELECT title, slug, description, status FROM catalog.products WHERE id = $1 FOR UPDATE)sql",
                    params);
  if (r.rows() == 0) return std::nullopt;
  return ProductFields{r.string(0, 0), r.string(0, 1), r.string(0, 2), r.string(0, 3)};
}

namespace {
std::vector<std::string> taken(soci::session& s, const char* sql, const std::vector<std::string>& candidates) {
  pq::Params params;
  params.add(pq::array_literal(candidates));
  auto r = pq::exec(s, sql, params);
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.string(i, 0));
  return out;
}
}  // namespace

std::vector<std::string> taken_product_slugs(soci::session& s, const std::vector<std::string>& candidates) {
  return taken(s, R"sql(SELECT slug FROM catalog.products WHERE slug = ANY($1::text[]))sql", candidates);
}

std::vector<std::string> taken_category_slugs(soci::session& s, const std::vector<std::string>& candidates) {
  return taken(s, R"sql(SELECT slug FROM catalog.categories WHERE slug = ANY($1::text[]))sql", candidates);
}

void insert_product(soci::session& s, const std::string& id, const ProductFields& f) {
  pq::Params params;
  params.add(id);
  params.add(f.slug);
  params.add(f.title);
  params.add(f.description);
  params.add(f.status);
  pq::exec(s, R"sql(INSERT INTO catalog.products (id, slug, title, description, status)
                    VALUES ($1, $2, $3, $4, $5))sql",
           params);
}

void update_product(soci::session& s, const std::string& id, const ProductFields& f) {
  pq::Params params;
  params.add(id);
  params.add(f.slug);
  params.add(f.title);
  params.add(f.description);
  params.add(f.status);
  pq::exec(s, R"sql(UPDATE catalog.products
                    SET slug = $2, title = $3, description = $4, status = $5, updated_at = now()
                    WHERE id = $1)sql",
           params);
}

void replace_product_categories(soci::session& s, const std::string& product_id,
                                const std::vector<std::string>& category_ids) {
  pq::Params params;
  params.add(product_id);
  params.add(pq::array_literal(category_ids));
  pq::exec(s, R"sql(
      WITH gone AS (
        DELETE FROM catalog.product_categories
        WHERE product_id = $1 AND NOT (category_id = ANY($2::uuid[])))
      INSERT INTO catalog.product_categories (product_id, category_id)
      SELECT DISTINCT $1::uuid, c FROM unnest($2::uuid[]) AS c
      ON CONFLICT DO NOTHING)sql",
           params);
}

void refresh_price_summary(soci::session& s, const std::string& product_id) {
  static constexpr pq::Prepared kSql{"catalog_refresh_price_summary_v1", R"sql(
      UPDATE catalog.products p
      SET min_price = summary.lo, max_price = summary.hi, currency = summary.cur, updated_at = now()
      FROM (SELECT min(price) AS lo, max(price) AS hi, min(currency) AS cur
            FROM catalog.variants WHERE product_id = $1) AS summary
      WHERE p.id = $1)sql"};
  pq::Params params;
  params.add(product_id);
  pq::exec_prepared(s, kSql, params);
}

std::string insert_variant(soci::session& s, const std::string& id, const std::string& product_id,
                           const VariantFields& f) {
  pq::Params params;
  params.add(id);
  params.add(product_id);
  params.add(f.sku);
  params.add(f.title);
  params.add(f.options_json);
  params.add(f.price);
  params.add(f.currency);
  params.add(static_cast<std::int64_t>(f.on_hand.value_or(0)));
  const std::string sql = std::string(R"sql(
      INSERT INTO catalog.variants AS v (id, product_id, sku, title, options, price, currency, on_hand)
      VALUES ($1, $2, $3, $4, $5::jsonb, $6::bigint, $7, $8::int)
      RETURNING )sql") + kVariantAdminJson + "::text";
  return pq::exec(s, sql, params).string(0, 0);
}

std::optional<VariantRow> lock_variant(soci::session& s, const std::string& variant_id) {
  pq::Params params;
  params.add(variant_id);
  auto r = pq::exec(s, R"sql(
      SELECT product_id::text, sku, title, options::text, price, currency, on_hand, reserved
      FROM catalog.variants WHERE id = $1 FOR UPDATE)sql",
                    params);
  if (r.rows() == 0) return std::nullopt;
  VariantRow row;
  row.product_id = r.string(0, 0);
  row.fields.sku = r.string(0, 1);
  row.fields.title = r.string(0, 2);
  row.fields.options_json = r.string(0, 3);
  row.fields.price = r.integer(0, 4);
  row.fields.currency = r.string(0, 5);
  row.on_hand = static_cast<int>(r.integer(0, 6));
  row.reserved = static_cast<int>(r.integer(0, 7));
  row.fields.on_hand = row.on_hand;
  return row;
}

std::string update_variant(soci::session& s, const std::string& variant_id, const VariantFields& f, int on_hand) {
  pq::Params params;
  params.add(variant_id);
  params.add(f.sku);
  params.add(f.title);
  params.add(f.options_json);
  params.add(f.price);
  params.add(f.currency);
  params.add(static_cast<std::int64_t>(on_hand));
  const std::string sql = std::string(R"sql(
      UPDATE catalog.variants AS v
      SET sku = $2, title = $3, options = $4::jsonb, price = $5::bigint, currency = $6, on_hand = $7::int,
          updated_at = now()
      WHERE v.id = $1
      RETURNING )sql") + kVariantAdminJson + "::text";
  return pq::exec(s, sql, params).string(0, 0);
}

bool delete_variant(soci::session& s, const std::string& variant_id) {
  pq::Params params;
  params.add(variant_id);
  return pq::exec(s, R"sql(DELETE FROM catalog.variants WHERE id = $1)sql", params).affected_rows() > 0;
}

std::optional<std::string> variant_json(soci::session& s, const std::string& variant_id) {
  pq::Params params;
  params.add(variant_id);
  auto r = pq::exec_prepared(s, {"catalog_variant_admin_v1", variant_admin_sql().c_str()}, params);
  if (r.rows() == 0) return std::nullopt;
  return r.string(0, 0);
}

VariantLabel variant_label(soci::session& s, const std::string& variant_id) {
  pq::Params params;
  params.add(variant_id);
  auto r = pq::exec(s, R"sql(
      SELECT v.product_id::text, v.sku, p.title || ' — ' || v.title
      FROM catalog.variants v JOIN catalog.products p ON p.id = v.product_id WHERE v.id = $1)sql",
                    params);
  if (r.rows() == 0) return {};
  return {r.string(0, 0), r.string(0, 1), r.string(0, 2)};
}

std::optional<std::string> insert_image(soci::session& s, const ImageRow& image) {
  pq::Params params;
  params.add(image.id);
  params.add(image.product_id);
  params.add(image.key);
  params.add(image.content_type);
  params.add(image.size);
  params.add(image.sha256);
  params.add(image.alt);
  params.add(image.position ? std::optional<std::string>(std::to_string(*image.position)) : std::nullopt);
  const std::string sql = std::string(R"sql(
      INSERT INTO catalog.images AS i (id, product_id, key, content_type, size_bytes, sha256, alt, position)
      SELECT $1, p.id, $3, $4, $5::int, $6, $7,
             coalesce($8::int, (SELECT coalesce(max(position) + 1, 0) FROM catalog.images WHERE product_id = p.id))
      FROM catalog.products p WHERE p.id = $2
      RETURNING )sql") + kImageJson + "::text";
  auto r = pq::exec(s, sql, params);
  if (r.rows() == 0) return std::nullopt;
  return r.string(0, 0);
}

std::optional<std::string> delete_image(soci::session& s, const std::string& product_id, const std::string& image_id) {
  pq::Params params;
  params.add(image_id);
  params.add(product_id);
  auto r = pq::exec(s, R"sql(DELETE FROM catalog.images WHERE id = $1 AND product_id = $2 RETURNING key)sql", params);
  if (r.rows() == 0) return std::nullopt;
  return r.string(0, 0);
}

void lock_category_tree(soci::session& s) {
  pq::exec(s, R"sql(SELECT pg_advisory_xact_lock(hashtextextended('bazaar.catalog.categories', 0)))sql");
}

std::optional<CategoryRow> find_category(soci::session& s, const std::string& id) {
  pq::Params params;
  params.add(id);
  auto r = pq::exec(s, R"sql(SELECT id::text, slug, name, parent_id::text FROM catalog.categories WHERE id = $1)sql",
                    params);
  if (r.rows() == 0) return std::nullopt;
  return CategoryRow{r.string(0, 0), r.string(0, 1), r.string(0, 2), r.optional(0, 3)};
}

bool is_in_subtree(soci::session& s, const std::string& id, const std::string& candidate) {
  pq::Params params;
  params.add(id);
  params.add(candidate);
  auto r = pq::exec(s, R"sql(
      WITH RECURSIVE subtree AS (
        SELECT c.id FROM catalog.categories c WHERE c.id = $1
        UNION
        SELECT c.id FROM catalog.categories c JOIN subtree ON c.parent_id = subtree.id)
      SELECT EXISTS (SELECT 1 FROM subtree WHERE id = $2::uuid))sql",
                    params);
  return r.boolean(0, 0);
}

bool has_children(soci::session& s, const std::string& id) {
  pq::Params params;
  params.add(id);
  auto r = pq::exec(s, R"sql(SELECT EXISTS (SELECT 1 FROM catalog.categories WHERE parent_id = $1))sql", params);
  return r.boolean(0, 0);
}

void insert_category(soci::session& s, const CategoryRow& c) {
  pq::Params params;
  params.add(c.id);
  params.add(c.slug);
  params.add(c.name);
  params.add(c.parent_id);
  pq::exec(s, R"sql(INSERT INTO catalog.categories (id, slug, name, parent_id) VALUES ($1, $2, $3, $4::uuid))sql",
           params);
}

void update_category(soci::session& s, const CategoryRow& c) {
  pq::Params params;
  params.add(c.id);
  params.add(c.slug);
  params.add(c.name);
  params.add(c.parent_id);
  pq::exec(s, R"sql(UPDATE catalog.categories SET slug = $2, name = $3, parent_id = $4::uuid, updated_at = now()
                    WHERE id = $1)sql",
           params);
}

bool delete_category(soci::session& s, const std::string& id) {
  pq::Params params;
  params.add(id);
  return pq::exec(s, R"sql(DELETE FROM catalog.categories WHERE id = $1)sql", params).affected_rows() > 0;
}

}  // namespace bazaar::catalog::repo
