#include "service.hpp"

#include "domain/lifecycle.hpp"

#include <orders/events.hpp>
#include <platform/audit.hpp>
#include <platform/ids.hpp>
#include <platform/log.hpp>
#include <platform/pq.hpp>
#include <platform/security.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace bazaar::orders {

using platform::Errc;
using platform::Error;
using platform::Tx;
namespace json = boost::json;

namespace {

Error not_checkoutable(std::string detail) { return Error::conflict("cart_not_checkoutable", std::move(detail)); }
Error order_not_found() { return Error::not_found("The order does not exist."); }
Error invalid_transition(const std::string& from, const std::string& to) {
  return Error::conflict("invalid_transition", fmt::format("An order that is {} cannot become {}.", from, to));
}
Error insufficient_stock(const std::vector<catalog::StockShortage>& shortages, const repo::OrderRow& order) {
  std::string detail = "Not enough stock:";
  for (const auto& s : shortages) {
    auto line = std::find_if(order.lines.begin(), order.lines.end(), [&](const auto& l) { return l.variant_id == s.variant_id; });
    detail += fmt::format(" {} (requested {}, available {});", line != order.lines.end() ? line->sku : s.variant_id,
                          s.requested, s.available);
  }
  detail.back() = '.';
  return Error::conflict("insufficient_stock", detail);
}
std::string address_json(const accounts::Address& a) {
  auto optional = [](const std::optional<std::string>& v) { return v ? json::value(*v) : json::value(nullptr); };
  return json::serialize(json::object{{"first_name", a.first_name}, {"last_name", a.last_name}, {"line1", a.line1},
                                      {"line2", optional(a.line2)}, {"city", a.city}, {"postal_code", a.postal_code},
                                      {"region", optional(a.region)}, {"country", a.country},
                                      {"phone", optional(a.phone)}});
}
std::string actor_of(const platform::http::Request* rq) {
  return rq && rq->principal ? "admin:" + rq->principal->user_id : std::string("system");
}
// The caller's last write (CheckoutInput::last_write) for the order a checkout returns with `guest_token`.
// `last_write` is the checkout's input: it outlives the payment that may call this.
std::function<void(const repo::OrderRow&, platform::pq::Pipeline&)> with_result(const LastWrite& last_write,
                                                                                 std::optional<std::string> guest_token) {
  if (!last_write) return {};
  return [&last_write, guest_token = std::move(guest_token)](const repo::OrderRow& order, platform::pq::Pipeline& batch) {
    last_write(CheckoutResult{order, guest_token}, batch);
  };
}
bool is_live(const repo::OrderRow& o) { return o.status == "paid" || o.status == "shipped" || o.status == "delivered"; }

// Runs `batch`; nullopt when its platform.expect precondition did not hold (another run got there first)
// and nothing changed.
asio::awaitable<std::optional<platform::pq::Results>> run_if_expected(platform::Database& db,
                                                                      platform::pq::Pipeline batch) {
  try {
    co_return co_await platform::pq::run(db, std::move(batch));
  } catch (const std::exception& e) {
    if (!platform::pq::is_expectation_failure(e)) throw;
  }
  co_return std::nullopt;
}

// The reason recorded, and told the customer, when the checkout gives back a payment the provider took
// for an order that had been cancelled meanwhile (Service::give_back_payment).
constexpr const char* kTakenAfterCancel = "payment taken after the order was cancelled";
// A refused give-back is asked again after Settings::give_back_retry, doubling, but at least once a day;
// the reconciler holds each retry this long, so that another instance's does not ask at the same time.
constexpr std::chrono::seconds kGiveBackRetryCeiling{24 * 60 * 60};
constexpr std::chrono::seconds kGiveBackLease{5 * 60};

}  // namespace

OrderSummary summary_of(const repo::OrderRow& o) {
  OrderSummary s;
  s.order_id = o.id;
  s.number = domain::format_number(o.number);
  s.user_id = o.user_id.value_or("");
  s.email = o.email;
  s.currency = o.currency;
  s.subtotal = o.subtotal;
  s.shipping_total = o.shipping_total;
  s.total = o.total;
  s.lines = o.lines;
  s.shipping_address = json::parse(o.shipping_address);
  s.status = o.status;
  s.payment_status = o.payment_status;
  return s;
}

Service::Service(platform::ModuleContext& ctx, Dependencies deps, Settings settings,
                 std::unique_ptr<payments::Provider> provider)
    : ctx_(ctx), deps_(deps), settings_(std::move(settings)), provider_(std::move(provider)), numbers_(ctx.db()) {}

// ---------------------------------------------------------------------------------------------------------
// Checkout: snapshot the cart → reserve stock → create the order with OrderPlaced → pay → paid or cancelled.
// ---------------------------------------------------------------------------------------------------------

