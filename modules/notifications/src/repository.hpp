#pragma once
// Every SQL statement of the notifications module (schema `notifications`).
#include <soci/soci.h>

#include <optional>
#include <string>
#include <vector>

namespace bazaar::notifications::repo {

struct TemplateRow {
  std::string name;
  std::string channel;
  std::string subject;
  std::string body;
  std::optional<std::string> body_html;
  std::string updated_at;
  std::string updated_by;
};

std::optional<TemplateRow> find_template(soci::session& s, const std::string& name, const std::string& channel);
std::vector<TemplateRow> list_templates(soci::session& s);
TemplateRow save_template(soci::session& s, const TemplateRow& t);  // upsert; returns the stored row

struct NewDelivery {
  std::string id;
  std::string event_id;
  std::string event_type;
  std::string channel;
  std::string recipient;
  std::optional<std::string> recipient_name;
  std::optional<std::string> user_id;
  std::string template_name;
  std::optional<std::string> subject;
  std::optional<std::string> body_text;
  std::optional<std::string> body_html;
  std::string payload = "{}";      // JSON text: the render context, or the event for webhooks
  std::string status = "pending";  // pending | sent | failed
  std::optional<std::string> last_error;
};

// False when the (event, channel, recipient, template) delivery exists already: a redelivered event.
bool insert_delivery(soci::session& s, const NewDelivery& d);
void insert_message(soci::session& s, const std::string& id, const std::string& user_id, const std::string& type,
                    const std::string& title, const std::string& body);

struct DeliveryRow {
  std::string id;
  std::string event_id;
  std::string event_type;
  std::string channel;
  std::string recipient;
  std::optional<std::string> recipient_name;
  std::optional<std::string> user_id;
  std::string template_name;
  std::optional<std::string> subject;
  std::optional<std::string> body_text;
  std::optional<std::string> body_html;
  std::string payload;
  std::string status;
  int attempts = 0;
  std::optional<std::string> last_error;
  std::optional<std::string> next_attempt_at;
  std::string created_at;
  std::optional<std::string> sent_at;
};

struct Claimed {
  std::vector<DeliveryRow> rows;
  std::string db_now;  // the database's time of the claim, full precision
};
// Claims up to `batch` due deliveries of `channel` (email | webhook) for `lease_seconds` (FOR UPDATE SKIP
// LOCKED, so instances share the work; a crashed sender's claim simply expires). `due_by` (a timestamp
// from an earlier claim, or "") keeps rows that failed again meanwhile for the next pass.
Claimed claim_due(soci::session& s, const std::string& channel, int batch, int lease_seconds,
                  const std::string& due_by);
void mark_sent(soci::session& s, const std::string& id);
// Counts the attempt; 'dead' after max_attempts, else 'failed' and due again after base·2^(n-1) (≤ 6 h).
// Returns the new status.
std::string mark_failed(soci::session& s, const std::string& id, const std::string& error, int max_attempts,
                        long long backoff_base_ms);
// Gives a claimed row back without counting an attempt (its destination is down for now).
void release(soci::session& s, const std::string& id, long long delay_ms);

struct DeliveryFilter {
  std::string status;   // "" = any
  std::string channel;  // "" = any
  std::string after_id;
  int limit = 21;
};
std::vector<DeliveryRow> list_deliveries(soci::session& s, const DeliveryFilter& f);
std::optional<DeliveryRow> find_delivery(soci::session& s, const std::string& id, bool for_update = false);
void set_rendered(soci::session& s, const std::string& id, const std::string& subject, const std::string& text,
                  const std::optional<std::string>& html);
void reset_for_retry(soci::session& s, const std::string& id);

struct MessageRow {
  std::string id;
  std::string type;
  std::string title;
  std::string body;
  bool read = false;
  std::string created_at;
};
std::vector<MessageRow> list_messages(soci::session& s, const std::string& user_id, bool unread_only,
                                      const std::string& after_id, int limit);
// False when no message `id` belongs to `user_id`.
bool mark_read(soci::session& s, const std::string& user_id, const std::string& id);
std::vector<DeliveryRow> deliveries_of_user(soci::session& s, const std::string& user_id);
// Deletes the user's in-app messages and strips the personal data from their deliveries (recipient,
// names, rendered bodies, context); those not yet sent are never sent.
void erase_user(soci::session& s, const std::string& user_id);

// Retention: each deletes at most `batch` rows, oldest first, skipping rows another transaction holds
// (an admin retry), and returns how many it deleted. Deliveries: sent or dead, created more than `days`
// days ago (pending and failed ones wait for the worker or an admin). Messages: read more than `days`
// days ago (unread ones stay).
long long purge_finished_deliveries(soci::session& s, int days, int batch);
long long purge_read_messages(soci::session& s, int days, int batch);

struct FanoutRow {
  std::string event_id;
  std::string event_type;
  std::string audience;  // "admins"
  std::string template_name;
  std::string context;  // JSON text
};
void insert_fanout(soci::session& s, const FanoutRow& f);
std::vector<FanoutRow> claim_fanouts(soci::session& s, int batch, int lease_seconds);
void delete_fanout(soci::session& s, const FanoutRow& f);

}  // namespace bazaar::notifications::repo
