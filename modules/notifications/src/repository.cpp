#include "repository.hpp"

#include <platform/db.hpp>
#include <platform/pq.hpp>

namespace bazaar::notifications::repo {

using platform::Nullable;
using platform::use_nullable;
namespace pq = platform::pq;

namespace {

constexpr const char* kTemplateColumns = R"sql(
    name, channel, subject, body, body_html,
    to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), updated_by)sql";

TemplateRow template_from(const pq::Result& r, int i) {
  return {r.string(i, 0),   r.string(i, 1), r.string(i, 2), r.string(i, 3),
          r.optional(i, 4), r.string(i, 5), r.string(i, 6)};
}

constexpr const char* kDeliveryColumns = R"sql(
    id::text, event_id::text, event_type, channel, recipient, recipient_name, user_id::text, template,
    subject, body_text, body_html, payload::text, status, attempts, last_error,
    to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    to_char(sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))sql";

DeliveryRow delivery_from(const pq::Result& r, int i) {
  DeliveryRow d;
  d.id = r.string(i, 0);
  d.event_id = r.string(i, 1);
  d.event_type = r.string(i, 2);
  d.channel = r.string(i, 3);
  d.recipient = r.string(i, 4);
  d.recipient_name = r.optional(i, 5);
  d.user_id = r.optional(i, 6);
  d.template_name = r.string(i, 7);
  d.subject = r.optional(i, 8);
  d.body_text = r.optional(i, 9);
  d.body_html = r.optional(i, 10);
  d.payload = r.string(i, 11);
  d.status = r.string(i, 12);
  d.attempts = static_cast<int>(r.integer(i, 13));
  d.last_error = r.optional(i, 14);
  d.next_attempt_at = r.optional(i, 15);
  d.created_at = r.string(i, 16);
  d.sent_at = r.optional(i, 17);
  return d;
}

std::vector<DeliveryRow> deliveries_from(const pq::Result& r) {
  std::vector<DeliveryRow> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(delivery_from(r, i));
  return out;
}

constexpr const char* kMessageColumns = R"sql(
    id::text, type, title, body, (read_at IS NOT NULL)::int,
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))sql";

MessageRow message_from(const soci::row& r) {
  return {r.get<std::string>(0), r.get<std::string>(1), r.get<std::string>(2),
          r.get<std::string>(3), r.get<int>(4) != 0,    r.get<std::string>(5)};
}

}  // namespace

std::optional<TemplateRow> find_template(soci::session& s, const std::string& name, const std::string& channel) {
  // Every notification renders one: prepared once per connection.
  static const std::string sql =
      std::string("SELECT") + kTemplateColumns + " FROM notifications.templates WHERE name = $1 AND channel = $2";
  static const pq::Prepared kSql{"notifications_find_template_v1", sql.c_str()};
  pq::Params p;
  p.add(name);
  p.add(channel);
  const auto r = pq::exec_prepared(s, kSql, p);
  if (r.rows() == 0) return std::nullopt;
  return template_from(r, 0);
}

std::vector<TemplateRow> list_templates(soci::session& s) {
  const auto r = pq::exec(s, std::string("SELECT") + kTemplateColumns +
                                 " FROM notifications.templates ORDER BY name, channel");
  std::vector<TemplateRow> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(template_from(r, i));
  return out;
}