asio::awaitable<Result<CheckoutResult>> Service::checkout(CheckoutInput in) {
  const auto option = std::find_if(settings_.shipping_options.begin(), settings_.shipping_options.end(),
                                   [&](const auto& o) { return o.id == in.shipping_option_id; });
  if (option == settings_.shipping_options.end()) {
    co_return Error::validation("shipping_option_id", "is not one of GET /api/v1/shipping-options");
  }
  if (in.payment_method != provider_->method()) {
    co_return Error::validation("payment.method", fmt::format("must be \"{}\"", provider_->method()));
  }
  if (in.address_id && !in.user_id) {
    co_return Error::validation("shipping_address.address_id", "saved addresses need a signed-in customer");
  }

  auto cart = co_await deps_.carts.snapshot(in.cart_id, in.user_id);
  if (!cart) co_return cart.error();
  if (cart->status != "open") co_return co_await resume_checkout(in, fmt::format("The cart is {}.", cart->status));
  if (cart->lines.empty()) co_return not_checkoutable("The cart is empty.");

  // Email: a guest must give one; a customer's defaults to the account's.
  std::string email;
  if (in.email) {
    email = *in.email;
  } else if (in.user_id) {
    auto contact = co_await deps_.accounts.contact(*in.user_id);
    if (!contact) co_return Error::unauthorized("invalid_token", "The account no longer exists.");
    email = contact->email;
  } else {
    co_return Error::validation("email", "is required for a guest checkout");
  }

  accounts::Address address;
  if (in.address_id) {
    auto saved = co_await deps_.accounts.address(*in.user_id, *in.address_id);
    if (!saved) co_return Error::validation("shipping_address.address_id", "is not one of your saved addresses");
    address = *saved;
  } else {
    auto valid = deps_.accounts.validate_address(*in.address_fields, "shipping_address");
    if (!valid) co_return valid.error();
    address = *valid;
  }

  repo::OrderRow order;
  order.id = platform::new_uuid_v7();
  order.user_id = in.user_id;
  order.email = email;
  order.cart_id = cart->cart_id;
  order.idempotency_key = in.idempotency_key;
  order.currency = settings_.currency;
  order.shipping_total = option->price;
  order.payment_method = in.payment_method;
  order.shipping_address = address_json(address);
  order.shipping_option = json::serialize(json::object{
      {"id", option->id}, {"name", option->name},
      {"price", platform::money_json({option->price, settings_.currency})}});
  std::optional<std::string> guest_token;
  if (!in.user_id) {
    guest_token = platform::security::random_token(24);
    order.guest_token_hash = platform::security::sha256_hex(*guest_token);
  }

  // Stock for every line or for none; the reservation also reads the prices (the catalog's, never the
  // client's). A payment that settles later (webhook) may take up to pending_payment_timeout: its stock is
  // held for that long plus the usual reservation time, so the hold never lapses before the order is paid
  // or cancelled by the reconciler (a lapsed hold would let a late payment confirm nothing, and the stock
  // be sold twice).
  std::vector<catalog::StockLine> stock;
  for (const auto& l : cart->lines) stock.push_back({l.variant_id, l.quantity});
  const bool settles_later = provider_->settles_later(in.token);
  const auto hold = settles_later ? settings_.pending_payment_timeout + settings_.reservation_ttl
                                  : settings_.reservation_ttl;
  auto reservation = co_await deps_.inventory.reserve(order.id, stock, hold);
  auto priced = price_lines(*cart, reservation.snapshots, order);
  if (!priced && reservation.reserved) co_await deps_.inventory.release(order.id);
  if (!priced) co_return priced.error();
  if (!reservation.reserved) co_return insufficient_stock(reservation.shortages, order);
  order.number = co_await numbers_.next();

  // The order and its OrderPlaced event: one batch, one round trip, one transaction.
  platform::pq::Pipeline batch;
  const auto inserted = repo::add_insert_order(batch, order);
  batch.publish(platform::make_event(OrderPlaced{summary_of(order), settles_later}, order.id));
  bool cart_taken = false;
  std::exception_ptr failure;
  try {
    auto results = co_await platform::pq::run(ctx_.db(), std::move(batch));
    repo::read_inserted_order(results[inserted], order);
  } catch (const std::exception& e) {
    cart_taken = platform::is_unique_violation(e);  // another checkout of this cart won
    failure = std::current_exception();
  }
  if (failure) {
    // Whatever failed, the reservation must not outlive the order that never was.
    co_await deps_.inventory.release(order.id);
    if (!cart_taken) std::rethrow_exception(failure);
    co_return co_await resume_checkout(in, "This cart is already being checked out.");
  }
  ctx_.metrics().counter("bazaar_orders_placed_total", "Orders created at checkout").inc();

  auto paid = co_await pay(order, in.token, with_result(in.last_write, guest_token));
  if (!paid) co_return paid.error();
  co_return CheckoutResult{*paid, guest_token};
}

