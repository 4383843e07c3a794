#pragma once
// `bazaar serve|migrate|seed-demo|create-admin|version [--config FILE]`.
namespace bazaar::app {
int run_cli(int argc, char** argv, char** envp);
}
