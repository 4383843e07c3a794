#pragma once
// Slugs: the URL names of products and categories ("merino-wool-scarf"). Pure rules, no I/O.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bazaar::catalog::domain {

inline constexpr std::size_t kMaxSlugLength = 120;
inline constexpr std::size_t kDerivedSlugLength = 100;  // leaves room for a "-<n>" suffix

// Lower-case ASCII letters and digits in dash-separated runs, at most kMaxSlugLength, and never shaped
// like a UUID (so that /products/{id-or-slug} is never ambiguous).
bool is_valid_slug(std::string_view slug);

// A slug derived from free text: Latin letters lose their accents ("Crème brûlée" → "creme-brulee"), other
// characters separate words; at most kDerivedSlugLength characters, cut at a word boundary when possible.
// `fallback` when nothing usable remains.
std::string slugify(std::string_view text, std::string_view fallback);

// Candidates for a derived slug, in order of preference: number 1 is `base` itself, number n >= 2 is
// "<base>-<n>". Returns `count` of them starting at number `from`.
std::vector<std::string> slug_candidates(const std::string& base, int from, int count);
// The first candidate that is not taken.
std::optional<std::string> first_free(const std::vector<std::string>& candidates, const std::vector<std::string>& taken);

}  // namespace bazaar::catalog::domain