// Lines priced from the reservation's snapshots, and the order's totals.
Result<void> Service::price_lines(const cart::CheckoutCart& cart, const std::vector<catalog::VariantSnapshot>& snaps,
                                  repo::OrderRow& order) const {
  std::int64_t subtotal = 0;
  order.lines.clear();
  for (const auto& line : cart.lines) {
    auto snap = std::find_if(snaps.begin(), snaps.end(), [&](const auto& s) { return s.variant_id == line.variant_id; });
    if (snap == snaps.end() || !snap->purchasable) {
      return not_checkoutable(fmt::format("A product in the cart ({}) is no longer available.",
                                          snap == snaps.end() ? line.variant_id : snap->sku));
    }
    auto line_total = platform::checked_mul(snap->price.amount, line.quantity);
    auto sum = line_total ? platform::checked_add(subtotal, *line_total) : std::nullopt;
    if (!sum) return Error::validation("cart_id", "the order total is too large");
    subtotal = *sum;
    order.lines.push_back({snap->variant_id, snap->product_id, snap->sku, snap->title, line.quantity,
                           snap->price.amount, *line_total});
  }
  auto total = platform::checked_add(subtotal, order.shipping_total);
  if (!total) return Error::validation("cart_id", "the order total is too large");
  order.subtotal = subtotal;
  order.total = *total;
  return {};
}

// A checkout of a cart that is no longer open, or that lost the race for its one live order: a retry of a
// checkout that already created its order resumes that order; anything else is a conflict.
asio::awaitable<Result<CheckoutResult>> Service::resume_checkout(const CheckoutInput& in, std::string otherwise) {
  auto live = co_await ctx_.db().run([&](soci::session& s) -> std::optional<repo::OrderRow> {
    auto id = repo::live_order_for_cart(s, in.cart_id);
    if (!id) return std::nullopt;
    return repo::find_order(s, *id);
  });
  if (!live) co_return not_checkoutable(std::move(otherwise));
  if (!in.idempotency_key || live->idempotency_key != in.idempotency_key || live->user_id != in.user_id) {
    co_return not_checkoutable("This cart already has an order.");
  }
  // A guest's token is stored only as a hash. This retry runs because the first response never reached
  // the client (else the stored response would have been replayed), so the guest gets a fresh token:
  // without one, they could never read their order.
  std::optional<std::string> guest_token;
  if (!live->user_id) {
    guest_token = platform::security::random_token(24);
    const std::string hash = platform::security::sha256_hex(*guest_token);
    co_await ctx_.db().run([&](soci::session& s) { repo::set_guest_token_hash(s, live->id, hash); });
    live->guest_token_hash = hash;
  }
  if (live->status != "pending_payment" || live->payment_status != "pending") {
    co_await finish_side_effects(*live, with_result(in.last_write, guest_token));
    co_return CheckoutResult{*live, guest_token};
  }
  auto resumed = co_await pay(*live, in.token, with_result(in.last_write, guest_token));
  if (!resumed) co_return resumed.error();
  co_return CheckoutResult{*resumed, guest_token};
}

asio::awaitable<Result<repo::OrderRow>> Service::pay(repo::OrderRow order, std::string token, OrderLastWrite last_write) {
  payments::AuthorizeRequest request{order.id, {order.total, order.currency}, token, !settings_.capture_on_ship};
  auto auth = co_await provider_->authorize(request);
  switch (auth.outcome) {
    case payments::Outcome::captured:
    case payments::Outcome::authorized: {
      const bool captured = auth.outcome == payments::Outcome::captured;
      auto paid = co_await mark_paid_at_checkout(std::move(order), auth.reference, captured);
      // Cancelled meanwhile, by something that did not know of this payment: it must not be kept.
      if (paid.status == "cancelled" && paid.payment_status == "failed") {
        paid = co_await give_back_payment(std::move(paid), captured);
      }
      co_await finish_side_effects(paid, last_write);
      co_return paid;
    }
    case payments::Outcome::pending: {
      // Awaiting the provider's webhook: the order exists, so the cart is done. The order is read again
      // after the last write, so the caller's statements do not travel with it.
      co_await finish_side_effects(order);
      auto current = co_await ctx_.db().run([&](soci::session& s) { return repo::find_order(s, order.id); });
      co_return *current;
    }
    case payments::Outcome::declined: break;
  }
  co_await mark_cancelled(order.id, "payment_declined", "failed", "system");
  co_return Error::make(Errc::payment_required, "payment_declined",
                        auth.message.empty() ? "The payment was declined." : auth.message);
}

