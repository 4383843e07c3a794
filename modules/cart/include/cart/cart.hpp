#pragma once
// The cart module's facade for checkout.
#include <platform/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

namespace bazaar::cart {

struct CheckoutLine {
  std::string variant_id;
  int quantity = 0;
};

struct CheckoutCart {
  std::string cart_id;
  std::optional<std::string> user_id;  // nullopt: a guest cart
  std::string status;                  // "open" | "completed" | "abandoned"
  std::optional<std::string> order_id;  // set once completed
  std::vector<CheckoutLine> lines;
};

class Checkout {
 public:
  virtual ~Checkout() = default;
  // The cart's lines for checkout. A customer's cart is visible only to that customer (anyone else gets
  // not_found, as does an unknown id); a guest cart to whoever holds its id.
  virtual boost::asio::awaitable<platform::Result<CheckoutCart>> snapshot(std::string cart_id,
                                                                         std::optional<std::string> user_id) = 0;
  // Marks the cart completed by `order_id`. Idempotent: true if the cart is (now) completed by this order,
  // false if it is completed by another order or no longer open.
  virtual boost::asio::awaitable<bool> complete(std::string cart_id, std::string order_id) = 0;
};

}  // namespace bazaar::cart
