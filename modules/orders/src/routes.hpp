#pragma once
#include "service.hpp"

#include <platform/http.hpp>

namespace bazaar::orders {

void register_customer_routes(platform::http::Router& router, Service& service);
void register_admin_routes(platform::http::Router& router, Service& service);
boost::json::object order_json(const repo::OrderRow& o);
const char* openapi_fragment();

}  // namespace bazaar::orders