// The order as checkout holds it, paid in one round trip: the transition, its history entry and OrderPaid
// in one batch. If something settled the order first, the batch changes nothing and mark_paid re-reads it.
asio::awaitable<repo::OrderRow> Service::mark_paid_at_checkout(repo::OrderRow order, std::string reference,
                                                               bool captured) {
  const std::string note = "payment accepted";
  repo::OrderRow paid = order;
  paid.status = "paid";
  paid.payment_status = captured ? "captured" : "authorized";
  paid.payment_reference = reference;
  platform::pq::Pipeline batch;
  const auto step = repo::add_mark_paid(batch, paid, note);
  batch.publish(platform::make_event(OrderPaid{summary_of(paid)}, paid.id));
  const auto results = co_await run_if_expected(ctx_.db(), std::move(batch));
  if (!results) co_return co_await mark_paid(order.id, std::move(reference), captured, note);  // settled elsewhere
  repo::read_marked_paid((*results)[step], paid);
  count_paid(paid);
  co_return paid;
}

// The checkout's payment, taken by the provider for an order that was cancelled while the provider was
// authorising (the reconciler's timeout, the customer, a payment.failed webhook). That cancellation found
// no payment to void or refund — it left payment_status "failed" — so nothing else gives this one back.
// The order stays cancelled, and its books say what became of the money, in one batch:
// - an authorisation voided: "refunded", as a customer's cancellation records the void of an authorised
//   order (API.md has no "voided"); no money moved, so no refund row and no OrderRefunded;
// - a capture refunded: a refund row for the total, "refunded", and OrderRefunded to tell the customer
//   (their OrderCancelled said refunded: false). paid_at stays unset, so the stats never count the order;
// - a refund the provider refused: "captured", which is true — the provider holds the money — and sets the
//   order apart from the cancellations that took nothing; the reconciler asks again (retry_give_back).
asio::awaitable<repo::OrderRow> Service::give_back_payment(repo::OrderRow order, bool captured) {
  if (!captured) {
    co_await provider_->void_authorization(order.id);
    order.payment_status = "refunded";
    co_return co_await record_give_back(std::move(order), "failed",
                                        fmt::format("authorisation voided ({})", kTakenAfterCancel));
  }
  auto refunded = co_await provider_->refund(order.id, order.total);
  co_return co_await record_refund_outcome(std::move(order), "failed", refunded);
}

// What a give-back refund came to, recorded: the total refunded, or the money still held and the retry due.
asio::awaitable<repo::OrderRow> Service::record_refund_outcome(repo::OrderRow order, std::string found_payment_status,
                                                               const Result<void>& refunded) {
  if (refunded) {
    platform::log::info("payment of an order cancelled during checkout refunded", {{"order_id", order.id}});
    order.payment_status = "refunded";
    order.refunded_total = order.total;
    auto note = fmt::format("refunded {} ({})", order.total, kTakenAfterCancel);
    co_return co_await record_give_back(std::move(order), std::move(found_payment_status), std::move(note));
  }
  note_refused_give_back(order.id, refunded.error().detail);
  order.payment_status = "captured";
  auto note = fmt::format("refund refused by the provider ({}): {}", kTakenAfterCancel, refunded.error().detail);
  co_return co_await record_give_back(std::move(order), std::move(found_payment_status), std::move(note),
                                      settings_.give_back_retry.count());
}

// Records a give-back (repo::add_give_back), with OrderRefunded when money went back. A give-back that
// another run of the same step recorded first stands, and is what this returns.
asio::awaitable<repo::OrderRow> Service::record_give_back(repo::OrderRow order, std::string found_payment_status,
                                                          std::string note, std::optional<std::int64_t> retry_in) {
  platform::pq::Pipeline batch;
  const auto step = repo::add_give_back(batch, order, kTakenAfterCancel, note, found_payment_status, retry_in);
  if (order.refunded_total > 0) {
    const OrderRefunded refunded{summary_of(order), order.refunded_total, order.refunded_total, true, kTakenAfterCancel};
    batch.publish(platform::make_event(refunded, order.id));
  }
  const auto results = co_await run_if_expected(ctx_.db(), std::move(batch));
  if (!results) {
    co_return *co_await ctx_.db().run([&](soci::session& s) { return repo::find_order(s, order.id); });
  }
  repo::read_given_back((*results)[step], order);
  co_return order;
}

