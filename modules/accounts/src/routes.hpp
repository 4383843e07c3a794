#pragma once
#include "service.hpp"

#include <platform/http.hpp>

namespace bazaar::accounts {

void register_customer_routes(platform::http::Router& router, Service& service);
void register_admin_routes(platform::http::Router& router, Service& service);
// The accounts part of the OpenAPI document.
const char* openapi_fragment();

}  // namespace bazaar::accounts
