-- Platform tables: the event outbox and per-subscriber inbox, idempotency keys, the admin audit log.
-- (platform.schema_migrations is created by the migration runner itself, before any file runs.)

CREATE TABLE platform.outbox (
  id              uuid PRIMARY KEY,
  type            text        NOT NULL,
  version         integer     NOT NULL DEFAULT 1,
  aggregate_id    text        NOT NULL DEFAULT '',
  payload         jsonb       NOT NULL,
  occurred_at     timestamptz NOT NULL DEFAULT now(),
  status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  locked_until    timestamptz,
  last_error      text,
  delivered_at    timestamptz
);
-- The dispatcher's claim query reads only due, pending rows.
CREATE INDEX outbox_due_idx ON platform.outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_status_idx ON platform.outbox (status, occurred_at);

-- One row per (subscriber, event) handled: written in the subscriber's own transaction, so a redelivered
-- event is skipped and a failed handler leaves no row.
CREATE TABLE platform.inbox (
  subscriber   text        NOT NULL,
  event_id     uuid        NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subscriber, event_id)
);

-- Per-subscriber delivery state, for the admin view of failures.
CREATE TABLE platform.deliveries (
  event_id   uuid        NOT NULL REFERENCES platform.outbox (id) ON DELETE CASCADE,
  subscriber text        NOT NULL,
  status     text        NOT NULL CHECK (status IN ('failed', 'dead', 'done')),
  attempts   integer     NOT NULL DEFAULT 0,
  last_error text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (event_id, subscriber)
);

CREATE TABLE platform.idempotency_keys (
  scope           text        NOT NULL,
  key             text        NOT NULL,
  request_hash    text        NOT NULL,
  status          text        NOT NULL CHECK (status IN ('in_progress', 'done')),
  response_status integer,
  response_body   text,
  response_type   text,
  locked_until    timestamptz NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON platform.idempotency_keys (created_at);

CREATE TABLE platform.audit_log (
  id          uuid PRIMARY KEY,
  actor_id    text        NOT NULL,
  action      text        NOT NULL,
  target_type text        NOT NULL,
  target_id   text        NOT NULL,
  details     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  request_id  text        NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_actor_idx ON platform.audit_log (actor_id, id DESC);
