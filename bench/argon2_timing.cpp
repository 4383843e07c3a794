// The login baseline for scripts/bench.sh: how long one Argon2id password check takes on this machine
// with bazaar's exact parameters (the same default-constructed security::PasswordHasher that the
// platform's hashing pool uses), so that login throughput can be judged against
// auth.hash_threads ÷ (time of one hash) measured in the same run.
//
//   bazaar_bench_argon2 time [N]   median milliseconds of N password checks (default 20), after a warm-up
//   bazaar_bench_argon2 hash       the PHC string of the password read from stdin (seeding bench users)
#include <platform/security.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace {

namespace security = bazaar::platform::security;

// A login verifies a stored hash: the same Argon2id computation as hashing, plus a constant-time compare.
double check_ms(const security::PasswordHasher& hasher, const std::string& phc) {
  const auto start = std::chrono::steady_clock::now();
  const bool ok = hasher.verify("bench-password", phc).ok;
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  if (!ok) throw std::runtime_error("the password check failed");
  return took.count();
}

int time_checks(int n) {
  const security::PasswordHasher hasher;
  const std::string phc = hasher.hash("bench-password");  // also the warm-up (allocator, caches)
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) ms.push_back(check_ms(hasher, phc));
  std::sort(ms.begin(), ms.end());
  const auto& p = hasher.params();
  std::fprintf(stderr, "argon2id m=%u KiB t=%u p=%u: min %.2f ms, median %.2f ms, max %.2f ms over %d checks\n",
               p.memory_kib, p.iterations, p.parallelism, ms.front(), ms[ms.size() / 2], ms.back(), n);
  std::printf("%.3f\n", ms[ms.size() / 2]);
  return 0;
}

int print_hash() {
  std::string password;
  std::getline(std::cin, password);
  if (password.empty()) {
    std::cerr << "bazaar_bench_argon2 hash: no password on stdin\n";
    return 2;
  }
  std::cout << security::PasswordHasher{}.hash(password) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "time") return time_checks(argc > 2 ? std::max(1, std::stoi(argv[2])) : 20);
    if (command == "hash") return print_hash();
  } catch (const std::exception& e) {
    std::cerr << "bazaar_bench_argon2: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "usage: bazaar_bench_argon2 time [N] | bazaar_bench_argon2 hash < password\n";
  return 2;
}
