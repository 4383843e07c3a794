#pragma once
// What a handler may do with its request's Idempotency-Key (API.md "Conventions") beyond what the platform
// does for every keyed POST, PATCH and DELETE: claim the key before the handler runs, then store the
// response or release the key after it — a round trip each.
#include <platform/http.hpp>
#include <platform/pq.hpp>

namespace bazaar::platform::http {

// Stores `reply` as the response to `rq`'s Idempotency-Key within `batch`, the handler's last write: the
// response then commits with the handler's own changes or not at all, and the platform's store after the
// handler (a round trip) is skipped, provided the handler returns this very reply. Should it return another
// one, that one is stored or releases the key as usual. A no-op without a claimed key, and for a reply that
// releases its key (a failed validation, a 5xx), so callers need no branch.
void store_response(const Request& rq, const Reply& reply, pq::Pipeline& batch);

}  // namespace bazaar::platform::http
