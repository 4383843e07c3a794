#pragma once
// Request ids, shared by the pipeline and the server's own early answers (400/413 before a request is
// parsed, 503 at max_in_flight): every response carries X-Request-Id (API.md).
#include <platform/http.hpp>

#include <string>

namespace bazaar::platform::http {

// A fresh random id (16 hex digits).
std::string generate_request_id();
// The client's X-Request-Id when it is sane (1..128 of [A-Za-z0-9-_.:]), else a fresh one.
std::string request_id_for(const Request& rq);

}  // namespace bazaar::platform::http
