#pragma once
// libpq helpers shared by the blocking statements (pq.cpp, on a pooled SOCI session) and the I/O threads'
// non-blocking connections (async_connection.cpp): result checks and the one way errors are raised.
#include <platform/error.hpp>

#include <libpq-fe.h>

#include <string>

namespace bazaar::platform::pq::detail {

inline bool succeeded(const PGresult* r) {
  const auto status = PQresultStatus(r);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

inline std::string sqlstate(const PGresult* r) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return state ? state : "";
}

// Throws soci::postgresql_soci_error with the result's (or the connection's) message and SQLSTATE; an
// empty SQLSTATE (connection trouble) becomes "08006" so that callers see a connection failure.
[[noreturn]] void raise(PGconn* conn, const PGresult* r);

// Server notices ("text-search query contains only stop words") go to the debug log, not to stderr.
void log_notice(void*, const char* message);

// The 503 every database outage becomes (connection lost, statement timeout).
Error database_unavailable(std::string internal);

}  // namespace bazaar::platform::pq::detail
