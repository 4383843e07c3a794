#include <platform/migrations.hpp>
#include <platform/security.hpp>

#include <soci/postgresql/soci-postgresql.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace bazaar::platform {

namespace {

constexpr long long kMigrationLockId = 0x62617a61617201;  // "bazaar" + 1

PGconn* raw_connection(soci::session& s) {
  auto* backend = static_cast<soci::postgresql_session_backend*>(s.get_backend());
  if (!backend || !backend->conn_) throw MigrationError("migrations need a PostgreSQL session");
  return backend->conn_;
}

// Migration files hold several statements, which only the simple-query protocol (PQexec) accepts.
void exec_script(soci::session& s, const std::string& sql, const std::string& what) {
  PGresult* r = PQexec(raw_connection(s), sql.c_str());
  const auto status = PQresultStatus(r);
  std::string error = (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) ? "" : PQresultErrorMessage(r);
  PQclear(r);
  if (!error.empty()) throw MigrationError(fmt::format("{} failed: {}", what, error));
}

void ensure_ledger(soci::session& s) {
  exec_script(s, "SET client_min_messages TO warning", "quieting notices");  // "already exists, skipping"
  exec_script(s, R"sql(
      CREATE SCHEMA IF NOT EXISTS platform;
      CREATE TABLE IF NOT EXISTS platform.schema_migrations (
        schema_name text        NOT NULL,
        name        text        NOT NULL,
        checksum    text        NOT NULL,
        applied_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (schema_name, name)
      ))sql",
              "creating platform.schema_migrations");
}

std::map<std::pair<std::string, std::string>, std::string> applied_checksums(soci::session& s) {
  std::map<std::pair<std::string, std::string>, std::string> out;
  soci::rowset<soci::row> rows = (s.prepare << "SELECT schema_name, name, checksum FROM platform.schema_migrations");
  for (const auto& row : rows) {
    out[{row.get<std::string>(0), row.get<std::string>(1)}] = row.get<std::string>(2);
  }
  return out;
}

void apply_one(soci::session& s, const Migration& m, const std::string& checksum) {
  const std::string what = fmt::format("migration {}/{}", m.schema, m.name);
  exec_script(s, "BEGIN", what);
  try {
    exec_script(s, fmt::format("CREATE SCHEMA IF NOT EXISTS {}", m.schema), what);
    exec_script(s, m.sql, what);
    s << "INSERT INTO platform.schema_migrations (schema_name, name, checksum) VALUES (:s, :n, :c)",
        soci::use(m.schema), soci::use(m.name), soci::use(checksum);
    exec_script(s, "COMMIT", what);
  } catch (...) {
    PQclear(PQexec(raw_connection(s), "ROLLBACK"));
    throw;
  }
}

}  // namespace

MigrationReport apply_migrations(soci::session& s, const std::vector<std::string>& schemas,
                                 const std::vector<Migration>& migrations) {
  MigrationReport report;
  // The pool's sessions carry the request deadline (database.statement_timeout_ms). A migration (an index
  // build) or waiting for another instance's migrations may take longer: lift it for this run, restore it after.
  std::string deadline;
  s << "SELECT current_setting('statement_timeout')", soci::into(deadline);
  s << "SET statement_timeout = 0";
  struct RestoreDeadline {
    soci::session& s;
    const std::string& value;
    ~RestoreDeadline() {
      try {
        s << "SELECT set_config('statement_timeout', :v, false)", soci::use(value);
      } catch (...) {
        // The connection is gone; the pool replaces it, with its deadline.
      }
    }
  } restore{s, deadline};
  s << "SELECT pg_advisory_lock(:id)", soci::use(kMigrationLockId);
  try {
    ensure_ledger(s);
    const auto applied = applied_checksums(s);
    for (const auto& schema : schemas) {
      std::vector<const Migration*> files;
      for (const auto& m : migrations) {
        if (m.schema == schema) files.push_back(&m);
      }
      std::sort(files.begin(), files.end(), [](auto* a, auto* b) { return a->name < b->name; });
      for (const Migration* m : files) {
        const std::string checksum = security::sha256_hex(m->sql);
        auto it = applied.find({m->schema, m->name});
        if (it != applied.end()) {
          if (it->second != checksum) {
            throw MigrationError(fmt::format(
                "migration {}/{} was changed after it was applied (checksum {} in the database, {} now); "
                "migrations are forward-only: add a new file instead",
                m->schema, m->name, it->second.substr(0, 12), checksum.substr(0, 12)));
          }
          ++report.already_applied;
          continue;
        }
        apply_one(s, *m, checksum);
        report.applied.push_back(m->schema + "/" + m->name);
      }
    }
  } catch (...) {
    s << "SELECT pg_advisory_unlock(:id)", soci::use(kMigrationLockId);
    throw;
  }
  s << "SELECT pg_advisory_unlock(:id)", soci::use(kMigrationLockId);
  return report;
}

}  // namespace bazaar::platform
