-- GET /api/v1/products?limit=20 with the cache off: the one statement the endpoint runs (prepared once per
-- connection): the first page, newest first, 21 rows (the extra row tells whether there is a next page).
-- Generated from the SQL in modules/catalog/src/repository.cpp (list_products, no filters).
\set lim 21
WITH page AS (SELECT p.id, '' AS sort_key FROM catalog.products p WHERE p.status = 'published' ORDER BY p.id DESC LIMIT :lim::int)
      SELECT json_build_object(
    'id', p.id, 'slug', p.slug, 'title', p.title, 'description', p.description, 'status', p.status,
    'category_ids', coalesce((SELECT json_agg(pc.category_id ORDER BY pc.category_id)
                              FROM catalog.product_categories pc WHERE pc.product_id = p.id), '[]'::json),
    'images', coalesce((SELECT json_agg(json_build_object(
    'id', i.id, 'url', '/media/' || i.key, 'alt', i.alt, 'position', i.position) ORDER BY i.position, i.id)
                        FROM catalog.images i WHERE i.product_id = p.id), '[]'::json),
    'variants', coalesce((SELECT json_agg(json_build_object(
    'id', v.id, 'sku', v.sku, 'title', v.title, 'options', v.options,
    'price', json_build_object('amount', v.price, 'currency', v.currency),
    'available', greatest(v.on_hand - v.reserved, 0)) ORDER BY v.id)
                          FROM catalog.variants v WHERE v.product_id = p.id), '[]'::json),
    'price_range', CASE WHEN p.min_price IS NULL THEN NULL ELSE json_build_object(
        'min', json_build_object('amount', p.min_price, 'currency', p.currency),
        'max', json_build_object('amount', p.max_price, 'currency', p.currency)) END,
    'created_at', to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"'),
    'updated_at', to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.MS"Z"'))::text, page.sort_key::text, page.id::text
      FROM page JOIN catalog.products p ON p.id = page.id
      ORDER BY page.id DESC;
