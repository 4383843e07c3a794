-- Catalog: categories (a tree), products with their variants and images, and stock reservations.
-- Money is bigint minor units plus a char(3) currency; stock invariants are CHECK constraints, so no code
-- path can oversell or drive stock negative.

CREATE TABLE catalog.categories (
  id         uuid PRIMARY KEY,
  slug       text        NOT NULL,
  name       text        NOT NULL,
  parent_id  uuid        REFERENCES catalog.categories (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT categories_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE UNIQUE INDEX categories_slug_key ON catalog.categories (slug);
CREATE INDEX categories_parent_idx ON catalog.categories (parent_id);

-- min_price/max_price/currency summarise the variants (NULL when there are none). They are maintained in
-- the same transaction as every variant write, and serve the price sorts and the price filters.
-- available_variants counts the variants with on_hand > reserved (kept by the triggers below), so that
-- in_stock=true|false is a column test instead of a probe of every candidate's variants.
CREATE TABLE catalog.products (
  id          uuid PRIMARY KEY,
  slug        text        NOT NULL,
  title       text        NOT NULL,
  description text        NOT NULL DEFAULT '',
  status      text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'archived')),
  min_price   bigint,
  max_price   bigint,
  currency    char(3),
  available_variants integer NOT NULL DEFAULT 0 CHECK (available_variants >= 0),
  search      tsvector    GENERATED ALWAYS AS (
                setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', description), 'B')
              ) STORED,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT products_price_summary CHECK (
    (min_price IS NULL) = (max_price IS NULL) AND (min_price IS NULL) = (currency IS NULL)
    AND min_price >= 0 AND min_price <= max_price)
);
CREATE UNIQUE INDEX products_slug_key ON catalog.products (slug);
CREATE INDEX products_search_idx ON catalog.products USING gin (search);
-- One index per sort, each led by status and ending in id, so that every keyset page is an index range
-- scan: newest (id desc), price_asc (min_price, id), price_desc (max_price desc, id desc, scanned
-- backwards), title (lower(title), id). Products without variants sort last in both price orders.
CREATE INDEX products_status_id_idx ON catalog.products (status, id);
CREATE INDEX products_status_min_price_idx
  ON catalog.products (status, (coalesce(min_price, 9223372036854775807)), id);
CREATE INDEX products_status_max_price_idx ON catalog.products (status, (coalesce(max_price, -1)), id);
CREATE INDEX products_status_title_idx ON catalog.products (status, lower(title), id);
-- Products whose variant prices straddle a bound (min_price < m <= max_price): an interval-stabbing search,
-- which the price sorts need when a price filter runs against their order (price_asc with min_price,
-- price_desc with max_price).
CREATE INDEX products_price_span_idx ON catalog.products USING gist (int8range(min_price, max_price, '[]'))
  WHERE status = 'published' AND min_price IS NOT NULL;
-- in_stock=false: the (few) published products with nothing available.
CREATE INDEX products_sold_out_idx ON catalog.products (id) WHERE status = 'published' AND available_variants = 0;

CREATE TABLE catalog.product_categories (
  product_id  uuid NOT NULL REFERENCES catalog.products (id) ON DELETE CASCADE,
  category_id uuid NOT NULL REFERENCES catalog.categories (id) ON DELETE CASCADE,
  PRIMARY KEY (product_id, category_id)
);
CREATE INDEX product_categories_category_idx ON catalog.product_categories (category_id, product_id);

CREATE TABLE catalog.variants (
  id         uuid PRIMARY KEY,
  product_id uuid        NOT NULL REFERENCES catalog.products (id) ON DELETE CASCADE,
  sku        text        NOT NULL,
  title      text        NOT NULL,
  options    jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
  price      bigint      NOT NULL CHECK (price >= 0),
  currency   char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  on_hand    integer     NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
  reserved   integer     NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT variants_reserved_within_on_hand CHECK (reserved >= 0 AND reserved <= on_hand)
);
CREATE UNIQUE INDEX variants_sku_key ON catalog.variants (sku);
CREATE INDEX variants_product_idx ON catalog.variants (product_id, id);
-- A price filter with both bounds probes a product's variants by price.
CREATE INDEX variants_product_price_idx ON catalog.variants (product_id, price);
-- The admin low-stock list: keyset over (available, id).
CREATE INDEX variants_available_idx ON catalog.variants ((on_hand - reserved), id);

