#pragma once
// Forward-only SQL migrations, one folder per schema (migrations/<schema>/NNNN_what.sql), embedded into
// the binary at build time. Each file runs in its own transaction and is recorded with its checksum in
// platform.schema_migrations; a changed, already-applied file is an error. A PostgreSQL advisory lock lets
// several instances start together.
#include <soci/soci.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace bazaar::platform {

struct Migration {
  std::string schema;
  std::string name;  // "0001_init.sql"
  std::string sql;
};

// Every migration compiled into this binary, ordered by schema then name.
const std::vector<Migration>& embedded_migrations();

class MigrationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MigrationReport {
  std::vector<std::string> applied;  // "catalog/0002_search.sql"
  std::size_t already_applied = 0;
};

// Applies pending migrations of `schemas`, in that order ("platform" must come first).
MigrationReport apply_migrations(soci::session& s, const std::vector<std::string>& schemas,
                                 const std::vector<Migration>& migrations = embedded_migrations());

}  // namespace bazaar::platform
