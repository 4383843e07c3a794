#include <platform/audit.hpp>
#include <platform/ids.hpp>
#include <platform/log.hpp>

namespace bazaar::platform {

void record_audit(Tx& tx, const http::Request& rq, const AuditEntry& entry) {
  const std::string id = new_uuid_v7();
  const std::string actor = rq.principal ? rq.principal->user_id : std::string("system");
  boost::json::object details = entry.details;
  log::redact(details);  // the audit log is read by people: keep secrets out of it too
  const std::string details_text = boost::json::serialize(details);
  tx.sql() << R"sql(
      INSERT INTO platform.audit_log (id, actor_id, action, target_type, target_id, details, request_id)
      VALUES (CAST(:id AS uuid), :actor, :action, :tt, :tid, CAST(:details AS jsonb), :rid))sql",
      soci::use(id), soci::use(actor), soci::use(entry.action), soci::use(entry.target_type),
      soci::use(entry.target_id), soci::use(details_text), soci::use(rq.request_id);
}

}  // namespace bazaar::platform
