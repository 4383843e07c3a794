#include "service.hpp"

#include "domain/catalogue.hpp"
#include "domain/mime.hpp"

#include <platform/audit.hpp>
#include <platform/ids.hpp>
#include <platform/log.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace bazaar::notifications {

namespace json = boost::json;
using platform::Error;
using platform::Tx;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Subjects and titles are one line: whatever line breaks the template produced become spaces.
std::string one_line(std::string s) {
  std::replace_if(
      s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  const auto first = s.find_first_not_of(' ');
  const auto last = s.find_last_not_of(' ');
  return first == std::string::npos ? std::string() : s.substr(first, last - first + 1);
}

Error template_error(std::string detail) {
  return Error::make(platform::Errc::validation_failed, "template_error", std::move(detail));
}

// The user a webhook's event concerns, when its payload says so (for erasure on account deletion).
std::optional<std::string> user_of(const json::value& payload) {
  const auto* obj = payload.if_object();
  if (!obj) return std::nullopt;
  const json::value* user = obj->if_contains("user_id");
  if (!user) {
    if (const auto* order = obj->if_contains("order"); order && order->is_object()) {
      user = order->get_object().if_contains("user_id");
    }
  }
  if (!user || !user->is_string() || !platform::is_uuid(user->get_string())) return std::nullopt;
  return std::string(user->get_string());
}

}  // namespace

RenderedEmail render_template(const repo::TemplateRow& t, const json::value& context) {
  RenderedEmail out;
  auto subject = tmpl::render(t.subject, context, tmpl::Escape::none);
  if (!subject.ok()) {
    out.error = "subject: " + subject.error->describe();
    return out;
  }
  auto body = tmpl::render(t.body, context, tmpl::Escape::none);
  if (!body.ok()) {
    out.error = "body: " + body.error->describe();
    return out;
  }
  if (t.body_html) {
    auto html = tmpl::render(*t.body_html, context, tmpl::Escape::html);
    if (!html.ok()) {
      out.error = "body_html: " + html.error->describe();
      return out;
    }
    out.html = std::move(html.text);
  }
  out.subject = one_line(std::move(subject.text));
  out.text = std::move(body.text);
  return out;
}

Service::Service(platform::ModuleContext& ctx, const Settings& settings) : ctx_(ctx), settings_(settings) {}

json::object Service::with_base(json::object context, const Recipient& to) const {
  auto base = domain::base_context(settings_.store, to.name, to.email);
  for (auto& [k, v] : base) context[k] = std::move(v);
  return context;
}

void Service::compose(Tx& tx, const Trigger& trigger, const std::string& template_name, const Recipient& to,
                      json::object context, Channels channels) {
  auto& s = tx.sql();
  const json::value ctx = with_base(std::move(context), to);
  const std::string payload = json::serialize(ctx);
  bool queued = false;

  auto delivery = [&](std::string_view channel, std::string recipient) {
    repo::NewDelivery d;
    d.id = platform::new_uuid_v7();
    d.event_id = trigger.event_id;
    d.event_type = trigger.event_type;
    d.channel = std::string(channel);
    d.recipient = std::move(recipient);
    if (!to.name.empty()) d.recipient_name = to.name;
    d.user_id = to.user_id;
    d.template_name = template_name;
    d.payload = payload;
    return d;
  };
  auto fail = [&](repo::NewDelivery& d, std::string error) {
    d.status = "failed";
    d.last_error = std::move(error);
    platform::log::warn("notification not composed", {{"event_id", trigger.event_id},
                                                      {"template", template_name},
                                                      {"channel", d.channel},
                                                      {"error", *d.last_error}});
  };

  if (channels.email) {
    auto d = delivery(domain::kEmail, lower(to.email));
    if (!mime::valid_address(d.recipient)) {
      fail(d, fmt::format("'{}' is not an email address we can send to", d.recipient));
    } else if (auto t = repo::find_template(s, template_name, std::string(domain::kEmail)); !t) {
      fail(d, fmt::format("there is no email template '{}'", template_name));
    } else if (auto r = render_template(*t, ctx); r.error) {
      fail(d, "template '" + template_name + "' " + *r.error);
    } else {
      d.subject = std::move(r.subject);
      d.body_text = std::move(r.text);
      d.body_html = std::move(r.html);
    }
    if (repo::insert_delivery(s, d) && d.status == "pending") queued = true;
  }

  if (channels.in_app && to.user_id) {
    auto d = delivery(domain::kInApp, *to.user_id);
    if (auto t = repo::find_template(s, template_name, std::string(domain::kInApp)); !t) {
      fail(d, fmt::format("there is no in-app template '{}'", template_name));
    } else if (auto r = render_template(*t, ctx); r.error) {
      fail(d, "template '" + template_name + "' " + *r.error);
    } else {
      d.subject = std::move(r.subject);
      d.body_text = std::move(r.text);
      d.status = "sent";  // stored in the inbox is delivered
    }
    if (repo::insert_delivery(s, d) && d.status == "sent") {
      repo::insert_message(s, d.id, *to.user_id, template_name, *d.subject, *d.body_text);
    }
  }
  if (queued && on_queued_) tx.after_commit(on_queued_);
}