// The reconciler's retry of a give-back the provider refused: asks the provider first, so that a refund it
// made before a crash kept it from being recorded is recorded, not made twice, and only what it still holds
// is asked for. Refused again, the order waits longer (repo::postpone_give_back); no history entry, so that
// the history stays readable.
asio::awaitable<void> Service::retry_give_back(std::string order_id) {
  auto order = co_await ctx_.db().run([&](soci::session& s) { return repo::find_order(s, order_id); });
  if (!order || order->status != "cancelled" || order->payment_status != "captured") co_return;
  const auto known = co_await provider_->lookup(order_id);
  const auto given = std::max(order->refunded_total, known ? known->refunded : 0);
  Result<void> refunded{};
  if (given < order->total) refunded = co_await provider_->refund(order_id, order->total - given);
  if (refunded) {
    co_await record_refund_outcome(std::move(*order), "captured", refunded);
    co_return;
  }
  note_refused_give_back(order_id, refunded.error().detail);
  co_await ctx_.db().run([&](soci::session& s) {
    repo::postpone_give_back(s, order_id, settings_.give_back_retry.count(), kGiveBackRetryCeiling.count());
  });
}

void Service::note_refused_give_back(const std::string& order_id, const std::string& error) {
  platform::log::error("refund of a payment taken after cancellation refused by the provider",
                       {{"order_id", order_id}, {"error", error}});
  ctx_.metrics()
      .counter("bazaar_orders_give_back_refused_total",
               "Refunds of payments taken after cancellation that the provider refused")
      .inc();
}

void Service::count_paid(const repo::OrderRow& order) {
  ctx_.metrics().counter("bazaar_orders_paid_total", "Orders paid").inc();
  ctx_.metrics().counter("bazaar_revenue_minor_units_total", "Revenue of paid orders, minor units").inc(
      static_cast<std::uint64_t>(order.total));
}

asio::awaitable<repo::OrderRow> Service::mark_paid(std::string order_id, std::string reference, bool captured,
                                                   std::string note) {
  bool paid_now = false;  // counted once, by the path that made it paid (not by one that found it paid)
  auto order = co_await ctx_.db().transaction([&](Tx& tx) {
    paid_now = false;
    auto o = repo::find_order(tx.sql(), order_id, true);
    if (o->status != "pending_payment") return *o;  // already settled (webhook vs reconciler): idempotent
    o->status = "paid";
    o->payment_status = captured ? "captured" : "authorized";
    o->payment_reference = reference;
    repo::save_transition(tx.sql(), *o, note, "system");
    tx.publish(OrderPaid{summary_of(*o)}, o->id);
    paid_now = true;
    return *o;
  });
  if (paid_now) count_paid(order);
  co_return order;
}

asio::awaitable<repo::OrderRow> Service::mark_cancelled(std::string order_id, std::string reason,
                                                        std::string payment_status, std::string actor) {
  auto order = co_await ctx_.db().transaction([&](Tx& tx) {
    auto o = repo::find_order(tx.sql(), order_id, true);
    if (!domain::can_transition(o->status, "cancelled")) return *o;
    o->status = "cancelled";
    o->payment_status = payment_status;
    repo::save_transition(tx.sql(), *o, reason, actor);
    tx.publish(OrderCancelled{summary_of(*o), reason, false}, o->id);
    return *o;
  });
  co_await finish_side_effects(order);
  co_return order;
}

// The saga's tail, safe to repeat: each step is idempotent, and what is done is recorded on the order in
// one statement at the end (a crash before it makes the reconciler repeat the steps, harmlessly). The stock
// and the cart steps are two modules' calls that depend on nothing but the order, so they go out together:
// one round trip for both. `last_write` adds the caller's statements to the closing record.
asio::awaitable<void> Service::finish_side_effects(const repo::OrderRow& order, const OrderLastWrite& last_write) {
  const auto [stock_state, cart_completed] = co_await platform::pq::concurrently(settle_stock(order), settle_cart(order));
  if (stock_state == order.stock_state && cart_completed == order.cart_completed) co_return;
  platform::pq::Pipeline batch;
  repo::add_saga_state(batch, order.id, stock_state, cart_completed);
  if (last_write) last_write(order, batch);
  co_await platform::pq::run(ctx_.db(), std::move(batch));
}

// The order's stock once its saga step is done: confirmed for a live order, released for a cancelled one.
asio::awaitable<std::string> Service::settle_stock(repo::OrderRow order) {
  if (order.stock_state != "reserved") co_return order.stock_state;
  if (is_live(order)) {
    co_await deps_.inventory.confirm(order.id);
    co_return "confirmed";
  }
  if (order.status == "cancelled") {
    co_await deps_.inventory.release(order.id);
    co_return "released";
  }
  co_return order.stock_state;
}

