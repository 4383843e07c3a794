// The migration runner against the real PostgreSQL, with migration sets private to each test (schemas
// "mtest_<unique>"): idempotent re-runs, checksums of applied files, all-or-nothing files, and the advisory
// lock that lets several instances start together.
#include "support/test_env.hpp"

#include <platform/db.hpp>
#include <platform/migrations.hpp>

#include <doctest/doctest.h>
#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>

#include <barrier>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace bazaar;
using platform::Migration;
using platform::MigrationError;
using platform::MigrationReport;

// A direct connection of its own. SOCI does not take URI-style URLs, so libpq turns the test URL into
// key='value' pairs first.
std::unique_ptr<soci::session> connect() {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(testing::database_url().c_str(), &error);
  if (!options) {
    if (error) PQfreemem(error);
    throw std::runtime_error("BAZAAR_TEST_DATABASE_URL is not a valid connection string");
  }
  std::string conninfo;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val || !*o->val) continue;
    std::string value;
    for (const char* c = o->val; *c; ++c) {
      if (*c == '\\' || *c == '\'') value.push_back('\\');
      value.push_back(*c);
    }
    conninfo += std::string(conninfo.empty() ? "" : " ") + o->keyword + "='" + value + "'";
  }
  PQconninfoFree(options);
  auto session = std::make_unique<soci::session>(soci::postgresql, conninfo);
  *session << "SET client_min_messages TO warning";  // no "drop cascades to ..." notices on stderr
  return session;
}

// A private schema and its ledger rows, dropped again when the test ends.
struct TestSchema {
  std::string name = "mtest_" + testing::unique_suffix();
  std::unique_ptr<soci::session> session = connect();

  ~TestSchema() {
    try {
      *session << "DROP SCHEMA IF EXISTS " + name + " CASCADE";
      *session << "DELETE FROM platform.schema_migrations WHERE schema_name = :s", soci::use(name);
    } catch (...) {
      // Leftovers in a throwaway test database are harmless.
    }
  }
  soci::session& s() { return *session; }
  Migration file(const std::string& file_name, const std::string& sql) const { return Migration{name, file_name, sql}; }

  long long ledger_rows() {
    long long n = 0;
    s() << "SELECT count(*) FROM platform.schema_migrations WHERE schema_name = :s", soci::into(n), soci::use(name);
    return n;
  }
  bool ledger_has(const std::string& file_name) {
    long long n = 0;
    s() << "SELECT count(*) FROM platform.schema_migrations WHERE schema_name = :s AND name = :n", soci::into(n),
        soci::use(name), soci::use(file_name);
    return n == 1;
  }
  bool table_exists(const std::string& table) {
    const std::string qualified = name + "." + table;
    int exists = 0;
    s() << "SELECT (to_regclass(:t) IS NOT NULL)::int", soci::into(exists), soci::use(qualified);
    return exists == 1;
  }
  long long count(const std::string& table) {
    long long n = 0;
    s() << "SELECT count(*) FROM " + name + "." + table, soci::into(n);
    return n;
  }
};

}  // namespace

