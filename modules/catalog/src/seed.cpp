#include "seed.hpp"

#include "domain/slug.hpp"

#include <platform/db.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <array>
#include <charconv>
#include <chrono>
#include <iostream>
#include <set>
#include <span>
#include <string_view>

namespace bazaar::catalog::seed {

namespace {

// SplitMix64: tiny, fast and the same on every platform (std distributions are implementation-defined).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
  int between(int lo, int hi) { return lo + below(hi - lo + 1); }  // inclusive
  template <class T>
  const T& pick(std::span<const T> items) {
    return items[static_cast<std::size_t>(below(static_cast<int>(items.size())))];
  }

 private:
  std::uint64_t state_;
};

constexpr std::uint64_t kSeed = 0xBA2AA2'2025'0001ULL;

// A UUIDv7 with the given millisecond timestamp and 12-bit rand_a; rand_b is zero. Deterministic.
std::string demo_uuid(std::int64_t ms, unsigned rand_a) {
  const auto ts = fmt::format("{:012x}", static_cast<std::uint64_t>(ms));
  return fmt::format("{}-{}-7{:03x}-8000-000000000000", ts.substr(0, 8), ts.substr(8, 4), rand_a & 0xFFF);
}

enum class Options { apparel, shoes, colour_only, home_size };

struct Leaf {
  const char* slug;
  const char* name;
  const char* parent;
  std::array<const char*, 6> nouns;
  std::array<const char*, 6> materials;
  Options options;
  int min_price;  // minor units
  int max_price;
};

struct Root {
  const char* slug;
  const char* name;
};

constexpr std::array<Root, 5> kRoots = {{{"clothing", "Clothing"},
                                         {"footwear", "Footwear"},
                                         {"accessories", "Accessories"},
                                         {"home", "Home & Living"},
                                         {"sports", "Sports"}}};

constexpr std::array<Leaf, 17> kLeaves = {{
    {"tops", "Tops", "clothing", {"T-Shirt", "Shirt", "Polo", "Blouse", "Henley", "Tank Top"},
     {"Organic Cotton", "Linen", "Silk", "Bamboo", "Jersey", "Oxford Cotton"}, Options::apparel, 1500, 7900},
    {"bottoms", "Bottoms", "clothing", {"Jeans", "Chinos", "Shorts", "Trousers", "Joggers", "Skirt"},
     {"Denim", "Organic Cotton", "Linen", "Corduroy", "Twill", "Wool"}, Options::apparel, 2900, 11900},
    {"outerwear", "Outerwear", "clothing", {"Jacket", "Parka", "Raincoat", "Blazer", "Gilet", "Overcoat"},
     {"Wool", "Waxed Cotton", "Recycled Nylon", "Down", "Tweed", "Gore-Tex"}, Options::apparel, 7900, 34900},
    {"knitwear", "Knitwear", "clothing", {"Sweater", "Cardigan", "Hoodie", "Turtleneck", "Pullover", "Knit Vest"},
     {"Merino Wool", "Cashmere", "Lambswool", "Alpaca", "Organic Cotton", "Mohair"}, Options::apparel, 4900, 22900},
    {"sneakers", "Sneakers", "footwear", {"Sneakers", "Trainers", "High-Tops", "Slip-Ons", "Court Shoes", "Runners"},
     {"Leather", "Suede", "Canvas", "Knit Mesh", "Recycled Rubber", "Nubuck"}, Options::shoes, 5900, 18900},
    {"boots", "Boots", "footwear", {"Chelsea Boots", "Hiking Boots", "Ankle Boots", "Work Boots", "Desert Boots", "Snow Boots"},
     {"Leather", "Suede", "Waxed Leather", "Nubuck", "Shearling", "Waterproof Leather"}, Options::shoes, 8900, 27900},
    {"sandals", "Sandals", "footwear", {"Sandals", "Slides", "Espadrilles", "Flip-Flops", "Mules", "Clogs"},
     {"Leather", "Cork", "Jute", "Rubber", "Suede", "Canvas"}, Options::shoes, 2500, 9900},
    {"bags", "Bags", "accessories", {"Backpack", "Tote Bag", "Messenger Bag", "Duffel Bag", "Crossbody Bag", "Weekender"},
     {"Leather", "Waxed Canvas", "Recycled Nylon", "Cotton Canvas", "Suede", "Cork"}, Options::colour_only, 3900, 24900},
    {"wallets", "Wallets", "accessories", {"Wallet", "Card Holder", "Coin Purse", "Passport Cover", "Key Pouch", "Money Clip"},
     {"Leather", "Vegetable-Tanned Leather", "Cork", "Canvas", "Suede", "Recycled Nylon"}, Options::colour_only, 1900, 8900},
    {"scarves", "Scarves", "accessories", {"Scarf", "Shawl", "Snood", "Bandana", "Wrap", "Stole"},
     {"Merino Wool", "Cashmere", "Silk", "Linen", "Organic Cotton", "Alpaca"}, Options::colour_only, 1900, 14900},
    {"hats", "Hats", "accessories", {"Beanie", "Cap", "Bucket Hat", "Fedora", "Sun Hat", "Flat Cap"},
     {"Merino Wool", "Organic Cotton", "Straw", "Tweed", "Felt", "Linen"}, Options::colour_only, 1500, 8900},
    {"kitchen", "Kitchen", "home", {"Mug", "Bowl", "Cutting Board", "Teapot", "Serving Tray", "Salad Bowl"},
     {"Stoneware", "Ceramic", "Oak", "Walnut", "Enamel", "Glass"}, Options::home_size, 900, 12900},
    {"bedding", "Bedding", "home", {"Duvet Cover", "Pillowcase", "Throw Blanket", "Sheet Set", "Quilt", "Cushion Cover"},
     {"Linen", "Organic Cotton", "Percale", "Sateen", "Wool", "Velvet"}, Options::home_size, 2500, 24900},
    {"lighting", "Lighting", "home", {"Table Lamp", "Floor Lamp", "Pendant Light", "Lantern", "Desk Lamp", "Wall Light"},
     {"Brass", "Ceramic", "Rattan", "Glass", "Oak", "Steel"}, Options::colour_only, 3900, 29900},
    {"decor", "Decor", "home", {"Vase", "Candle Holder", "Wall Mirror", "Picture Frame", "Planter", "Wall Clock"},
     {"Ceramic", "Brass", "Glass", "Terracotta", "Marble", "Oak"}, Options::home_size, 1500, 14900},
    {"running", "Running", "sports", {"Running Shorts", "Running Jacket", "Running Tights", "Running Vest", "Running Socks", "Running Cap"},
     {"Recycled Polyester", "Merino Wool", "Nylon", "Mesh", "Softshell", "Lycra"}, Options::apparel, 1500, 14900},
    {"yoga", "Yoga", "sports", {"Yoga Mat", "Yoga Pants", "Yoga Block", "Sports Bra", "Yoga Strap", "Meditation Cushion"},
     {"Natural Rubber", "Cork", "Organic Cotton", "Bamboo", "Recycled Polyester", "Hemp"}, Options::colour_only, 1500, 9900},
}};

constexpr std::array<const char*, 24> kAdjectives = {
    "Classic",  "Everyday", "Vintage", "Modern",     "Lightweight", "Cozy",    "Rugged",   "Minimalist",
    "Premium",  "Relaxed",  "Slim",    "Oversized",  "Handcrafted", "Organic", "Urban",    "Coastal",
    "Alpine",   "Heritage", "Essential", "Soft",     "Waterproof",  "Breathable", "Recycled", "Tailored"};
constexpr std::array<const char*, 12> kColours = {"Black", "White",  "Navy", "Olive",  "Grey",   "Sand",
                                                  "Burgundy", "Forest Green", "Rust", "Sky Blue", "Charcoal", "Cream"};
constexpr std::array<const char*, 5> kApparelSizes = {"XS", "S", "M", "L", "XL"};
constexpr std::array<const char*, 9> kShoeSizes = {"38", "39", "40", "41", "42", "43", "44", "45", "46"};
constexpr std::array<const char*, 3> kHomeSizes = {"Small", "Medium", "Large"};

constexpr std::array<const char*, 10> kUses = {
    "everyday wear",        "weekend getaways",  "city commutes",     "cold mornings",     "long walks in the hills",
    "slow Sunday mornings", "cosy evenings in",  "warm summer days",  "travel and hand luggage", "the office and beyond"};
constexpr std::array<const char*, 12> kFeatures = {
    "reinforced seams",      "a relaxed fit",          "hidden pockets",           "adjustable straps",
    "a cushioned sole",      "a water-resistant finish", "hand-finished edges",    "a brushed inner lining",
    "natural dyes",          "a timeless silhouette",  "breathable construction",  "durable stitching"};
constexpr std::array<const char*, 8> kPlaces = {"Porto", "Lisbon", "Copenhagen", "Kyoto",
                                                "Edinburgh", "Barcelona", "Milan", "Portland"};
constexpr std::array<const char*, 6> kCare = {
    "Machine washable at 30 degrees.", "Wipe clean with a damp cloth.", "Hand wash cold and dry flat.",
    "Ages beautifully with use.",      "Covered by a two-year warranty.", "Packed in plastic-free packaging."};

template <class A>
std::span<const typename A::value_type> all(const A& a) {
  return std::span<const typename A::value_type>(a.data(), a.size());
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A price in minor units between lo and hi, ending in 99 (a shop's price, not a random number).
std::int64_t shop_price(Rng& rng, int lo, int hi) { return (rng.between(lo, hi) / 100) * 100 + 99; }

int stock_level(Rng& rng) {
  const int roll = rng.below(100);
  if (roll < 8) return 0;                   // sold out
  if (roll < 18) return rng.between(1, 5);  // running low
  return rng.between(6, 150);
}

void generate_product(int n, DemoCatalog& out, const std::vector<std::string>& leaf_ids) {
  Rng rng(kSeed ^ (static_cast<std::uint64_t>(n) * 0x9E3779B97F4A7C15ULL));
  const std::size_t leaf_index = static_cast<std::size_t>(rng.below(static_cast<int>(kLeaves.size())));
  const Leaf& leaf = kLeaves[leaf_index];
  const std::string adjective = rng.pick(all(kAdjectives));
  const std::string material = rng.pick(all(leaf.materials));
  const std::string noun = rng.pick(all(leaf.nouns));
  const std::string title = adjective + " " + material + " " + noun;

  std::string description = fmt::format("{} made from {} for {}.", title, lower_ascii(material), rng.pick(all(kUses)));
  const bool vowel = std::string_view("AEIOU").find(adjective.front()) != std::string_view::npos;
  // Two different features: the second is drawn from the others.
  const auto first = static_cast<std::size_t>(rng.below(static_cast<int>(kFeatures.size())));
  const auto second = (first + 1 + static_cast<std::size_t>(rng.below(static_cast<int>(kFeatures.size()) - 1))) %
                      kFeatures.size();
  const char* feature = kFeatures[first];
  const char* other = kFeatures[second];
  description += fmt::format(" {} {} {} with {} and {}.", vowel ? "An" : "A", lower_ascii(adjective),
                             lower_ascii(noun), feature, other);
  if (rng.below(2) == 0) description += fmt::format(" Designed in {} and built to last.", rng.pick(all(kPlaces)));
  description += std::string(" ") + rng.pick(all(kCare));

  const int roll = rng.below(100);
  const std::string status = roll < 97 ? "published" : roll < 99 ? "draft" : "archived";

  repo::SeedProduct product;
  const std::int64_t ms = kEpochMs + static_cast<std::int64_t>(n) * 60'000;
  product.id = demo_uuid(ms, 0);
  product.slug = domain::slugify(title, "product") + "-" + std::to_string(n);
  product.title = title;
  product.description = std::move(description);
  product.status = status;
  product.category_id = leaf_ids[leaf_index];

  // 2–5 distinct option combinations.
  const int count = rng.between(2, 5);
  const std::int64_t base = shop_price(rng, leaf.min_price, leaf.max_price);
  std::set<std::string> seen;
  product.min_price = INT64_MAX;
  product.max_price = 0;
  for (int k = 1, guard = 0; k <= count && guard < 64; ++guard) {
    std::string variant_title;
    boost::json::object options;
    std::int64_t price = base;
    const std::string colour = rng.pick(all(kColours));
    switch (leaf.options) {
      case Options::apparel: {
        const int size = rng.below(static_cast<int>(kApparelSizes.size()));
        options["size"] = kApparelSizes[static_cast<std::size_t>(size)];
        options["colour"] = colour;
        variant_title = fmt::format("{} / {}", kApparelSizes[static_cast<std::size_t>(size)], colour);
        if (size == 4) price += 500;  // XL costs a little more
        break;
      }
      case Options::shoes: {
        const char* size = rng.pick(all(kShoeSizes));
        options["size"] = size;
        options["colour"] = colour;
        variant_title = fmt::format("EU {} / {}", size, colour);
        break;
      }
      case Options::home_size: {
        const int size = rng.below(static_cast<int>(kHomeSizes.size()));
        options["size"] = kHomeSizes[static_cast<std::size_t>(size)];
        options["colour"] = colour;
        variant_title = fmt::format("{} / {}", kHomeSizes[static_cast<std::size_t>(size)], colour);
        price += size * 1000;
        break;
      }
      case Options::colour_only:
        options["colour"] = colour;
        variant_title = colour;
        break;
    }
    if (!seen.insert(variant_title).second) continue;
    repo::SeedVariant v;
    v.id = demo_uuid(ms, static_cast<unsigned>(k));
    v.product_id = product.id;
    v.sku = fmt::format("DEMO-{:06}-{}", n, k);
    v.title = std::move(variant_title);
    v.options_json = boost::json::serialize(options);
    v.price = price;
    v.on_hand = stock_level(rng);
    product.min_price = std::min(product.min_price, price);
    product.max_price = std::max(product.max_price, price);
    out.variants.push_back(std::move(v));
    ++k;
  }
  out.products.push_back(std::move(product));
}

std::vector<std::string> leaf_ids() {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < kLeaves.size(); ++i) ids.push_back(demo_uuid(kEpochMs, 0xC00 + static_cast<unsigned>(kRoots.size() + i)));
  return ids;
}

}  // namespace

std::string product_id(int n) { return demo_uuid(kEpochMs + static_cast<std::int64_t>(n) * 60'000, 0); }

DemoCatalog generate(int first, int last) {
  DemoCatalog out;
  const auto leaves = leaf_ids();
  if (first == 1) {
    for (std::size_t i = 0; i < kRoots.size(); ++i) {
      out.categories.push_back({demo_uuid(kEpochMs, 0xC00 + static_cast<unsigned>(i)), kRoots[i].slug, kRoots[i].name,
                                std::nullopt});
    }
    for (std::size_t i = 0; i < kLeaves.size(); ++i) {
      std::string parent;
      for (std::size_t r = 0; r < kRoots.size(); ++r) {
        if (std::string_view(kRoots[r].slug) == kLeaves[i].parent) parent = out.categories[r].id;
      }
      out.categories.push_back({leaves[i], kLeaves[i].slug, kLeaves[i].name, parent});
    }
  }
  out.products.reserve(static_cast<std::size_t>(std::max(last - first + 1, 0)));
  for (int n = first; n <= last; ++n) generate_product(n, out, leaves);
  return out;
}

int run(platform::Database& db, const std::string& currency, const std::vector<std::string>& args) {
  int count = kDefaultProducts;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view value;
    if (args[i] == "--products" && i + 1 < args.size()) {
      value = args[++i];
    } else if (args[i].rfind("--products=", 0) == 0) {
      value = std::string_view(args[i]).substr(11);
    } else {
      std::cerr << "seed-demo: unknown option '" << args[i] << "' (usage: seed-demo [--products N])\n";
      return 2;
    }
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), count);
    if (ec != std::errc() || end != value.data() + value.size() || count < 1 || count > kMaxProducts) {
      std::cerr << "seed-demo: --products must be a number between 1 and " << kMaxProducts << "\n";
      return 2;
    }
  }

  bool exists = false;
  db.run_sync([&](soci::session& s) { exists = repo::demo_catalog_exists(s, kMarkerSku); });
  if (exists) {
    std::cout << "seed-demo: the demo catalog is already there; nothing to do\n";
    return 0;
  }

  const auto started = std::chrono::steady_clock::now();
  constexpr int kBatch = 2000;
  std::size_t variants = 0;
  // One transaction: a run that fails leaves nothing behind, so a retry starts clean.
  db.transaction_sync([&](platform::Tx& tx) {
    for (int first = 1; first <= count; first += kBatch) {
      auto batch = generate(first, std::min(count, first + kBatch - 1));
      if (!batch.categories.empty()) repo::insert_seed_categories(tx.sql(), batch.categories);
      repo::insert_seed_batch(tx.sql(), batch.products, batch.variants, currency);
      variants += batch.variants.size();
    }
  });
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << fmt::format("seed-demo: {} categories, {} products, {} variants in {:.1f} s\n",
                           kRoots.size() + kLeaves.size(), count, variants, seconds);
  return 0;
}

}  // namespace bazaar::catalog::seed
