#pragma once
#include "service.hpp"

#include <platform/http.hpp>

namespace bazaar::catalog {

// GET /api/v1/products, /api/v1/products/{id-or-slug}, /api/v1/categories and /media/{key}.
void register_customer_routes(platform::http::Router& router, Service& service);
// The /admin/v1 catalog routes (role admin).
void register_admin_routes(platform::http::Router& router, Service& service);
// The catalog part of the OpenAPI document.
const char* openapi_fragment();

inline constexpr std::size_t kMaxImageBytes = 10u << 20;

}  // namespace bazaar::catalog