TEST_SUITE("db.platform") {
  TEST_CASE("migrations: applying twice is idempotent and files run in name order") {
    TestSchema t;
    // Deliberately listed out of order: 0002 needs 0001's table.
    const std::vector<Migration> files = {
        t.file("0002_rows.sql", "INSERT INTO " + t.name + ".things (label) VALUES ('a'), ('b');"),
        t.file("0001_things.sql", "CREATE TABLE " + t.name + ".things (label text NOT NULL);\n"
                                  "CREATE INDEX things_label_idx ON " + t.name + ".things (label);"),
    };
    MigrationReport first = platform::apply_migrations(t.s(), {t.name}, files);
    CHECK(first.applied == std::vector<std::string>{t.name + "/0001_things.sql", t.name + "/0002_rows.sql"});
    CHECK(first.already_applied == 0);
    CHECK(t.count("things") == 2);
    CHECK(t.ledger_rows() == 2);

    MigrationReport second = platform::apply_migrations(t.s(), {t.name}, files);
    CHECK(second.applied.empty());
    CHECK(second.already_applied == 2);
    CHECK(t.count("things") == 2);
    CHECK(t.ledger_rows() == 2);

    // A new file is applied alone.
    auto more = files;
    more.push_back(t.file("0003_more.sql", "INSERT INTO " + t.name + ".things (label) VALUES ('c');"));
    MigrationReport third = platform::apply_migrations(t.s(), {t.name}, more);
    CHECK(third.applied == std::vector<std::string>{t.name + "/0003_more.sql"});
    CHECK(third.already_applied == 2);
    CHECK(t.count("things") == 3);
  }

  TEST_CASE("migrations: a schema not asked for is left alone") {
    TestSchema t, other;
    const std::vector<Migration> files = {t.file("0001_a.sql", "CREATE TABLE " + t.name + ".a (x int);"),
                                          other.file("0001_b.sql", "CREATE TABLE " + other.name + ".b (x int);")};
    auto report = platform::apply_migrations(t.s(), {t.name}, files);
    CHECK(report.applied == std::vector<std::string>{t.name + "/0001_a.sql"});
    CHECK(t.table_exists("a"));
    CHECK(other.ledger_rows() == 0);
  }

  TEST_CASE("migrations: changing an applied file is an error naming the schema and file") {
    TestSchema t;
    std::vector<Migration> files = {t.file("0001_init.sql", "CREATE TABLE " + t.name + ".t (id int);")};
    platform::apply_migrations(t.s(), {t.name}, files);
    files[0].sql += "\n-- an innocent-looking comment";
    files.push_back(t.file("0002_next.sql", "CREATE TABLE " + t.name + ".u (id int);"));

    std::string message;
    try {
      platform::apply_migrations(t.s(), {t.name}, files);
    } catch (const MigrationError& e) {
      message = e.what();
    }
    CAPTURE(message);
    CHECK(message.find(t.name + "/0001_init.sql") != std::string::npos);
    CHECK(message.find("changed") != std::string::npos);
    CHECK_FALSE(t.table_exists("u"));  // nothing after the error ran
    CHECK(t.ledger_rows() == 1);

    // The runner released its lock: another session migrates without waiting.
    auto other = connect();
    *other << "SET lock_timeout = '2s'";
    files[0].sql = "CREATE TABLE " + t.name + ".t (id int);";
    auto report = platform::apply_migrations(*other, {t.name}, files);
    CHECK(report.applied == std::vector<std::string>{t.name + "/0002_next.sql"});
  }

  TEST_CASE("migrations: a failing file rolls back entirely and stops the run") {
    TestSchema t;
    const std::vector<Migration> files = {
        t.file("0001_ok.sql", "CREATE TABLE " + t.name + ".ok (id int);"),
        t.file("0002_broken.sql", "CREATE TABLE " + t.name + ".partial (id int);\n"
                                  "INSERT INTO " + t.name + ".partial VALUES (1);\n"
                                  "ALTER TABLE " + t.name + ".ok ADD COLUMN extra int;\n"
                                  "SELECT no_such_function();"),
        t.file("0003_after.sql", "CREATE TABLE " + t.name + ".after (id int);"),
    };
    std::string message;
    try {
      platform::apply_migrations(t.s(), {t.name}, files);
    } catch (const MigrationError& e) {
      message = e.what();
    }
    CAPTURE(message);
    CHECK(message.find(t.name + "/0002_broken.sql") != std::string::npos);
    CHECK(message.find("no_such_function") != std::string::npos);
    CHECK(t.ledger_has("0001_ok.sql"));
    CHECK_FALSE(t.ledger_has("0002_broken.sql"));
    CHECK_FALSE(t.ledger_has("0003_after.sql"));
    CHECK_FALSE(t.table_exists("partial"));
    CHECK_FALSE(t.table_exists("after"));
    int extra_columns = -1;
    t.s() << R"sql(SELECT count(*) FROM information_schema.columns
                   WHERE table_schema = :s AND table_name = 'ok' AND column_name = 'extra')sql",
        soci::into(extra_columns), soci::use(t.name);
    CHECK(extra_columns == 0);

    // The session is usable and the lock free: a fixed file applies, from another session too.
    auto fixed = files;
    fixed[1].sql = "CREATE TABLE " + t.name + ".partial (id int);";
    auto other = connect();
    *other << "SET lock_timeout = '2s'";
    auto report = platform::apply_migrations(*other, {t.name}, fixed);
    CHECK(report.applied == std::vector<std::string>{t.name + "/0002_broken.sql", t.name + "/0003_after.sql"});
    CHECK(t.table_exists("partial"));
    CHECK(t.count("partial") == 0);
  }

  TEST_CASE("migrations: concurrent runners apply each file exactly once") {
    TestSchema t;
    // 0001 holds its transaction open for a moment, so that without the lock the second runner would read
    // the ledger before the first one wrote it and apply every file again.
    const std::vector<Migration> files = {
        t.file("0001_a.sql", "CREATE TABLE " + t.name + ".runs (file text NOT NULL);\n"
                             "INSERT INTO " + t.name + ".runs VALUES ('0001');\n"
                             "SELECT pg_sleep(0.2);"),
        t.file("0002_b.sql", "INSERT INTO " + t.name + ".runs VALUES ('0002');"),
        t.file("0003_c.sql", "CREATE TABLE " + t.name + ".c (id int);\nINSERT INTO " + t.name + ".runs VALUES ('0003');"),
    };
    constexpr int kRunners = 3;
    std::vector<std::unique_ptr<soci::session>> sessions;
    for (int i = 0; i < kRunners; ++i) sessions.push_back(connect());
    std::vector<std::optional<MigrationReport>> reports(kRunners);
    std::vector<std::exception_ptr> errors(kRunners);
    std::barrier start(kRunners);
    {
      std::vector<std::jthread> runners;
      for (int i = 0; i < kRunners; ++i) {
        runners.emplace_back([&, i] {
          start.arrive_and_wait();
          try {
            reports[static_cast<std::size_t>(i)] = platform::apply_migrations(*sessions[static_cast<std::size_t>(i)],
                                                                              {t.name}, files);
          } catch (...) {
            errors[static_cast<std::size_t>(i)] = std::current_exception();
          }
        });
      }
    }
    std::size_t applied = 0, already = 0;
    for (int i = 0; i < kRunners; ++i) {
      const auto idx = static_cast<std::size_t>(i);
      CHECK(errors[idx] == nullptr);
      REQUIRE(reports[idx]);
      applied += reports[idx]->applied.size();
      already += reports[idx]->already_applied;
    }
    CHECK(applied == 3);
    CHECK(already == 3 * (kRunners - 1));
    CHECK(t.count("runs") == 3);
    CHECK(t.ledger_rows() == 3);
  }
}