// Whether the order's cart is completed by it once its saga step is done: an order that is live or
// awaiting its payment completes the cart; a cancelled one leaves it open.
asio::awaitable<bool> Service::settle_cart(repo::OrderRow order) {
  const bool counts = is_live(order) || (order.status == "pending_payment" && order.payment_status == "pending");
  if (!counts || order.cart_completed) co_return order.cart_completed;
  co_return co_await deps_.carts.complete(order.cart_id, order.id);
}

// ---------------------------------------------------------------------------------------------------------
// Payment webhook
// ---------------------------------------------------------------------------------------------------------

asio::awaitable<Result<void>> Service::handle_webhook(const platform::http::Request& rq) {
  auto event = provider_->verify_webhook(rq, std::chrono::system_clock::now());
  if (!event) co_return event.error();
  auto order = co_await ctx_.db().run([&](soci::session& s) { return repo::find_order(s, event->order_id); });
  if (!order) co_return order_not_found();
  if (event->amount.amount != order->total || event->amount.currency != order->currency) {
    co_return Error::validation("data.amount", "does not match the order total");
  }
  const bool succeeded = event->type == "payment.succeeded";
  co_await provider_->acknowledge(*event);

  // Recording the event id and applying it happen in one transaction: a replay is a no-op, and a failure
  // leaves the event unrecorded so that the provider's retry applies it.
  bool paid_now = false;
  auto updated = co_await ctx_.db().transaction([&](Tx& tx) -> std::optional<repo::OrderRow> {
    paid_now = false;
    if (!repo::record_payment_event(tx.sql(), event->id, event->order_id, event->type)) return std::nullopt;
    auto o = repo::find_order(tx.sql(), event->order_id, true);
    if (o->status != "pending_payment") return *o;  // settled already (e.g. by the reconciler)
    if (succeeded) {
      o->status = "paid";
      o->payment_status = "captured";
      repo::save_transition(tx.sql(), *o, "payment succeeded (webhook " + event->id + ")", "provider");
      tx.publish(OrderPaid{summary_of(*o)}, o->id);
      paid_now = true;
    } else {
      o->status = "cancelled";
      o->payment_status = "failed";
      repo::save_transition(tx.sql(), *o, "payment failed (webhook " + event->id + ")", "provider");
      tx.publish(OrderCancelled{summary_of(*o), "payment_failed", false}, o->id);
    }
    return *o;
  });
  if (paid_now) count_paid(*updated);
  if (updated) co_await finish_side_effects(*updated);
  co_return Result<void>{};
}

// ---------------------------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------------------------

asio::awaitable<Result<repo::OrderRow>> Service::cancel_by_customer(std::string order_id,
                                                                    std::optional<std::string> user_id,
                                                                    std::optional<std::string> guest_token) {
  auto order = co_await order_for(order_id, user_id, guest_token);
  if (!order) co_return order.error();
  if (!domain::can_transition(order->status, "cancelled")) co_return invalid_transition(order->status, "cancelled");
  const bool was_paid = order->status == "paid";
  // Money taken (captured, possibly partly refunded already) is refunded in full: what remains of it.
  const auto holds_money = [](const std::string& payment_status) {
    return payment_status == "captured" || payment_status == "partially_refunded";
  };
  if (was_paid && holds_money(order->payment_status)) {
    auto refunded = co_await provider_->refund(order_id, order->total - order->refunded_total);
    if (!refunded) co_return refunded.error();
  } else {
    co_await provider_->void_authorization(order_id);
  }
  auto updated = co_await ctx_.db().transaction([&](Tx& tx) -> Result<repo::OrderRow> {
    auto o = repo::find_order(tx.sql(), order_id, true);
    if (!domain::can_transition(o->status, "cancelled")) return invalid_transition(o->status, "cancelled");
    const bool refund = holds_money(o->payment_status);
    o->status = "cancelled";
    o->payment_status = refund ? "refunded" : (o->payment_status == "authorized" ? "refunded" : "failed");
    if (refund) {
      repo::insert_refund(tx.sql(), o->id, o->total - o->refunded_total, "cancelled by customer", "customer");
      o->refunded_total = o->total;
    }
    repo::save_transition(tx.sql(), *o, "cancelled by customer", "customer");
    tx.publish(OrderCancelled{summary_of(*o), "customer", refund}, o->id);
    return *o;
  });
  if (!updated) co_return updated.error();
  if (was_paid && updated->stock_state == "confirmed") {
    co_await deps_.inventory.restock(order_id);
    co_await ctx_.db().run([&](soci::session& s) { repo::set_stock_state(s, order_id, "restocked"); });
    updated->stock_state = "restocked";
  }
  co_await finish_side_effects(*updated);
  co_return *updated;
}