-- products.available_variants follows every variant write, whichever statement makes it: statement-level
-- triggers over the transition tables, so a bulk insert costs one UPDATE and a stock change that does not
-- cross zero costs no product write at all.
CREATE FUNCTION catalog.count_inserted_variants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE catalog.products p SET available_variants = p.available_variants + d.n
  FROM (SELECT product_id, count(*) AS n FROM inserted_variants WHERE on_hand > reserved GROUP BY product_id) d
  WHERE p.id = d.product_id;
  RETURN NULL;
END $$;

CREATE FUNCTION catalog.count_updated_variants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE catalog.products p SET available_variants = p.available_variants + d.delta
  FROM (SELECT n.product_id, sum((n.on_hand > n.reserved)::int - (o.on_hand > o.reserved)::int) AS delta
        FROM new_variants n JOIN old_variants o ON o.id = n.id
        GROUP BY n.product_id) d
  WHERE p.id = d.product_id AND d.delta <> 0;
  RETURN NULL;
END $$;

CREATE FUNCTION catalog.count_deleted_variants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE catalog.products p SET available_variants = p.available_variants - d.n
  FROM (SELECT product_id, count(*) AS n FROM deleted_variants WHERE on_hand > reserved GROUP BY product_id) d
  WHERE p.id = d.product_id;
  RETURN NULL;
END $$;

CREATE TRIGGER variants_count_inserted AFTER INSERT ON catalog.variants
  REFERENCING NEW TABLE AS inserted_variants FOR EACH STATEMENT EXECUTE FUNCTION catalog.count_inserted_variants();
CREATE TRIGGER variants_count_updated AFTER UPDATE ON catalog.variants
  REFERENCING OLD TABLE AS old_variants NEW TABLE AS new_variants
  FOR EACH STATEMENT EXECUTE FUNCTION catalog.count_updated_variants();
CREATE TRIGGER variants_count_deleted AFTER DELETE ON catalog.variants
  REFERENCING OLD TABLE AS deleted_variants FOR EACH STATEMENT EXECUTE FUNCTION catalog.count_deleted_variants();

-- One row per (order, variant). held → confirmed (stock left on_hand) or released (back to availability);
-- confirmed → released by a restock. Held rows past expires_at are released by the sweeper.
CREATE TABLE catalog.reservations (
  order_id   uuid        NOT NULL,
  variant_id uuid        NOT NULL REFERENCES catalog.variants (id) ON DELETE CASCADE,
  quantity   integer     NOT NULL CHECK (quantity > 0),
  status     text        NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'confirmed', 'released')),
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (order_id, variant_id)
);
CREATE INDEX reservations_expiry_idx ON catalog.reservations (expires_at) WHERE status = 'held';
CREATE INDEX reservations_variant_idx ON catalog.reservations (variant_id);

-- Uploaded images: the bytes live in media storage under `key` (uuid + extension); sha256 is the ETag.
CREATE TABLE catalog.images (
  id           uuid PRIMARY KEY,
  product_id   uuid        NOT NULL REFERENCES catalog.products (id) ON DELETE CASCADE,
  key          text        NOT NULL,
  content_type text        NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp')),
  size_bytes   integer     NOT NULL CHECK (size_bytes > 0),
  sha256       text        NOT NULL,
  alt          text        NOT NULL DEFAULT '',
  position     integer     NOT NULL DEFAULT 0 CHECK (position >= 0),
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX images_key_key ON catalog.images (key);
CREATE INDEX images_product_idx ON catalog.images (product_id, position, id);
