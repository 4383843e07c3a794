#include "app/cli.hpp"

#include "app/composition.hpp"

#include <platform/log.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

#ifndef BAZAAR_VERSION
#define BAZAAR_VERSION "dev"
#endif

namespace bazaar::app {

namespace {

constexpr const char* kUsage = R"(bazaar — e-commerce backend

usage: bazaar <command> [--config FILE] [options]

commands:
  serve                     serve the API (migrates first when database.migrate_on_start is true)
  migrate                   apply pending database migrations and exit
  seed-demo [--products N]  load the deterministic demo catalog
  create-admin --email E    create an admin user (password from BAZAAR_ADMIN_PASSWORD or stdin)
  version                   print the version

configuration: built-in defaults (config/default.json), then --config FILE, then environment variables
(BAZAAR_DATABASE__URL overrides database.url; a double underscore separates levels).
)";

struct Arguments {
  std::string command;
  std::string config_file;
  std::vector<std::string> rest;  // command-specific options
};

Arguments parse(int argc, char** argv) {
  Arguments a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config") {
      if (i + 1 >= argc) throw std::invalid_argument("--config needs a file name");
      a.config_file = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      a.config_file = arg.substr(9);
    } else if (a.command.empty() && arg.rfind("--", 0) != 0) {
      a.command = arg;
    } else {
      a.rest.push_back(arg);
    }
  }
  return a;
}

int serve(Application& app) {
  auto& platform = *app.platform;
  if (platform.config().boolean("database.migrate_on_start", true)) platform.migrate();
  platform.start();
  platform::log::info("bazaar started", {{"version", BAZAAR_VERSION},
                                         {"http_port", platform.port("http")},
                                         {"https_port", platform.port("https")},
                                         {"admin_port", platform.port("admin")}});
  return platform.serve_until_signal();
}

}  // namespace

int run_cli(int argc, char** argv, char** envp) {
  Arguments args;
  try {
    args = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bazaar: %s\n\n%s", e.what(), kUsage);
    return 2;
  }
  if (args.command.empty() || args.command == "help" ||
      std::find(args.rest.begin(), args.rest.end(), "--help") != args.rest.end()) {
    std::fputs(kUsage, args.command.empty() && args.rest.empty() ? stderr : stdout);
    return args.command.empty() && args.rest.empty() ? 2 : 0;
  }
  if (args.command == "version") {
    std::printf("bazaar %s\n", BAZAAR_VERSION);
    return 0;
  }
  try {
    auto config = platform::Config::load("", args.config_file, envp);
    auto app = compose(std::move(config));
    if (args.command == "serve") {
      if (!args.rest.empty()) throw std::invalid_argument(fmt::format("serve takes no option '{}'", args.rest.front()));
      return serve(*app);
    }
    if (args.command == "migrate") {
      app->platform->migrate();
      return 0;
    }
    for (const auto& command : app->platform->commands()) {
      if (command.name == args.command) {
        app->platform->migrate();
        return command.run(args.rest);
      }
    }
    std::fprintf(stderr, "bazaar: unknown command '%s'\n\n%s", args.command.c_str(), kUsage);
    return 2;
  } catch (const platform::ConfigError& e) {
    std::fprintf(stderr, "bazaar: configuration error: %s\n", e.what());
    return 3;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "bazaar: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bazaar: %s\n", e.what());
    return 1;
  }
}

}  // namespace bazaar::app
