#pragma once
// Notifications use cases. Composing (render + insert delivery rows) runs inside the event's transaction
// and only writes rows; sending is the delivery worker's job (delivery.hpp).
#include "domain/template.hpp"
#include "repository.hpp"
#include "settings.hpp"

#include <platform/module.hpp>

#include <boost/json/object.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bazaar::notifications {

using platform::Result;
namespace asio = boost::asio;

struct Recipient {
  std::optional<std::string> user_id;  // registered user: in-app messages, and erasure on deletion
  std::string email;
  std::string name;
};

struct Channels {
  bool email = false;
  bool in_app = false;
};

// What triggers a message: the event's id (the deliveries' idempotency key) and type.
struct Trigger {
  std::string event_id;
  std::string event_type;
};

struct RenderedEmail {
  std::string subject;
  std::string text;
  std::optional<std::string> html;
  std::optional<std::string> error;  // "body_html: line 2, column 5: unknown variable 'x'"
};

// Renders an email (or in-app: subject = title, body) template against `context`.
RenderedEmail render_template(const repo::TemplateRow& t, const boost::json::value& context);

struct TemplateUpdate {
  std::string name;
  std::string channel;
  std::string subject;
  std::string body;
  std::optional<std::string> body_html;
};

class Service {
 public:
  Service(platform::ModuleContext& ctx, const Settings& settings);

  // Called after a transaction that queued something to send commits (wakes the delivery worker).
  void on_queued(std::function<void()> fn) { on_queued_ = std::move(fn); }

  // Renders `template_name` per channel and inserts the deliveries (and the in-app message), once per
  // (event, channel, recipient, template). A render failure becomes a failed delivery, never an exception.
  void compose(platform::Tx& tx, const Trigger& trigger, const std::string& template_name, const Recipient& to,
               boost::json::object context, Channels channels);
  // A message to a group resolved later by the worker (admins), once per event and template.
  void compose_for_admins(platform::Tx& tx, const Trigger& trigger, const std::string& template_name,
                          boost::json::object context);
  // One webhook delivery per endpoint subscribed to the event's type.
  void enqueue_webhooks(platform::Tx& tx, const platform::Event& event);
  void erase_user(platform::Tx& tx, const std::string& user_id);

  // In-app inbox.
  asio::awaitable<std::vector<repo::MessageRow>> inbox(std::string user_id, bool unread_only, std::string after_id,
                                                       int limit);
  asio::awaitable<bool> mark_read(std::string user_id, std::string id);
  asio::awaitable<boost::json::value> export_personal_data(std::string user_id);

  // Admin.
  asio::awaitable<std::vector<repo::DeliveryRow>> deliveries(repo::DeliveryFilter filter);
  asio::awaitable<Result<repo::DeliveryRow>> retry(const platform::http::Request& rq, std::string id);
  asio::awaitable<std::vector<repo::TemplateRow>> templates();
  asio::awaitable<Result<repo::TemplateRow>> update_template(const platform::http::Request& rq, TemplateUpdate update);

  const Settings& settings() const { return settings_; }
  platform::ModuleContext& context() { return ctx_; }

 private:
  boost::json::object with_base(boost::json::object context, const Recipient& to) const;

  platform::ModuleContext& ctx_;
  const Settings& settings_;
  std::function<void()> on_queued_;
};

}  // namespace bazaar::notifications
