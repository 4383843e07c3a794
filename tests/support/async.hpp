#pragma once
// Runs a coroutine to completion on a private io_context — for tests of awaitable APIs.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <utility>

namespace bazaar::testing {

template <class T>
T run_awaitable(boost::asio::awaitable<T> a) {
  // One context per thread, reused: destroying it right after run() returns would race with a worker
  // thread that is still inside asio::post() resuming the coroutine.
  thread_local boost::asio::io_context io;
  io.restart();
  auto f = boost::asio::co_spawn(io, std::move(a), boost::asio::use_future);
  io.run();
  return f.get();
}

}  // namespace bazaar::testing
