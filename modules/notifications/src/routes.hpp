#pragma once
#include "service.hpp"

#include <platform/http.hpp>

namespace bazaar::notifications {

// GET /api/v1/me/notifications, POST /api/v1/me/notifications/{id}/read
void register_routes(platform::http::Router& router, Service& service);
// GET /admin/v1/notifications, POST /admin/v1/notifications/{id}/retry,
// GET /admin/v1/notification-templates, PUT /admin/v1/notification-templates/{name}
void register_admin_routes(platform::http::Router& router, Service& service);
const char* openapi_fragment();

}  // namespace bazaar::notifications
