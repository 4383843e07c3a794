// The doctest implementation lives here and only here (STYLE.md §7).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a peer closing a socket must fail a write, not kill the test run
  doctest::Context context(argc, argv);
  return context.run();
}
