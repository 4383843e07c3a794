-- Accounts: users, their refresh-token families, one-time tokens (email verification, password reset)
-- and saved addresses. Secrets are stored only as SHA-256 hashes.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE accounts.users (
  id             uuid PRIMARY KEY,
  email          text        NOT NULL,
  password_hash  text        NOT NULL,
  first_name     text        NOT NULL,
  last_name      text        NOT NULL,
  phone          text,
  role           text        NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'admin')),
  status         text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  email_verified boolean     NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email)) AND email <> '')
);
CREATE UNIQUE INDEX users_email_key ON accounts.users (email);
-- Admin search (q) matches substrings of email and names.
CREATE INDEX users_search_trgm_idx ON accounts.users
  USING gin ((email || ' ' || first_name || ' ' || last_name) gin_trgm_ops);
CREATE INDEX users_role_status_idx ON accounts.users (role, status);

CREATE TABLE accounts.refresh_tokens (
  id          uuid PRIMARY KEY,
  user_id     uuid        NOT NULL REFERENCES accounts.users (id) ON DELETE CASCADE,
  family_id   uuid        NOT NULL,
  token_hash  text        NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  revoked_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON accounts.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON accounts.refresh_tokens (user_id);

CREATE TABLE accounts.one_time_tokens (
  token_hash text PRIMARY KEY,
  user_id    uuid        NOT NULL REFERENCES accounts.users (id) ON DELETE CASCADE,
  purpose    text        NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
  expires_at timestamptz NOT NULL,
  used_at    timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX one_time_tokens_user_idx ON accounts.one_time_tokens (user_id, purpose);

CREATE TABLE accounts.addresses (
  id                  uuid PRIMARY KEY,
  user_id             uuid        NOT NULL REFERENCES accounts.users (id) ON DELETE CASCADE,
  label               text,
  first_name          text        NOT NULL,
  last_name           text        NOT NULL,
  line1               text        NOT NULL,
  line2               text,
  city                text        NOT NULL,
  postal_code         text        NOT NULL,
  region              text,
  country             char(2)     NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
  phone               text,
  is_default_shipping boolean     NOT NULL DEFAULT false,
  created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_user_idx ON accounts.addresses (user_id, id);
-- At most one default shipping address per user.
CREATE UNIQUE INDEX addresses_one_default_idx ON accounts.addresses (user_id) WHERE is_default_shipping;