asio::awaitable<Result<repo::OrderRow>> Service::ship(const platform::http::Request& rq, std::string order_id,
                                                      std::string carrier, std::string tracking_number) {
  auto current = co_await order_for_admin(order_id);
  if (!current) co_return current.error();
  if (!domain::can_transition(current->status, "shipped")) co_return invalid_transition(current->status, "shipped");
  if (current->payment_status == "authorized") {  // capture on ship
    auto captured = co_await provider_->capture(order_id, current->total);
    if (!captured) co_return captured.error();
  }
  co_return co_await ctx_.db().transaction([&](Tx& tx) -> Result<repo::OrderRow> {
    auto o = repo::find_order(tx.sql(), order_id, true);
    if (!domain::can_transition(o->status, "shipped")) return invalid_transition(o->status, "shipped");
    o->status = "shipped";
    if (o->payment_status == "authorized") o->payment_status = "captured";
    o->tracking_carrier = carrier;
    o->tracking_number = tracking_number;
    repo::save_transition(tx.sql(), *o, fmt::format("shipped with {} ({})", carrier, tracking_number), actor_of(&rq));
    tx.publish(OrderShipped{summary_of(*o), carrier, tracking_number}, o->id);
    platform::record_audit(tx, rq, {"orders.order.ship", "order", o->id,
                                    {{"carrier", carrier}, {"tracking_number", tracking_number}}});
    return *o;
  });
}

asio::awaitable<Result<repo::OrderRow>> Service::deliver(const platform::http::Request& rq, std::string order_id) {
  co_return co_await ctx_.db().transaction([&](Tx& tx) -> Result<repo::OrderRow> {
    auto o = repo::find_order(tx.sql(), order_id, true);
    if (!o) return order_not_found();
    if (!domain::can_transition(o->status, "delivered")) return invalid_transition(o->status, "delivered");
    o->status = "delivered";
    repo::save_transition(tx.sql(), *o, "delivered", actor_of(&rq));
    tx.publish(OrderDelivered{summary_of(*o)}, o->id);
    platform::record_audit(tx, rq, {"orders.order.deliver", "order", o->id, {}});
    return *o;
  });
}

asio::awaitable<Result<repo::OrderRow>> Service::refund(const platform::http::Request& rq, std::string order_id,
                                                        std::optional<std::int64_t> amount, std::string reason) {
  auto current = co_await order_for_admin(order_id);
  if (!current) co_return current.error();
  if (!domain::can_transition(current->status, "refunded")) co_return invalid_transition(current->status, "refunded");
  if (current->payment_status != "captured" && current->payment_status != "partially_refunded") {
    co_return Error::conflict("invalid_transition", "Only captured payments can be refunded.");
  }
  const std::int64_t remaining = current->total - current->refunded_total;
  const std::int64_t value = amount.value_or(remaining);
  if (value <= 0 || value > remaining) {
    co_return Error::validation("amount.amount", fmt::format("must be between 1 and {} (what remains to refund)", remaining));
  }
  auto refunded = co_await provider_->refund(order_id, value);
  if (!refunded) co_return refunded.error();
  auto updated = co_await ctx_.db().transaction([&](Tx& tx) -> Result<repo::OrderRow> {
    auto o = repo::find_order(tx.sql(), order_id, true);
    if (o->refunded_total + value > o->total) return Error::conflict("invalid_transition", "Refunded concurrently.");
    o->refunded_total += value;
    const bool full = o->refunded_total == o->total;
    if (full) o->status = "refunded";
    o->payment_status = full ? "refunded" : "partially_refunded";
    repo::insert_refund(tx.sql(), o->id, value, reason, actor_of(&rq));
    repo::save_transition(tx.sql(), *o, fmt::format("refunded {} ({})", value, reason), actor_of(&rq));
    tx.publish(OrderRefunded{summary_of(*o), value, o->refunded_total, full, reason}, o->id);
    platform::record_audit(tx, rq, {"orders.order.refund", "order", o->id, {{"amount", value}, {"reason", reason}}});
    return *o;
  });
  if (!updated) co_return updated.error();
  // A full refund before shipping puts the goods back on sale.
  if (updated->status == "refunded" && current->status == "paid" && updated->stock_state == "confirmed") {
    co_await deps_.inventory.restock(order_id);
    co_await ctx_.db().run([&](soci::session& s) { repo::set_stock_state(s, order_id, "restocked"); });
    updated->stock_state = "restocked";
  }
  co_return *updated;
}

// ---------------------------------------------------------------------------------------------------------
// Reconciler
// ---------------------------------------------------------------------------------------------------------

