#pragma once
// UUIDv7 identifiers (time-ordered, so new rows land at the end of B-tree indexes) and their validation.
#include <optional>
#include <string>
#include <string_view>

namespace bazaar::platform {

std::string new_uuid_v7();
bool is_uuid(std::string_view s);
// Lower-cases a valid UUID; nullopt for anything else.
std::optional<std::string> normalize_uuid(std::string_view s);

// Current time as RFC 3339 UTC with milliseconds ("2026-11-21T10:00:00.123Z").
std::string now_rfc3339();

}  // namespace bazaar::platform
