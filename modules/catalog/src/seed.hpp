#pragma once
// `bazaar seed-demo [--products N]`: a deterministic, realistic demo catalog — a category tree, products
// titled from adjective/material/noun lists with descriptions good enough for search, 2–5 variants each
// with size/colour options, prices and stock. Same N, same catalog: ids included (UUIDv7-shaped, derived
// from the product number), so benchmarks can address product n without asking the database.
#include "repository.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace bazaar::platform {
class Database;
}

namespace bazaar::catalog::seed {

inline constexpr int kDefaultProducts = 1000;
inline constexpr int kMaxProducts = 1'000'000;
inline constexpr std::int64_t kEpochMs = 1735689600000;  // 2025-01-01T00:00:00Z: product n is created n minutes later
inline constexpr const char* kMarkerSku = "DEMO-000001-1";

// The id of demo product n (1-based): a UUIDv7 whose timestamp is kEpochMs + n minutes, so that newest
// first means highest n.
std::string product_id(int n);

struct DemoCatalog {
  std::vector<repo::SeedCategory> categories;
  std::vector<repo::SeedProduct> products;
  std::vector<repo::SeedVariant> variants;
};

// Products first..last (1-based, inclusive) of the demo catalog; categories only when first == 1.
DemoCatalog generate(int first, int last);

// Runs the command: parses --products, skips (exit 0) when the demo catalog exists, else inserts it in
// batches inside one transaction and reports what it did. Returns the exit code.
int run(platform::Database& db, const std::string& currency, const std::vector<std::string>& args);

}  // namespace bazaar::catalog::seed
