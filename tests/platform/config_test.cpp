// Configuration: built-in defaults, a --config file merged over them, BAZAAR_A__B environment overrides,
// and accessors whose errors name the key.
#include "support/platform_app.hpp"

#include <platform/config.hpp>
#include <platform/ids.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using bazaar::platform::Config;
using bazaar::platform::ConfigError;
using bazaar::platform::parse_listen_address;

// An envp array as main() gets it: owns its strings, null-terminated.
class Env {
 public:
  Env(std::initializer_list<std::string> entries) : strings_(entries) {
    for (auto& s : strings_) pointers_.push_back(s.data());
    pointers_.push_back(nullptr);
  }
  char** envp() { return pointers_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> pointers_;
};

// A file in the temp directory, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& content)
      : path_(fs::temp_directory_path() / ("bazaar-config-test-" + bazaar::platform::new_uuid_v7() + ".json")) {
    std::ofstream(path_) << content;
  }
  ~TempFile() {
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

// The message of the ConfigError f throws ("" when it throws none).
template <class F>
std::string config_error(F f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("config") {
  TEST_CASE("config: the built-in defaults load and hold the documented keys") {
    Config c = Config::load("", "", nullptr);
    CHECK(c.string("http.listen", "") == "127.0.0.1:8080");
    CHECK(c.integer("http.body_limit_bytes", 0) == 1048576);
    CHECK(c.boolean("rate_limit.enabled", false));
    CHECK(c.string("redis.url", "x").empty());
    CHECK(c.strings("http.cors_origins") == std::vector<std::string>{"http://localhost:3000"});
    for (const char* key : {"http.listen", "https.listen", "admin.listen", "https.cert_file", "https.key_file",
                            "database.url", "database.pool_size", "database.migrate_on_start", "redis.url",
                            "auth.issuer", "auth.audience", "auth.access_ttl_seconds", "auth.keys_dir",
                            "rate_limit.enabled", "payments.webhook_secret", "notifications.email.transport",
                            "notifications.email.smtp_url", "notifications.email.from", "notifications.email.dir",
                            "media.dir", "store.currency", "store.public_url"}) {
      CAPTURE(key);
      CHECK(c.has(key));
    }
  }

  TEST_CASE("config: environment overrides keep numbers, booleans and strings typed") {
    Config c = Config::load("", "", nullptr);
    Env env{"BAZAAR_HTTP__THREADS=8",
            "BAZAAR_RATE_LIMIT__ENABLED=false",
            "BAZAAR_RATE_LIMIT__PER_IP_PER_MINUTE=77",
            "BAZAAR_DATABASE__URL=postgresql://u@db.example:5432/shop?sslmode=require",
            "BAZAAR_NOTIFICATIONS__EMAIL__FROM=shop <shop@example.com>",
            "BAZAAR_STORE__CURRENCY=\"USD\"",
            "BAZAAR_HTTP__CORS_ORIGINS=[\"https://a.example\",\"https://b.example\"]",
            "BAZAAR_EXTRA__OBJECT={\"a\":1}"};
    c.apply_env(env.envp());
    REQUIRE(c.find("http.threads") != nullptr);
    CHECK(c.find("http.threads")->is_int64());
    CHECK(c.integer("http.threads", 0) == 8);
    CHECK(c.find("rate_limit.enabled")->is_bool());
    CHECK_FALSE(c.boolean("rate_limit.enabled", true));
    CHECK(c.integer("rate_limit.per_ip_per_minute", 0) == 77);  // single underscores stay inside a name
    CHECK(c.string("database.url", "") == "postgresql://u@db.example:5432/shop?sslmode=require");
    CHECK(c.string("notifications.email.from", "") == "shop <shop@example.com>");
    CHECK(c.string("store.currency", "") == "USD");  // a JSON string literal loses its quotes
    CHECK(c.strings("http.cors_origins") == std::vector<std::string>{"https://a.example", "https://b.example"});
    // An object is not taken apart: it stays the string it was.
    REQUIRE(c.find("extra.object") != nullptr);
    CHECK(c.string("extra.object", "") == "{\"a\":1}");
    // Untouched keys keep their defaults.
    CHECK(c.string("http.listen", "") == "127.0.0.1:8080");
  }

  TEST_CASE("config: an empty environment value is an empty string, e.g. to disable a listener") {
    Config c = Config::load("", "", nullptr);
    Env env{"BAZAAR_HTTPS__LISTEN=", "BAZAAR_REDIS__URL="};
    c.apply_env(env.envp());
    REQUIRE(c.find("https.listen") != nullptr);
    CHECK(c.find("https.listen")->is_string());
    CHECK(c.string("https.listen", "fallback").empty());
    CHECK(c.string("redis.url", "fallback").empty());
  }

  TEST_CASE("config: variables that are not config keys are ignored") {
    Config c = Config::load("", "", nullptr);
    const std::string before = json::serialize(c.root());
    Env env{"BAZAAR_ADMIN_PASSWORD=secret", "PATH=/usr/bin", "HOME=/root", "BAZAAR_=x", "BAZAAR_NOEQUALS",
            "OTHER__KEY=1", "bazaar_http__threads=3"};
    c.apply_env(env.envp());
    CHECK(json::serialize(c.root()) == before);
    CHECK_FALSE(c.has("admin_password"));
    c.apply_env(nullptr);  // no environment at all
    CHECK(json::serialize(c.root()) == before);
  }

  TEST_CASE("config: names are lower-cased and nest on double underscores, creating sections") {
    Config c = Config::load("", "", nullptr);
    Env env{"BAZAAR_NEW_SECTION__INNER__DEEP_KEY=1"};
    c.apply_env(env.envp());
    CHECK(c.integer("new_section.inner.deep_key", 0) == 1);
    // A scalar in the way is replaced by a section.
    c.set("store.currency.code", "EUR");
    CHECK(c.string("store.currency.code", "") == "EUR");
  }

  TEST_CASE("config: a --config file merges over the defaults key by key, and the environment wins over it") {
    TempFile file(R"({"http": {"threads": 3, "cors_origins": ["https://shop.example"]},
                      "database": {"url": "postgresql://file@127.0.0.1:1/file"},
                      "custom": {"flag": true}})");
    Env env{"BAZAAR_HTTP__THREADS=5"};
    Config c = Config::load("", file.path(), env.envp());
    CHECK(c.integer("http.threads", 0) == 5);                    // environment over file
    CHECK(c.string("http.listen", "") == "127.0.0.1:8080");       // default kept beside the file's keys
    CHECK(c.integer("http.body_limit_bytes", 0) == 1048576);
    CHECK(c.strings("http.cors_origins") == std::vector<std::string>{"https://shop.example"});  // arrays replace
    CHECK(c.string("database.url", "") == "postgresql://file@127.0.0.1:1/file");
    CHECK(c.integer("database.pool_size", 0) == 4);
    CHECK(c.boolean("custom.flag", false));

    Config no_env = Config::load("", file.path(), nullptr);
    CHECK(no_env.integer("http.threads", 0) == 3);
  }

  TEST_CASE("config: a defaults file replaces the built-in defaults") {
    TempFile defaults(R"({"http": {"listen": "0.0.0.0:9000"}})");
    Config c = Config::load(defaults.path(), "", nullptr);
    CHECK(c.string("http.listen", "") == "0.0.0.0:9000");
    CHECK_FALSE(c.has("database.url"));
  }

  TEST_CASE("config: an unreadable, malformed or non-object config file is an error naming the file") {
    const std::string missing = (fs::temp_directory_path() / "bazaar-no-such-config.json").string();
    auto e = config_error([&] { Config::load("", missing, nullptr); });
    CHECK(contains(e, missing));

    TempFile bad(R"({"http": {"threads": 3,)");
    e = config_error([&] { Config::load("", bad.path(), nullptr); });
    CHECK(contains(e, bad.path()));
    CHECK(contains(e, "not valid JSON"));

    TempFile array("[1, 2]");
    e = config_error([&] { Config::load("", array.path(), nullptr); });
    CHECK(contains(e, array.path()));
    CHECK(contains(e, "object"));
  }

  TEST_CASE("config: a wrong type is an error naming the key") {
    Config c(json::parse(R"({"http": {"threads": "many", "listen": 8080, "trust_forwarded_for": "maybe",
                                      "cors_origins": 5, "origins2": ["a", 1], "ratio": 1.5, "obj": {"a": 1}}})"));
    auto e = config_error([&] { c.integer("http.threads", 1); });
    CHECK(contains(e, "'http.threads'"));
    CHECK(contains(e, "integer"));
    CHECK(contains(e, "many"));
    CHECK(contains(config_error([&] { c.string("http.listen", ""); }), "'http.listen'"));
    CHECK(contains(config_error([&] { c.boolean("http.trust_forwarded_for", false); }), "'http.trust_forwarded_for'"));
    CHECK(contains(config_error([&] { c.strings("http.cors_origins"); }), "'http.cors_origins'"));
    CHECK(contains(config_error([&] { c.strings("http.origins2"); }), "'http.origins2'"));
    CHECK(contains(config_error([&] { c.integer("http.ratio", 1); }), "'http.ratio'"));
    CHECK(contains(config_error([&] { c.integer("http.obj", 1); }), "'http.obj'"));
    CHECK(contains(config_error([&] { c.millis("http.threads", 1); }), "'http.threads'"));
  }

  TEST_CASE("config: a value out of range is an error naming the key and the range") {
    Config c(json::parse(R"({"database": {"pool_size": 0, "big": 18446744073709551615}, "t": {"ms": -5}})"));
    auto e = config_error([&] { c.integer("database.pool_size", 4, 1, 256); });
    CHECK(contains(e, "'database.pool_size'"));
    CHECK(contains(e, "between 1 and 256"));
    CHECK(contains(e, "got 0"));
    CHECK(contains(config_error([&] { c.integer("database.big", 4); }), "'database.big'"));
    CHECK(contains(config_error([&] { c.millis("t.ms", 10); }), "'t.ms'"));
    // The fallback is range-checked as well: a bad default is caught, not served.
    CHECK(contains(config_error([&] { c.integer("database.absent", 0, 1, 10); }), "'database.absent'"));
  }

  TEST_CASE("config: strings from the environment that mean numbers and booleans are read as such") {
    Config c(json::parse(R"({"a": {"n": "42", "neg": "-3", "yes": "yes", "off": "OFF", "one": "1", "zero": "0"}})"));
    CHECK(c.integer("a.n", 0) == 42);
    CHECK(c.integer("a.neg", 0) == -3);
    CHECK(c.boolean("a.yes", false));
    CHECK_FALSE(c.boolean("a.off", true));
    CHECK(c.boolean("a.one", false));
    CHECK_FALSE(c.boolean("a.zero", true));
    CHECK(contains(config_error([&] { c.integer("a.yes", 0); }), "'a.yes'"));
  }

  TEST_CASE("config: absent keys and nulls fall back; required strings name the key") {
    Config c(json::parse(R"({"a": {"nothing": null, "empty": ""}})"));
    CHECK(c.string("a.missing", "fb") == "fb");
    CHECK(c.string("a.nothing", "fb") == "fb");
    CHECK(c.integer("a.nothing", 7) == 7);
    CHECK(c.boolean("a.missing", true));
    CHECK(c.strings("a.missing").empty());
    CHECK(c.millis("a.missing", 250) == std::chrono::milliseconds(250));
    CHECK_FALSE(c.has("a.missing.deeper"));
    CHECK_FALSE(c.has("a.empty.deeper"));  // through a scalar: absent, not a crash
    CHECK(contains(config_error([&] { c.required_string("a.empty"); }), "'a.empty'"));
    CHECK(contains(config_error([&] { c.required_string("a.missing"); }), "'a.missing'"));
  }

  TEST_CASE("config: strings() splits a comma-separated environment value") {
    Config c = Config::load("", "", nullptr);
    Env env{"BAZAAR_HTTP__CORS_ORIGINS=https://a.example,https://b.example", "BAZAAR_X__SPARSE=,a,,b,",
            "BAZAAR_X__EMPTY=", "BAZAAR_X__ONE=https://only.example"};
    c.apply_env(env.envp());
    CHECK(c.strings("http.cors_origins") == std::vector<std::string>{"https://a.example", "https://b.example"});
    CHECK(c.strings("x.sparse") == std::vector<std::string>{"a", "b"});
    CHECK(c.strings("x.empty").empty());
    CHECK(c.strings("x.one") == std::vector<std::string>{"https://only.example"});
  }

  TEST_CASE("config: listen addresses parse, and malformed ones are errors naming the key") {
    auto a = parse_listen_address("http.listen", "127.0.0.1:8080");
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == 8080);
    auto v6 = parse_listen_address("https.listen", "[::1]:8443");
    CHECK(v6.host == "::1");
    CHECK(v6.port == 8443);
    CHECK(parse_listen_address("admin.listen", "0.0.0.0:0").port == 0);  // ephemeral
    for (const char* bad : {"localhost", ":8080", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:65536",
                            "127.0.0.1:-1", "127.0.0.1:80x"}) {
      CAPTURE(bad);
      auto e = config_error([&] { parse_listen_address("admin.listen", bad); });
      CHECK(contains(e, "'admin.listen'"));
    }
  }

  TEST_CASE("config: a bad listen address stops start-up with an error naming the key") {
    auto cfg = bazaar::testing::test_config();
    cfg.set("https.listen", "");
    cfg.set("http.listen", "localhost");
    auto e = config_error([&] { bazaar::testing::PlatformApp app(cfg); });
    CHECK(contains(e, "http.listen"));

    cfg.set("http.listen", "999.0.0.1:80");
    e = config_error([&] { bazaar::testing::PlatformApp app(cfg); });
    CHECK(contains(e, "http.listen"));

    cfg.set("http.listen", "127.0.0.1:0");
    cfg.set("http.body_limit_bytes", 10);
    e = config_error([&] { bazaar::testing::PlatformApp app(cfg); });
    CHECK(contains(e, "http.body_limit_bytes"));
  }
}