namespace {

// Runs `step` for each order, one at a time. One order's trouble (the provider unreachable, a lost
// connection) is logged and left for a later pass; it does not hold up the others, nor the later steps of
// this pass (unfinished sagas need no provider). Returns how many orders the step settled.
template <class Step>
asio::awaitable<int> settle_each(const std::vector<std::string>& order_ids, std::string_view what, Step step) {
  int settled = 0;
  for (const auto& id : order_ids) {
    try {
      co_await step(id);
      ++settled;
    } catch (const std::exception& e) {
      platform::log::warn("reconciler step failed", {{"step", what}, {"order_id", id}, {"error", e.what()}});
    }
  }
  co_return settled;
}

}  // namespace

asio::awaitable<int> Service::reconcile() {
  const auto timeout = settings_.pending_payment_timeout.count();
  auto stale = co_await ctx_.db().run([&](soci::session& s) { return repo::stale_pending_orders(s, timeout, 100); });
  int touched =
      co_await settle_each(stale, "unpaid order", [this](const std::string& id) { return settle_unpaid(id); });
  // A due give-back is leased by its claim: when its retry fails, it is due again once the lease runs out.
  auto owed = co_await ctx_.db().run([&](soci::session& s) {
    return repo::claim_due_give_backs(s, kGiveBackLease.count(), 100);
  });
  touched += co_await settle_each(owed, "give-back", [this](const std::string& id) { return retry_give_back(id); });
  auto unfinished = co_await ctx_.db().run([&](soci::session& s) { return repo::unfinished_sagas(s, 100); });
  touched += co_await settle_each(unfinished, "unfinished saga",
                                  [this](const std::string& id) { return finish_saga(id); });
  co_return touched;
}

// An order still awaiting payment past the timeout: paid when the provider has its payment, else cancelled
// (any authorisation voided) and its stock released.
asio::awaitable<void> Service::settle_unpaid(std::string order_id) {
  auto known = co_await provider_->lookup(order_id);
  if (known && (known->outcome == payments::Outcome::captured || known->outcome == payments::Outcome::authorized)) {
    auto paid = co_await mark_paid(order_id, known->reference, known->outcome == payments::Outcome::captured,
                                   "payment found by the reconciler");
    co_await finish_side_effects(paid);
    co_return;
  }
  co_await provider_->void_authorization(order_id);
  co_await mark_cancelled(order_id, "payment_timeout", "failed", "reconciler");
}

// A paid or cancelled order whose stock or cart step a crash interrupted.
asio::awaitable<void> Service::finish_saga(std::string order_id) {
  auto order = co_await ctx_.db().run([&](soci::session& s) { return repo::find_order(s, order_id); });
  if (order) co_await finish_side_effects(*order);
}

// ---------------------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------------------

asio::awaitable<Result<repo::OrderRow>> Service::order_for(std::string order_id, std::optional<std::string> user_id,
                                                           std::optional<std::string> guest_token) {
  auto order = co_await ctx_.db().run([&](soci::session& s) { return repo::find_order(s, order_id); });
  if (!order) co_return order_not_found();
  const bool owner = user_id && order->user_id == user_id;
  const bool guest = guest_token && order->guest_token_hash &&
                     platform::security::constant_time_equal(*order->guest_token_hash,
                                                             platform::security::sha256_hex(*guest_token));
  if (!owner && !guest) co_return order_not_found();  // never reveal another customer's order
  co_return std::move(*order);
}

asio::awaitable<std::vector<repo::OrderRow>> Service::list(repo::OrderFilter filter) {
  co_return co_await ctx_.db().run([&](soci::session& s) {
    auto rows = repo::list_orders(s, filter);
    repo::load_lines(s, rows);
    return rows;
  });
}

asio::awaitable<Result<repo::OrderRow>> Service::order_for_admin(std::string order_id) {
  auto order = co_await ctx_.db().run([&](soci::session& s) { return repo::find_order(s, order_id); });
  if (!order) co_return order_not_found();
  co_return std::move(*order);
}

asio::awaitable<std::vector<repo::HistoryEntry>> Service::history(std::string order_id) {
  co_return co_await ctx_.db().run([&](soci::session& s) { return repo::history(s, order_id); });
}

asio::awaitable<json::object> Service::stats(std::string from, std::string to) {
  co_return co_await ctx_.db().run([&](soci::session& s) { return repo::stats(s, from, to, settings_.currency); });
}

void Service::anonymise_user(Tx& tx, const std::string& user_id) { repo::anonymise_user_orders(tx.sql(), user_id); }

asio::awaitable<json::value> Service::export_user(std::string user_id) {
  co_return co_await ctx_.db().run([&](soci::session& s) { return json::value(repo::export_user_orders(s, user_id)); });
}

}  // namespace bazaar::orders