TemplateRow save_template(soci::session& s, const TemplateRow& t) {
  pq::Params p;
  p.add(t.name);
  p.add(t.channel);
  p.add(t.subject);
  p.add(t.body);
  p.add(t.body_html);
  p.add(t.updated_by);
  const auto r = pq::exec(s, std::string(R"sql(
      INSERT INTO notifications.templates (name, channel, subject, body, body_html, updated_at, updated_by)
      VALUES ($1, $2, $3, $4, $5, now(), $6)
      ON CONFLICT (name, channel) DO UPDATE
      SET subject = EXCLUDED.subject, body = EXCLUDED.body, body_html = EXCLUDED.body_html,
          updated_at = now(), updated_by = EXCLUDED.updated_by
      RETURNING)sql") + kTemplateColumns, p);
  return template_from(r, 0);
}

bool insert_delivery(soci::session& s, const NewDelivery& d) {
  // Rendering failures are not retried by the worker (next_attempt_at NULL): an admin fixes the template
  // and retries. In-app messages are stored, which is their delivery. Runs for every event and channel:
  // prepared once per connection, one round trip.
  static constexpr pq::Prepared kSql{"notifications_insert_delivery_v1", R"sql(
      INSERT INTO notifications.deliveries (id, event_id, event_type, channel, recipient, recipient_name, user_id,
                                            template, subject, body_text, body_html, payload, status, last_error,
                                            next_attempt_at, sent_at)
      VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7::uuid, $8, $9, $10, $11, $12::jsonb, $13, $14,
              CASE WHEN $13::text = 'pending' THEN now() END, CASE WHEN $13::text = 'sent' THEN now() END)
      ON CONFLICT (event_id, channel, recipient, template) DO NOTHING)sql"};
  pq::Params p;
  p.add(d.id);
  p.add(d.event_id);
  p.add(d.event_type);
  p.add(d.channel);
  p.add(d.recipient);
  p.add(d.recipient_name);
  p.add(d.user_id);
  p.add(d.template_name);
  p.add(d.subject);
  p.add(d.body_text);
  p.add(d.body_html);
  p.add(d.payload);
  p.add(d.status);
  p.add(d.last_error);
  return pq::exec_prepared(s, kSql, p).affected_rows() > 0;
}

void insert_message(soci::session& s, const std::string& id, const std::string& user_id, const std::string& type,
                    const std::string& title, const std::string& body) {
  s << R"sql(
      INSERT INTO notifications.messages (id, user_id, type, title, body)
      VALUES (CAST(:id AS uuid), CAST(:user AS uuid), :type, :title, :body)
      ON CONFLICT (id) DO NOTHING)sql",
      soci::use(id, "id"), soci::use(user_id, "user"), soci::use(type, "type"), soci::use(title, "title"),
      soci::use(body, "body");
}

Claimed claim_due(soci::session& s, const std::string& channel, int batch, int lease_seconds,
                  const std::string& due_by) {
  // The worker's every pass, one round trip. Planned for every call, not prepared: deliveries is a queue
  // that starts empty and grows fast, and a generic plan made while it was small (a sequential scan) would
  // be kept until the next ANALYZE (measured at 12 ms a claim instead of well under 1).
  static const std::string sql = std::string(R"sql(
      UPDATE notifications.deliveries SET locked_until = now() + make_interval(secs => $1::int)
      WHERE id IN (
        SELECT id FROM notifications.deliveries
        WHERE status IN ('pending', 'failed')
          AND next_attempt_at <= LEAST(now(), CAST(NULLIF($2, '') AS timestamptz))
          AND (locked_until IS NULL OR locked_until < now())
          AND channel = $3
        ORDER BY next_attempt_at, id
        LIMIT $4::int
        FOR UPDATE SKIP LOCKED)
      RETURNING )sql") + kDeliveryColumns + ", now()::text";
  pq::Params p;
  p.add(std::int64_t{lease_seconds});
  p.add(due_by);
  p.add(channel);
  p.add(std::int64_t{batch});
  auto r = pq::exec(s, sql, p);
  Claimed out;
  for (int i = 0; i < r.rows(); ++i) {
    out.rows.push_back(delivery_from(r, i));
    out.db_now = r.string(i, 18);
  }
  return out;
}

void mark_sent(soci::session& s, const std::string& id) {
  // Every notification sent: prepared once per connection.
  static constexpr pq::Prepared kSql{"notifications_mark_sent_v1", R"sql(
      UPDATE notifications.deliveries
      SET status = 'sent', attempts = attempts + 1, sent_at = now(), last_error = NULL, locked_until = NULL,
          next_attempt_at = NULL
      WHERE id = $1::uuid)sql"};
  pq::Params p;
  p.add(id);
  pq::exec_prepared(s, kSql, p);
}

std::string mark_failed(soci::session& s, const std::string& id, const std::string& error, int max_attempts,
                        long long backoff_base_ms) {
  std::string status;
  const double base = static_cast<double>(backoff_base_ms);
  // In SET, `attempts` is the value before this attempt: attempt n = attempts + 1 waits base·2^(n-1).
  s << R"sql(
      UPDATE notifications.deliveries
      SET attempts = attempts + 1,
          status = CASE WHEN attempts + 1 >= :max THEN 'dead' ELSE 'failed' END,
          last_error = :error,
          locked_until = NULL,
          next_attempt_at = CASE WHEN attempts + 1 >= :max THEN NULL
                                 ELSE now() + make_interval(secs => LEAST(:base * power(2, attempts) / 1000.0, 21600)) END
      WHERE id = CAST(:id AS uuid)
      RETURNING status)sql",
      soci::use(max_attempts, "max"), soci::use(error, "error"), soci::use(base, "base"), soci::use(id, "id"),
      soci::into(status);
  return status;
}