void Service::compose_for_admins(Tx& tx, const Trigger& trigger, const std::string& template_name,
                                 json::object context) {
  repo::insert_fanout(tx.sql(),
                      {trigger.event_id, trigger.event_type, "admins", template_name, json::serialize(context)});
  if (on_queued_) tx.after_commit(on_queued_);
}

void Service::enqueue_webhooks(Tx& tx, const platform::Event& event) {
  const auto endpoints = settings_.endpoints_for(event.type);
  if (endpoints.empty()) return;
  const std::string body = json::serialize(platform::event_to_json(event));
  bool queued = false;
  for (const auto* endpoint : endpoints) {
    repo::NewDelivery d;
    d.id = platform::new_uuid_v7();
    d.event_id = event.id;
    d.event_type = event.type;
    d.channel = std::string(domain::kWebhook);
    d.recipient = endpoint->url;
    d.user_id = user_of(event.payload);
    d.template_name = event.type;
    d.payload = body;
    if (repo::insert_delivery(tx.sql(), d)) queued = true;
  }
  if (queued && on_queued_) tx.after_commit(on_queued_);
}

void Service::erase_user(Tx& tx, const std::string& user_id) { repo::erase_user(tx.sql(), user_id); }

asio::awaitable<std::vector<repo::MessageRow>> Service::inbox(std::string user_id, bool unread_only,
                                                              std::string after_id, int limit) {
  co_return co_await ctx_.db().run(
      [&](soci::session& s) { return repo::list_messages(s, user_id, unread_only, after_id, limit); });
}

asio::awaitable<bool> Service::mark_read(std::string user_id, std::string id) {
  co_return co_await ctx_.db().run([&](soci::session& s) { return repo::mark_read(s, user_id, id); });
}

asio::awaitable<json::value> Service::export_personal_data(std::string user_id) {
  auto [messages, deliveries] = co_await ctx_.db().run([&](soci::session& s) {
    return std::pair{repo::list_messages(s, user_id, false, "", 100000), repo::deliveries_of_user(s, user_id)};
  });
  json::array inbox;
  for (const auto& m : messages) {
    inbox.push_back(json::object{{"id", m.id},
                                 {"type", m.type},
                                 {"title", m.title},
                                 {"body", m.body},
                                 {"read", m.read},
                                 {"created_at", m.created_at}});
  }
  json::array sent;
  for (const auto& d : deliveries) {
    if (d.channel == domain::kInApp) continue;  // listed above as messages
    sent.push_back(json::object{{"id", d.id},
                                {"channel", d.channel},
                                {"recipient", d.recipient},
                                {"template", d.template_name},
                                {"subject", d.subject ? json::value(*d.subject) : json::value(nullptr)},
                                {"status", d.status},
                                {"created_at", d.created_at},
                                {"sent_at", d.sent_at ? json::value(*d.sent_at) : json::value(nullptr)}});
  }
  co_return json::object{{"messages", std::move(inbox)}, {"deliveries", std::move(sent)}};
}

asio::awaitable<std::vector<repo::DeliveryRow>> Service::deliveries(repo::DeliveryFilter filter) {
  co_return co_await ctx_.db().run([&](soci::session& s) { return repo::list_deliveries(s, filter); });
}