TEST_SUITE("db.platform") {
  TEST_CASE("migrations: slow files and waits for the lock are not cut off by database.statement_timeout_ms") {
    TestSchema t;
    // The pool's sessions carry the request deadline (200 ms here); a migration (an index build) and an
    // instance waiting for another's migrations may take longer, and must not fail for it.
    platform::Database db(platform::DatabaseOptions{testing::database_url(), 2, 16, std::chrono::milliseconds(5000),
                                                    std::chrono::milliseconds(200)});
    const std::vector<Migration> files = {
        t.file("0001_slow.sql", "CREATE TABLE " + t.name + ".slow (id int);\nSELECT pg_sleep(0.4);")};
    std::vector<std::optional<MigrationReport>> reports(2);
    std::vector<std::exception_ptr> errors(2);
    std::barrier start(2);
    {
      std::vector<std::jthread> runners;
      for (std::size_t i = 0; i < 2; ++i) {
        runners.emplace_back([&, i] {
          start.arrive_and_wait();
          try {
            db.run_sync([&](soci::session& s) { reports[i] = platform::apply_migrations(s, {t.name}, files); });
          } catch (...) {
            errors[i] = std::current_exception();
          }
        });
      }
    }
    for (std::size_t i = 0; i < 2; ++i) {
      std::string error;
      try {
        if (errors[i]) std::rethrow_exception(errors[i]);
      } catch (const std::exception& e) {
        error = e.what();
      }
      CHECK(error == "");
      CHECK(reports[i].has_value());
    }
    CHECK(t.table_exists("slow"));
    CHECK(t.ledger_rows() == 1);

    // Afterwards the sessions keep their deadline for ordinary work.
    for (int i = 0; i < 2; ++i) {
      std::string sqlstate;
      try {
        db.run_sync([](soci::session& s) { s << "SELECT pg_sleep(1)"; });
      } catch (const std::exception& e) {
        sqlstate = platform::sqlstate_of(e);
      }
      CHECK(sqlstate == "57014");
    }
  }
}
