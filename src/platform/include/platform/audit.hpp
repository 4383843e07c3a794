#pragma once
// The admin audit log: every admin write records who did what to which object, in the same transaction
// as the write itself (so the log never claims a change that rolled back, nor misses one that committed).
#include <platform/db.hpp>
#include <platform/http.hpp>

#include <boost/json/object.hpp>

#include <string>

namespace bazaar::platform {

struct AuditEntry {
  std::string action;       // "catalog.product.update"
  std::string target_type;  // "product"
  std::string target_id;
  boost::json::object details;  // what changed (no secrets)
};

// Records `entry` for the request's principal.
void record_audit(Tx& tx, const http::Request& rq, const AuditEntry& entry);

}  // namespace bazaar::platform
