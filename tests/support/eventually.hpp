#pragma once
// A bounded poll for a condition that another thread or process brings about: true as soon as `pred()`
// holds, false once `limit` has passed. Never a sleep standing in for synchronisation: the loop ends at
// the first check that succeeds, and the short pause only keeps it from spinning a core.
#include <chrono>
#include <thread>

namespace bazaar::testing {

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace bazaar::testing
