// The demo catalog (`bazaar seed-demo`): batches of products, their category links and variants, each
// batch one multi-row INSERT ... SELECT FROM unnest(array parameters) — thousands of rows per round trip.
#include "repository.hpp"

#include <platform/pq.hpp>

namespace bazaar::catalog::repo {

namespace pq = platform::pq;

bool demo_catalog_exists(soci::session& s, const std::string& marker_sku) {
  pq::Params params;
  params.add(marker_sku);
  return pq::exec(s, R"sql(SELECT EXISTS (SELECT 1 FROM catalog.variants WHERE sku = $1))sql", params).boolean(0, 0);
}

void insert_seed_categories(soci::session& s, const std::vector<SeedCategory>& categories) {
  std::vector<std::string> ids, slugs, names, parents;
  for (const auto& c : categories) {
    ids.push_back(c.id);
    slugs.push_back(c.slug);
    names.push_back(c.name);
    parents.push_back(c.parent_id.value_or(""));
  }
  pq::Params params;
  params.add(pq::array_literal(ids));
  params.add(pq::array_literal(slugs));
  params.add(pq::array_literal(names));
  params.add(pq::array_literal(parents));
  // Foreign keys are checked at the end of the statement, so parents and children can come in any order.
  pq::exec(s, R"sql(
      INSERT INTO catalog.categories (id, slug, name, parent_id)
      SELECT u.id, u.slug, u.name, NULLIF(u.parent, '')::uuid
      FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS u(id, slug, name, parent))sql",
           params);
}

void insert_seed_batch(soci::session& s, const std::vector<SeedProduct>& products,
                       const std::vector<SeedVariant>& variants, const std::string& currency) {
  std::vector<std::string> p_ids, p_slugs, p_titles, p_descriptions, p_statuses, p_categories;
  std::vector<std::int64_t> p_min, p_max;
  for (const auto& p : products) {
    p_ids.push_back(p.id);
    p_slugs.push_back(p.slug);
    p_titles.push_back(p.title);
    p_descriptions.push_back(p.description);
    p_statuses.push_back(p.status);
    p_categories.push_back(p.category_id);
    p_min.push_back(p.min_price);
    p_max.push_back(p.max_price);
  }
  std::vector<std::string> v_ids, v_products, v_skus, v_titles, v_options;
  std::vector<std::int64_t> v_prices, v_on_hand;
  for (const auto& v : variants) {
    v_ids.push_back(v.id);
    v_products.push_back(v.product_id);
    v_skus.push_back(v.sku);
    v_titles.push_back(v.title);
    v_options.push_back(v.options_json);
    v_prices.push_back(v.price);
    v_on_hand.push_back(v.on_hand);
  }
  pq::Params params;
  params.add(pq::array_literal(p_ids));           // $1
  params.add(pq::array_literal(p_slugs));         // $2
  params.add(pq::array_literal(p_titles));        // $3
  params.add(pq::array_literal(p_descriptions));  // $4
  params.add(pq::array_literal(p_statuses));      // $5
  params.add(pq::array_literal(p_min));           // $6
  params.add(pq::array_literal(p_max));           // $7
  params.add(currency);                           // $8
  params.add(pq::array_literal(p_categories));    // $9
  params.add(pq::array_literal(v_ids));           // $10
  params.add(pq::array_literal(v_products));      // $11
  params.add(pq::array_literal(v_skus));          // $12
  params.add(pq::array_literal(v_titles));        // $13
  params.add(pq::array_literal(v_options));       // $14
  params.add(pq::array_literal(v_prices));        // $15
  params.add(pq::array_literal(v_on_hand));       // $16
  pq::exec(s, R"sql(
      WITH new_products AS (
        INSERT INTO catalog.products (id, slug, title, description, status, min_price, max_price, currency)
        SELECT u.id, u.slug, u.title, u.description, u.status, u.lo, u.hi, $8
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[])
             AS u(id, slug, title, description, status, lo, hi)
      ),
      links AS (
        INSERT INTO catalog.product_categories (product_id, category_id)
        SELECT u.product_id, u.category_id FROM unnest($1::uuid[], $9::uuid[]) AS u(product_id, category_id)
      )
      INSERT INTO catalog.variants (id, product_id, sku, title, options, price, currency, on_hand)
      SELECT u.id, u.product_id, u.sku, u.title, u.options::jsonb, u.price, $8, u.on_hand
      FROM unnest($10::uuid[], $11::uuid[], $12::text[], $13::text[], $14::text[], $15::bigint[], $16::int[])
           AS u(id, product_id, sku, title, options, price, on_hand))sql",
           params);
}

}  // namespace bazaar::catalog::repo