asio::awaitable<Result<repo::DeliveryRow>> Service::retry(const platform::http::Request& rq, std::string id) {
  auto result = co_await ctx_.db().transaction([&](Tx& tx) -> Result<repo::DeliveryRow> {
    auto& s = tx.sql();
    auto row = repo::find_delivery(s, id, true);
    if (!row) return Error::not_found("The delivery does not exist.");
    if (row->channel == domain::kInApp) {
      return Error::conflict("not_retryable", "In-app messages are stored in the inbox, not sent: nothing to retry.");
    }
    if (row->recipient.starts_with("redacted:")) {
      return Error::conflict("not_retryable", "The recipient deleted their account; the message cannot be sent.");
    }
    if (row->channel == domain::kEmail && !row->body_text) {
      // It never rendered: render it again with the current template (which an admin has presumably fixed).
      auto t = repo::find_template(s, row->template_name, std::string(domain::kEmail));
      if (!t) return template_error(fmt::format("There is no email template '{}'.", row->template_name));
      boost::system::error_code ec;
      const auto context = json::parse(row->payload, ec);
      if (ec) return template_error("The delivery's context is not valid JSON.");
      auto r = render_template(*t, context);
      if (r.error) return template_error(fmt::format("Template '{}' still fails to render: {}", t->name, *r.error));
      repo::set_rendered(s, id, r.subject, r.text, r.html);
    }
    repo::reset_for_retry(s, id);
    platform::record_audit(tx, rq,
                           {"notifications.delivery.retry",
                            "notification_delivery",
                            id,
                            {{"previous_status", row->status},
                             {"attempts", row->attempts},
                             {"channel", row->channel},
                             {"template", row->template_name}}});
    if (on_queued_) tx.after_commit(on_queued_);
    return *repo::find_delivery(s, id);
  });
  co_return result;
}

asio::awaitable<std::vector<repo::TemplateRow>> Service::templates() {
  co_return co_await ctx_.db().run([](soci::session& s) { return repo::list_templates(s); });
}

asio::awaitable<Result<repo::TemplateRow>> Service::update_template(const platform::http::Request& rq,
                                                                    TemplateUpdate u) {
  const auto* spec = domain::find_template_spec(u.name);
  if (!spec) co_return Error::not_found(fmt::format("There is no notification template '{}'.", u.name));
  const bool channel_ok = (u.channel == domain::kEmail && spec->email) || (u.channel == domain::kInApp && spec->in_app);
  if (!channel_ok) {
    co_return Error::validation("channel", fmt::format("template '{}' has no {} version", u.name, u.channel));
  }
  if (u.channel == domain::kInApp && u.body_html) {
    co_return Error::validation("body_html", "in-app messages are plain text");
  }
  // Test-render against a context of exactly the shape the subscriptions build: an unknown variable or a
  // malformed tag is refused now, not discovered when the next customer's message fails.
  const json::value sample = domain::sample_context(u.name, settings_.store);
  std::vector<platform::FieldError> errors;
  auto check = [&](const char* field, const std::string& source, tmpl::Escape escape) {
    auto r = tmpl::render(source, sample, escape);
    if (!r.ok()) errors.push_back({field, r.error->describe()});
  };
  check("subject", u.subject, tmpl::Escape::none);
  check("body", u.body, tmpl::Escape::none);
  if (u.body_html) check("body_html", *u.body_html, tmpl::Escape::html);
  if (!errors.empty()) co_return Error::validation(std::move(errors), "The template does not render.");

  repo::TemplateRow row{u.name, u.channel, u.subject, u.body, u.body_html, {}, std::string(rq.user_id())};
  auto saved = co_await ctx_.db().transaction([&](Tx& tx) {
    auto stored = repo::save_template(tx.sql(), row);
    platform::record_audit(tx, rq,
                           {"notifications.template.update",
                            "notification_template",
                            u.name + "/" + u.channel,
                            {{"channel", u.channel},
                             {"subject", u.subject},
                             {"body_bytes", u.body.size()},
                             {"body_html_bytes", u.body_html ? u.body_html->size() : 0}}});
    return stored;
  });
  co_return saved;
}

}  // namespace bazaar::notifications