void release(soci::session& s, const std::string& id, long long delay_ms) {
  const double delay = static_cast<double>(delay_ms);
  s << R"sql(
      UPDATE notifications.deliveries
      SET locked_until = NULL, next_attempt_at = now() + make_interval(secs => :delay / 1000.0)
      WHERE id = CAST(:id AS uuid) AND status IN ('pending', 'failed'))sql",
      soci::use(delay, "delay"), soci::use(id, "id");
}

std::vector<DeliveryRow> list_deliveries(soci::session& s, const DeliveryFilter& f) {
  pq::Params p;
  p.add(f.status);
  p.add(f.channel);
  p.add(f.after_id);
  p.add(std::int64_t{f.limit});
  return deliveries_from(pq::exec(s, std::string("SELECT ") + kDeliveryColumns + R"sql(
      FROM notifications.deliveries
      WHERE ($1 = '' OR status = $1)
        AND ($2 = '' OR channel = $2)
        AND ($3 = '' OR id < CAST(NULLIF($3, '') AS uuid))
      ORDER BY id DESC LIMIT $4::int)sql", p));
}

std::optional<DeliveryRow> find_delivery(soci::session& s, const std::string& id, bool for_update) {
  pq::Params p;
  p.add(id);
  auto r = pq::exec(s, std::string("SELECT ") + kDeliveryColumns +
                           R"sql( FROM notifications.deliveries WHERE id = $1::uuid)sql" +
                           (for_update ? " FOR UPDATE" : ""),
                    p);
  if (r.rows() == 0) return std::nullopt;
  return delivery_from(r, 0);
}

void set_rendered(soci::session& s, const std::string& id, const std::string& subject, const std::string& text,
                  const std::optional<std::string>& html) {
  Nullable h(html);
  s << R"sql(
      UPDATE notifications.deliveries SET subject = :subject, body_text = :text, body_html = :html
      WHERE id = CAST(:id AS uuid))sql",
      soci::use(subject, "subject"), soci::use(text, "text"), use_nullable(h, "html"), soci::use(id, "id");
}

void reset_for_retry(soci::session& s, const std::string& id) {
  // locked_until is kept: a send in flight finishes (and records) before anyone claims the row again.
  s << R"sql(
      UPDATE notifications.deliveries
      SET status = 'pending', attempts = 0, last_error = NULL, next_attempt_at = now(), sent_at = NULL
      WHERE id = CAST(:id AS uuid))sql",
      soci::use(id, "id");
}

std::vector<MessageRow> list_messages(soci::session& s, const std::string& user_id, bool unread_only,
                                      const std::string& after_id, int limit) {
  std::vector<MessageRow> out;
  const int unread = unread_only ? 1 : 0;
  soci::rowset<soci::row> rows = (s.prepare << "SELECT " << kMessageColumns << R"sql(
      FROM notifications.messages
      WHERE user_id = CAST(:user AS uuid)
        AND (:unread = 0 OR read_at IS NULL)
        AND (:after = '' OR id < CAST(NULLIF(:after, '') AS uuid))
      ORDER BY id DESC LIMIT :limit)sql",
                                  soci::use(user_id, "user"), soci::use(unread, "unread"), soci::use(after_id, "after"),
                                  soci::use(limit, "limit"));
  for (const auto& r : rows) out.push_back(message_from(r));
  return out;
}

bool mark_read(soci::session& s, const std::string& user_id, const std::string& id) {
  int found = 0;
  // One statement: marks it (once — the first read time stays) and tells whether it is the caller's.
  s << R"sql(
      WITH target AS (
        SELECT id FROM notifications.messages WHERE id = CAST(:id AS uuid) AND user_id = CAST(:user AS uuid)),
      marked AS (
        UPDATE notifications.messages SET read_at = now()
        WHERE id IN (SELECT id FROM target) AND read_at IS NULL)
      SELECT count(*) FROM target)sql",
      soci::use(id, "id"), soci::use(user_id, "user"), soci::into(found);
  return found > 0;
}

