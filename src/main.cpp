// bazaar: the composition root lives in app/composition.cpp; this only starts the command line.
#include "app/cli.hpp"

#include <csignal>

int main(int argc, char** argv, char** envp) {
  std::signal(SIGPIPE, SIG_IGN);  // a client hanging up must fail a write, not kill the server
  return bazaar::app::run_cli(argc, argv, envp);
}
