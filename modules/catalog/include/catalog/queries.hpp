#pragma once
// Read facade for the cart (and checkout): current price and availability of variants, in one batch.
#include <catalog/types.hpp>

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace bazaar::catalog {

class Queries {
 public:
  virtual ~Queries() = default;
  // Snapshots of the given variants in one round trip; unknown ids are simply absent from the result.
  virtual boost::asio::awaitable<std::vector<VariantSnapshot>> variants(std::vector<std::string> variant_ids) = 0;
};

}  // namespace bazaar::catalog
