#pragma once
// The order state machine of API.md: pending_payment → paid → shipped → delivered;
// pending_payment|paid → cancelled; paid|shipped|delivered → refunded (full). Pure, unit-tested.
#include <cstdint>
#include <string>
#include <string_view>

namespace bazaar::orders::domain {

bool can_transition(std::string_view from, std::string_view to);
bool is_status(std::string_view s);
bool is_payment_status(std::string_view s);
// "BZR-000123"
std::string format_number(std::int64_t number);
// 123 from "BZR-000123", "bzr-123" or "123"; -1 otherwise.
std::int64_t parse_number(std::string_view text);

}  // namespace bazaar::orders::domain
