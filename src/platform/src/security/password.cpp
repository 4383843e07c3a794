#include <platform/security.hpp>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

namespace bazaar::platform::security {

namespace {

constexpr std::size_t kSaltSize = 16;
constexpr std::size_t kHashSize = 32;
// A stored hash is data, not code: refuse parameters that would let a corrupted or planted row make a single
// login allocate gigabytes or spin for minutes. Far above anything we would configure.
constexpr std::uint32_t kMaxMemoryKib = 1024 * 1024;  // 1 GiB
constexpr std::uint32_t kMaxIterations = 64;
constexpr std::uint32_t kMaxParallelism = 64;

struct PhcParams {
  std::uint32_t version = 0;
  std::uint32_t memory_kib = 0;
  std::uint32_t iterations = 0;
  std::uint32_t parallelism = 0;
};

std::optional<std::uint32_t> parse_u32(std::string_view text) {
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Reads "key=value" and checks the key, e.g. field("m=19456", 'm').
std::optional<std::uint32_t> field(std::string_view part, char key) {
  if (part.size() < 3 || part[0] != key || part[1] != '=') return std::nullopt;
  return parse_u32(part.substr(2));
}

// Splits into exactly N parts on `sep`; nullopt when there are fewer or more.
template <std::size_t N>
std::optional<std::array<std::string_view, N>> split_exact(std::string_view text, char sep) {
  std::array<std::string_view, N> parts;
  for (std::size_t i = 0; i < N; ++i) {
    const auto pos = text.find(sep);
    if (i + 1 == N) {
      if (pos != std::string_view::npos) return std::nullopt;
      parts[i] = text;
    } else {
      if (pos == std::string_view::npos) return std::nullopt;
      parts[i] = text.substr(0, pos);
      text.remove_prefix(pos + 1);
    }
  }
  return parts;
}

// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>". We parse it ourselves for the rehash decision and to
// bound the cost before libargon2 sees it; libargon2 still does the authoritative decoding.
std::optional<PhcParams> parse_phc(std::string_view phc) {
  // libargon2 reads a C string: an embedded NUL would let trailing bytes escape both parsers.
  if (phc.find('\0') != std::string_view::npos) return std::nullopt;
  const auto parts = split_exact<6>(phc, '$');
  if (!parts || !(*parts)[0].empty() || (*parts)[1] != "argon2id") return std::nullopt;
  const auto version = field((*parts)[2], 'v');
  const auto mtp = split_exact<3>((*parts)[3], ',');
  if (!version || !mtp || (*parts)[4].empty() || (*parts)[5].empty()) return std::nullopt;
  const auto m = field((*mtp)[0], 'm');
  const auto t = field((*mtp)[1], 't');
  const auto p = field((*mtp)[2], 'p');
  if (!m || !t || !p) return std::nullopt;
  return PhcParams{*version, *m, *t, *p};
}

bool within_limits(const PhcParams& p) {
  return p.memory_kib <= kMaxMemoryKib && p.iterations <= kMaxIterations && p.parallelism <= kMaxParallelism;
}

// Lower-case ASCII only; kCommonPasswords holds lower-case entries, sorted and unique (checked below).
constexpr std::array kCommonPasswords = std::to_array<std::string_view>({
    "0000",         "000000",       "00000000",     "01234567",    "0123456789",  "101010",        "102030",
    "1111",         "11111",        "111111",       "11111111",    "11112222",    "112233",        "11223344",
    "112233445566", "121212",       "121314",       "123123",      "123123123",   "123321",        "1234",
    "123412",       "12341234",     "12344321",     "12345",       "1234512345",  "123456",        "1234561",
    "1234567",      "12345678",     "123456789",    "1234567890",  "123456789a",  "123456a",       "123456q",
    "123456z",      "12345a",       "12345qwert",   "12345qwerty", "1234abcd",    "1234asdf",      "1234qwer",
    "123654",       "123abc",       "123asd",       "123qwe",      "123qweasd",   "131313",        "147258",
    "147258369",    "159357",       "159753",       "1a2b3c4d",    "1q1q1q1q",    "1q2w3e",        "1q2w3e4r",
    "1q2w3e4r5t",   "1qaz2wsx",     "1qaz2wsx3edc", "1qazxsw2",    "2000",        "222222",        "232323",
    "333333",       "5201314",      "520520",       "555555",      "654321",      "654321a",       "666666",
    "66666666",     "666999",       "6969",         "696969",      "69696969",    "741852963",     "7654321",
    "777777",       "7777777",      "8675309",      "87654321",    "888888",      "88888888",      "963852741",
    "987654",       "987654321",    "999999",       "99999999",    "a123456",     "a1b2c3",        "a1b2c3d4",
    "aa123456",     "aa123456789",  "aaaaaa",       "aaaaaaaa",    "ab123456",    "abc",           "abc123",
    "abc12345",     "abc123456",    "abcd",         "abcd1234",    "abcdef",      "abcdefg",       "abcdefgh",
    "access",       "adidas",       "admin",        "admin123",    "adminadmin",  "administrator", "administrator1",
    "amanda",       "andrea",       "andrew",       "angel",       "angel1",      "angels",        "anthony",
    "anthony1",     "apple",        "april",        "arsenal",     "arsenal1",    "asd123",        "asdasd",
    "asdf1234",     "asdfasdf",     "asdfgh",       "asdfgh1",     "asdfghjkl",   "ashley",        "ashley1",
    "asshole",      "august",       "austin",       "autumn",      "azerty",      "baby",          "babygirl",
    "badboy",       "bailey",       "banana",       "barcelona",   "barney",      "baseball",      "baseball1",
    "basketball",   "batman",       "batman1",      "bear",        "beautiful",   "bigdick",       "bigdog",
    "bitch",        "bitch1",       "biteme",       "blessed",     "bmw",         "booboo",        "boomer",
    "boston",       "brandon",      "brandy",       "bulldog",     "bunny",       "buster",        "butterfly",
    "camaro",       "casper",       "cat",          "changeme",    "charizard",   "charles",       "charlie",
    "charlie1",     "cheese",       "chelsea",      "chelsea1",    "chester",     "chicago",       "chicken",
    "chocolate",    "chris",        "christ",       "cocacola",    "coffee",      "compaq",        "computer",
    "computer1",    "cookie",       "cookie1",      "corvette",    "corvette1",   "cowboy",        "cowboys",
    "crystal",      "cunt",         "dakota",       "dallas",      "daniel",      "daniel1",       "december",
    "default",      "demo",         "destiny",      "diablo",      "diamond",     "dog",           "doggy",
    "dolphin",      "dragon",       "dragon1",      "dragon123",   "eagles",      "edward",        "enter",
    "facebook",     "faith",        "falcon",       "fall2022",    "family",      "february",      "fender",
    "ferrari",      "ferrari1",     "fishing",      "flower",      "flowers",     "football",      "football1",
    "football123",  "forever",      "fortnite",     "freedom",     "freedom1",    "friday",        "friends",
    "fuckme",       "fuckyou",      "fuckyou1",     "gandalf",     "gateway",     "george",        "gfhjkm",
    "ghbdtn",       "ginger",       "golden",       "golf",        "golfer",      "google",        "guest",
    "guitar",       "hammer",       "hannah",       "hardcore",    "harley",      "harley1",       "heather",
    "hello",        "hello1",       "hello123",     "hockey",      "hockey1",     "hottie",        "hunter",
    "hunter1",      "hunter2",      "iceman",       "iloveu",      "iloveyou",    "iloveyou1",     "instagram",
    "internet",     "internet1",    "iphone",       "jackson",     "james",       "january",       "jasmine",
    "jasper",       "jennifer",     "jessica",      "jessica1",    "jesus",       "jesus1",        "johnny",
    "jordan",       "jordan1",      "jordan23",     "joseph",      "joshua",      "july",          "june",
    "junior",       "justin",       "juventus",     "killer",      "killer1",     "kitten",        "kitty",
    "klaster",      "knight",       "lakers",       "letmein",     "letmein!",    "letmein1",      "letmein123",
    "linux",        "lion",         "liverpool",    "login",       "london",      "love",          "lovely",
    "loveme",       "lover",        "maggie",       "manchester",  "march",       "marina",        "marine",
    "marlboro",     "martin",       "master",       "master1",     "matrix",      "matrix1",       "matthew",
    "maverick",     "may",          "melissa",      "mercedes",    "mercedes1",   "merlin",        "michael",
    "michael1",     "michelle",     "mickey",       "microsoft",   "midnight",    "miller",        "minecraft",
    "monday",       "money",        "monica",       "monkey",      "monkey1",     "monkey12",      "monster",
    "morgan",       "mother",       "mustang",      "mustang1",    "mypass",      "mypassword",    "mysql",
    "naruto",       "nascar",       "natasha",      "ncc1701",     "netflix",     "nicole",        "nicole1",
    "nikita",       "nokia",        "none",         "nopassword",  "nothing",     "november",      "october",
    "oliver",       "oracle",       "orange",       "p@ssw0rd",    "p@ssword",    "pa55word",      "panties",
    "pass",         "pass123",      "pass1234",     "passpass",    "passw0rd",    "passw0rd!",     "password",
    "password!",    "password1",    "password1!",   "password12",  "password123", "password2020",  "password2021",
    "password2022", "password2023", "password2024", "patrick",     "peanut",      "pepper",        "pepper1",
    "phoenix",      "pikachu",      "player",       "please",      "pokemon",     "porsche",       "postgres",
    "prince",       "princess",     "princess1",    "private",     "puppy",       "purple",        "pussy",
    "q1w2e3r4",     "q1w2e3r4t5",   "qazwsx",       "qazwsxedc",   "qq123456",    "qwaszx",        "qwe",
    "qwe123",       "qweasd",       "qweasdzxc",    "qweqwe",      "qwer1234",    "qwerty",        "qwerty1",
    "qwerty12",     "qwerty123",    "qwerty7",      "qwertyu",     "qwertyui",    "qwertyuiop",    "rabbit",
    "rachel",       "raiders",      "rainbow",      "ranger",      "rangers",     "realmadrid",    "redsox",
    "richard",      "robert",       "roblox",       "root",        "rootroot",    "samantha",      "sample",
    "samsung",      "samsung1",     "scooby",       "scooter",     "secret",      "secret123",     "secure",
    "security",     "september",    "server",       "sexy",        "sexy1",       "shadow",        "shadow1",
    "shadow123",    "silver",       "skywalker",    "slayer",      "smokey",      "snoopy",        "soccer",
    "soccer1",      "soccer123",    "softball",     "solo",        "sparky",      "spider",        "spotify",
    "spring2023",   "starwars",     "starwars1",    "starwars123", "steelers",    "steven",        "summer",
    "summer2020",   "summer2021",   "summer2022",   "summer2023",  "sunday",      "sunshine",      "sunshine1",
    "superman",     "superman1",    "superuser",    "sweetie",     "sweety",      "system",        "taylor",
    "teddy",        "tennis",       "tennis1",      "test",        "test123",     "testing",       "thomas",
    "thunder",      "tiger",        "tiger123",     "tigers",      "tigger",      "toor",          "toyota",
    "trustme",      "trustno1",     "trustno11",    "twitter",     "ubuntu",      "unknown",       "user",
    "victoria",     "volleyball",   "welcome",      "welcome!",    "welcome1",    "welcome123",    "whatever",
    "whatever1",    "whatsapp",     "william",      "windows",     "winner",      "winter",        "winter2020",
    "winter2022",   "wizard",       "woaini",       "woaini1314",  "xxxxxx",      "yamaha",        "yankees",
    "yellow",       "yoda",         "youtube",      "zaq12wsx",    "zaq1zaq1",    "zhang123",      "zxc123",
    "zxcvbn",       "zxcvbnm",      "zxcvbnm1",     "zxcvbnm123",  "zxczxc",
});

static_assert(std::ranges::is_sorted(kCommonPasswords));
static_assert(std::ranges::adjacent_find(kCommonPasswords) == kCommonPasswords.end());
constexpr std::size_t kLongestCommonPassword = std::ranges::max(kCommonPasswords, {}, &std::string_view::size).size();

}  // namespace

std::string PasswordHasher::hash(std::string_view password) const {
  std::array<unsigned char, kSaltSize> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    throw std::runtime_error("password hash: RAND_bytes failed");
  }
  const std::size_t size =
      argon2_encodedlen(params_.iterations, params_.memory_kib, params_.parallelism, kSaltSize, kHashSize, Argon2_id);
  std::string encoded(size, '\0');
  const int rc = argon2id_hash_encoded(params_.iterations, params_.memory_kib, params_.parallelism, password.data(),
                                       password.size(), salt.data(), salt.size(), kHashSize, encoded.data(), size);
  if (rc != ARGON2_OK) throw std::runtime_error(std::string("password hash: ") + argon2_error_message(rc));
  encoded.resize(encoded.find('\0'));
  return encoded;
}

PasswordCheck PasswordHasher::verify(std::string_view password, std::string_view phc) const {
  const auto stored = parse_phc(phc);
  if (!stored || !within_limits(*stored)) return {};
  const std::string encoded(phc);  // libargon2 wants a NUL-terminated string
  if (argon2id_verify(encoded.c_str(), password.data(), password.size()) != ARGON2_OK) return {};
  const bool same = stored->version == ARGON2_VERSION_NUMBER && stored->memory_kib == params_.memory_kib &&
                    stored->iterations == params_.iterations && stored->parallelism == params_.parallelism;
  return PasswordCheck{true, !same};
}

bool is_common_password(std::string_view password) {
  // Longer than every entry: cannot match, so skip copying arbitrarily long input.
  if (password.size() > kLongestCommonPassword) return false;
  std::string lower(password);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  return std::binary_search(kCommonPasswords.begin(), kCommonPasswords.end(), std::string_view(lower));
}

}  // namespace bazaar::platform::security
