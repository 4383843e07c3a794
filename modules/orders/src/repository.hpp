#pragma once
// All of the orders module's SQL.
#include <orders/events.hpp>

#include <platform/db.hpp>
#include <platform/pq.hpp>

#include <boost/asio/awaitable.hpp>

#include <soci/soci.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::orders::repo {

struct OrderRow {
  std::string id;
  std::int64_t number = 0;
  std::optional<std::string> user_id;
  std::string email;
  std::optional<std::string> guest_token_hash;
  std::string cart_id;
  std::optional<std::string> idempotency_key;
  std::string status = "pending_payment";
  std::string payment_status = "pending";
  std::string currency;
  std::int64_t subtotal = 0;
  std::int64_t shipping_total = 0;
  std::int64_t total = 0;
  std::int64_t refunded_total = 0;
  std::string shipping_address;  // JSON text
  std::string shipping_option;   // JSON text
  std::string payment_method;
  std::optional<std::string> payment_reference;
  std::optional<std::string> tracking_carrier;
  std::optional<std::string> tracking_number;
  std::string stock_state = "reserved";
  bool cart_completed = false;
  std::string created_at;
  std::string updated_at;
  std::vector<OrderLineInfo> lines;
};

struct HistoryEntry {
  std::string status;
  std::string payment_status;
  std::string note;
  std::string actor;
  std::string at;
};

// ---- checkout (repository_checkout.cpp): pipelined, one round trip per batch
// Adds the insert of the order (with its number), its lines and its first history entry to `batch`;
// read_inserted_order takes created_at from that statement's result.
std::size_t add_insert_order(platform::pq::Pipeline& batch, const OrderRow& o);
void read_inserted_order(const platform::pq::Result& r, OrderRow& o);
// Adds pending_payment → paid (payment_status and reference from `paid`) with its history entry; the batch
// fails with pq::is_expectation_failure when the order was no longer pending.
std::size_t add_mark_paid(platform::pq::Pipeline& batch, const OrderRow& paid, const std::string& note);
void read_marked_paid(const platform::pq::Result& r, OrderRow& o);
// Adds what became of the payment of an order found cancelled when its checkout's payment came back, or of
// the reconciler's retry of its refund: `o`'s payment_status and refunded_total, a refund row of
// refunded_total (with `reason`, by "system") unless it is 0, and a history entry by "system" with `note`;
// the status stays cancelled. It counts one give-back attempt, and makes the next due `retry_in_seconds`
// from now (nullopt: none, nothing is owed). The batch fails with pq::is_expectation_failure unless the
// order was still cancelled with payment_status `found_payment_status`.
std::size_t add_give_back(platform::pq::Pipeline& batch, const OrderRow& o, const std::string& reason,
                          const std::string& note, const std::string& found_payment_status,
                          std::optional<std::int64_t> retry_in_seconds);
void read_given_back(const platform::pq::Result& r, OrderRow& o);
// Adds the saga's bookkeeping after its side effects (one statement) to `batch`.
std::size_t add_saga_state(platform::pq::Pipeline& batch, const std::string& id, const std::string& stock_state,
                           bool cart_completed);
// `count` fresh order numbers from orders.order_number_seq.
boost::asio::awaitable<std::vector<std::int64_t>> next_order_numbers(platform::Database& db, int count);
std::optional<OrderRow> find_order(soci::session& s, const std::string& id, bool for_update = false);
std::optional<std::string> live_order_for_cart(soci::session& s, const std::string& cart_id);

// Writes the status fields of `o` (status, payment_status, refunded_total, payment_reference, tracking,
// paid_at when newly paid) and appends a history entry.
void save_transition(soci::session& s, const OrderRow& o, const std::string& note, const std::string& actor);
void set_stock_state(soci::session& s, const std::string& id, const std::string& state);
void set_guest_token_hash(soci::session& s, const std::string& id, const std::string& hash);
std::vector<HistoryEntry> history(soci::session& s, const std::string& id);
void insert_refund(soci::session& s, const std::string& order_id, std::int64_t amount, const std::string& reason,
                   const std::string& actor);
// true the first time an event id is seen (webhook replay protection).
bool record_payment_event(soci::session& s, const std::string& event_id, const std::string& order_id,
                          const std::string& type);

struct OrderFilter {
  std::optional<std::string> user_id;  // customers: their own orders only
  std::string status;
  std::string email;       // admin q: email substring
  std::int64_t number = -1;  // admin q: order number
  std::string from;        // RFC 3339 / date, inclusive
  std::string to;          // exclusive
  std::string after_id;
  int limit = 20;
};
std::vector<OrderRow> list_orders(soci::session& s, const OrderFilter& f);  // without lines
void load_lines(soci::session& s, std::vector<OrderRow>& orders);

// Reconciler inputs.
std::vector<std::string> stale_pending_orders(soci::session& s, long long older_than_seconds, int limit);
std::vector<std::string> unfinished_sagas(soci::session& s, int limit);
// Cancelled orders whose give-back refund is due again, each leased for `lease_seconds` (another instance's
// reconciler skips it meanwhile; a crash leaves it due when the lease ends).
std::vector<std::string> claim_due_give_backs(soci::session& s, long long lease_seconds, int limit);
// Counts a refused retry and makes the next due later: `base_seconds` doubled for each attempt so far, at
// most `max_seconds`. Nothing happens unless the order still holds the money (cancelled, "captured").
void postpone_give_back(soci::session& s, const std::string& order_id, long long base_seconds, long long max_seconds);

// Anonymises a deleted user's orders: the orders stay for the books, the personal data goes.
void anonymise_user_orders(soci::session& s, const std::string& user_id);
boost::json::array export_user_orders(soci::session& s, const std::string& user_id);

boost::json::object stats(soci::session& s, const std::string& from, const std::string& to, const std::string& currency);

// The built-in test provider's ledger.
struct TestPayment {
  std::string reference;
  std::string outcome;
  std::int64_t amount = 0;
  std::int64_t captured = 0;
  std::int64_t refunded = 0;
};
std::optional<TestPayment> find_test_payment(soci::session& s, const std::string& order_id);
// Inserts unless one exists; returns the stored row either way (idempotent per order).
boost::asio::awaitable<TestPayment> put_test_payment(platform::Database& db, const std::string& order_id,
                                                     const TestPayment& p);
void update_test_payment(soci::session& s, const std::string& order_id, const TestPayment& p);

}  // namespace bazaar::orders::repo
