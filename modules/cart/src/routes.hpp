#pragma once
#include "service.hpp"

#include <platform/http.hpp>

namespace bazaar::cart {

void register_routes(platform::http::Router& router, Service& service);
const char* openapi_fragment();

}  // namespace bazaar::cart
