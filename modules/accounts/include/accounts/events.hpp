#pragma once
// Events the accounts module publishes (through the outbox). Consumers: notifications (messages),
// cart (removes a deleted user's carts), orders (anonymises a deleted user's orders).
#include <boost/json.hpp>

#include <string>

namespace bazaar::accounts {

struct UserRegistered {
  static constexpr const char* kType = "accounts.user_registered";
  static constexpr int kVersion = 1;
  std::string user_id;
  std::string email;
  std::string first_name;
  std::string last_name;
};

// Carries the one-time token so that the notification can contain the verification link.
struct EmailVerificationRequested {
  static constexpr const char* kType = "accounts.email_verification_requested";
  static constexpr int kVersion = 1;
  std::string user_id;
  std::string email;
  std::string first_name;
  std::string token;
  std::string expires_at;
};

struct PasswordResetRequested {
  static constexpr const char* kType = "accounts.password_reset_requested";
  static constexpr int kVersion = 1;
  std::string user_id;
  std::string email;
  std::string first_name;
  std::string token;
  std::string expires_at;
};

struct UserDeleted {
  static constexpr const char* kType = "accounts.user_deleted";
  static constexpr int kVersion = 1;
  std::string user_id;
};

// Header-only so that consumers, which link only accounts_api, can decode the payloads.
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const UserRegistered& e) {
  v = {{"user_id", e.user_id}, {"email", e.email}, {"first_name", e.first_name}, {"last_name", e.last_name}};
}
inline UserRegistered tag_invoke(const boost::json::value_to_tag<UserRegistered>&, const boost::json::value& v) {
  const auto& o = v.as_object();
  return {boost::json::value_to<std::string>(o.at("user_id")), boost::json::value_to<std::string>(o.at("email")),
          boost::json::value_to<std::string>(o.at("first_name")), boost::json::value_to<std::string>(o.at("last_name"))};
}
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const EmailVerificationRequested& e) {
  v = {{"user_id", e.user_id}, {"email", e.email}, {"first_name", e.first_name}, {"token", e.token},
       {"expires_at", e.expires_at}};
}
inline EmailVerificationRequested tag_invoke(const boost::json::value_to_tag<EmailVerificationRequested>&,
                                             const boost::json::value& v) {
  const auto& o = v.as_object();
  return {boost::json::value_to<std::string>(o.at("user_id")), boost::json::value_to<std::string>(o.at("email")),
          boost::json::value_to<std::string>(o.at("first_name")), boost::json::value_to<std::string>(o.at("token")),
          boost::json::value_to<std::string>(o.at("expires_at"))};
}
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const PasswordResetRequested& e) {
  v = {{"user_id", e.user_id}, {"email", e.email}, {"first_name", e.first_name}, {"token", e.token},
       {"expires_at", e.expires_at}};
}
inline PasswordResetRequested tag_invoke(const boost::json::value_to_tag<PasswordResetRequested>&,
                                         const boost::json::value& v) {
  const auto& o = v.as_object();
  return {boost::json::value_to<std::string>(o.at("user_id")), boost::json::value_to<std::string>(o.at("email")),
          boost::json::value_to<std::string>(o.at("first_name")), boost::json::value_to<std::string>(o.at("token")),
          boost::json::value_to<std::string>(o.at("expires_at"))};
}
inline void tag_invoke(const boost::json::value_from_tag&, boost::json::value& v, const UserDeleted& e) {
  v = {{"user_id", e.user_id}};
}
inline UserDeleted tag_invoke(const boost::json::value_to_tag<UserDeleted>&, const boost::json::value& v) {
  return {boost::json::value_to<std::string>(v.as_object().at("user_id"))};
}

}  // namespace bazaar::accounts
