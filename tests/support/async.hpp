#pragma once
// Runs a coroutine to completion on a private io_context — for tests of awaitable APIs.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <utility>

namespace bazaar::testing {

template <class T>
T run_awaitable(boost::asio::awaitable<T> a) {
  boost::asio::io_context io;
  auto f = boost::asio::co_spawn(io, std::move(a), boost::asio::use_future);
  io.run();
  return f.get();
}

}  // namespace bazaar::testing