std::vector<DeliveryRow> deliveries_of_user(soci::session& s, const std::string& user_id) {
  pq::Params p;
  p.add(user_id);
  return deliveries_from(pq::exec(s, std::string("SELECT ") + kDeliveryColumns + R"sql(
      FROM notifications.deliveries WHERE user_id = $1::uuid ORDER BY id)sql", p));
}

void erase_user(soci::session& s, const std::string& user_id) {
  s << "DELETE FROM notifications.messages WHERE user_id = CAST(:user AS uuid)", soci::use(user_id, "user");
  s << R"sql(
      UPDATE notifications.deliveries
      SET recipient = 'redacted:' || id::text, recipient_name = NULL, user_id = NULL,
          subject = NULL, body_text = NULL, body_html = NULL, payload = '{}'::jsonb,
          last_error = CASE WHEN status IN ('pending', 'failed') THEN 'not sent: the recipient deleted their account'
                            ELSE last_error END,
          status = CASE WHEN status IN ('pending', 'failed') THEN 'dead' ELSE status END,
          next_attempt_at = NULL
      WHERE user_id = CAST(:user AS uuid))sql",
      soci::use(user_id, "user");
}

long long purge_finished_deliveries(soci::session& s, int days, int batch) {
  // The status list matches deliveries_finished_idx's predicate, so the inner scan reads that index in
  // order. `= ANY(ARRAY(...))` rather than `IN (...)`: the ids come from an InitPlan and are deleted
  // through the primary key, where a semi-join may be planned as a full scan of the table per batch.
  soci::statement st = (s.prepare << R"sql(
      DELETE FROM notifications.deliveries
      WHERE id = ANY(ARRAY(
        SELECT id FROM notifications.deliveries
        WHERE status IN ('sent', 'dead') AND created_at < now() - make_interval(days => :days)
        ORDER BY created_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED)))sql",
                        soci::use(days, "days"), soci::use(batch, "batch"));
  st.execute(true);
  return st.get_affected_rows();
}

long long purge_read_messages(soci::session& s, int days, int batch) {
  soci::statement st = (s.prepare << R"sql(
      DELETE FROM notifications.messages
      WHERE id = ANY(ARRAY(
        SELECT id FROM notifications.messages
        WHERE read_at < now() - make_interval(days => :days)
        ORDER BY read_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED)))sql",
                        soci::use(days, "days"), soci::use(batch, "batch"));
  st.execute(true);
  return st.get_affected_rows();
}

void insert_fanout(soci::session& s, const FanoutRow& f) {
  s << R"sql(
      INSERT INTO notifications.fanouts (event_id, event_type, audience, template, context)
      VALUES (CAST(:event AS uuid), :type, :audience, :template, CAST(:context AS jsonb))
      ON CONFLICT (event_id, audience, template) DO NOTHING)sql",
      soci::use(f.event_id, "event"), soci::use(f.event_type, "type"), soci::use(f.audience, "audience"),
      soci::use(f.template_name, "template"), soci::use(f.context, "context");
}

std::vector<FanoutRow> claim_fanouts(soci::session& s, int batch, int lease_seconds) {
  std::vector<FanoutRow> out;
  soci::rowset<soci::row> rows = (s.prepare << R"sql(
      UPDATE notifications.fanouts SET locked_until = now() + make_interval(secs => :lease)
      WHERE (event_id, audience, template) IN (
        SELECT event_id, audience, template FROM notifications.fanouts
        WHERE locked_until IS NULL OR locked_until < now()
        ORDER BY created_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED)
      RETURNING event_id::text, event_type, audience, template, context::text)sql",
                                  soci::use(lease_seconds, "lease"), soci::use(batch, "batch"));
  for (const auto& r : rows) {
    out.push_back({r.get<std::string>(0), r.get<std::string>(1), r.get<std::string>(2), r.get<std::string>(3),
                   r.get<std::string>(4)});
  }
  return out;
}

void delete_fanout(soci::session& s, const FanoutRow& f) {
  s << R"sql(
      DELETE FROM notifications.fanouts
      WHERE event_id = CAST(:event AS uuid) AND audience = :audience AND template = :template)sql",
      soci::use(f.event_id, "event"), soci::use(f.audience, "audience"), soci::use(f.template_name, "template");
}

}  // namespace bazaar::notifications::repo
