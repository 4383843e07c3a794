#include "routes.hpp"

namespace bazaar::orders {

const char* openapi_fragment() {
  return R"json({
  "components": {"schemas": {
    "OrderItem": {"type": "object", "properties": {"variant_id": {"type": "string", "format": "uuid"}, "product_id": {"type": "string", "format": "uuid"},
      "sku": {"type": "string"}, "title": {"type": "string"}, "quantity": {"type": "integer"},
      "unit_price": {"$ref": "#/components/schemas/Money"}, "line_total": {"$ref": "#/components/schemas/Money"}}},
    "Order": {"type": "object", "required": ["id", "number", "status", "payment_status", "email", "items", "subtotal", "shipping_total", "total"],
      "properties": {"id": {"type": "string", "format": "uuid"}, "number": {"type": "string", "pattern": "^BZR-[0-9]{6,}$"},
        "status": {"type": "string", "enum": ["pending_payment", "paid", "shipped", "delivered", "cancelled", "refunded"]},
        "payment_status": {"type": "string", "enum": ["pending", "authorized", "captured", "failed", "refunded", "partially_refunded"]},
        "email": {"type": "string"}, "items": {"type": "array", "items": {"$ref": "#/components/schemas/OrderItem"}},
        "subtotal": {"$ref": "#/components/schemas/Money"}, "shipping_total": {"$ref": "#/components/schemas/Money"},
        "total": {"$ref": "#/components/schemas/Money"}, "refunded_total": {"$ref": "#/components/schemas/Money"},
        "shipping_address": {"$ref": "#/components/schemas/Address"},
        "shipping_option": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "price": {"$ref": "#/components/schemas/Money"}}},
        "tracking": {"type": ["object", "null"], "properties": {"carrier": {"type": "string"}, "tracking_number": {"type": "string"}}},
        "guest_token": {"type": "string", "description": "only in the creation response of a guest order; pass as ?token= to read or cancel it"},
        "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
        "history": {"type": "array", "description": "admin views only", "items": {"type": "object", "properties": {
          "status": {"type": "string"}, "payment_status": {"type": "string"}, "at": {"type": "string", "format": "date-time"}, "note": {"type": "string"}, "actor": {"type": "string"}}}}}},
    "Checkout": {"type": "object", "required": ["cart_id", "shipping_address", "shipping_option_id", "payment"],
      "properties": {"cart_id": {"type": "string", "format": "uuid"}, "email": {"type": "string", "description": "required for guests"},
        "shipping_address": {"oneOf": [{"$ref": "#/components/schemas/Address"},
          {"type": "object", "required": ["address_id"], "properties": {"address_id": {"type": "string", "format": "uuid"}}}]},
        "shipping_option_id": {"type": "string"},
        "payment": {"type": "object", "required": ["method", "token"], "properties": {"method": {"type": "string", "const": "test_card"},
          "token": {"type": "string", "description": "tok_visa succeeds, tok_declined is declined, tok_async settles by webhook"}}}}}
  }},
  "paths": {
    "/api/v1/shipping-options": {"get": {"tags": ["orders"], "summary": "Shipping options and their prices",
      "responses": {"200": {"description": "{items: [{id, name, price}]}"}}}},
    "/api/v1/orders": {
      "post": {"tags": ["orders"], "summary": "Checkout: reserve stock, create the order, take payment",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 255}, "description": "send one: a retry then returns the same order"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Checkout"}}}},
        "responses": {"201": {"description": "Order (paid, or pending_payment for tok_async)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}},
          "402": {"description": "payment_declined (the attempt is kept as a cancelled order; the cart stays open)"},
          "404": {"description": "no such cart (or another customer's)"},
          "409": {"description": "cart_not_checkoutable, insufficient_stock, idempotency_key_in_progress"},
          "422": {"description": "validation_failed, idempotency_key_reused"}}},
      "get": {"tags": ["orders"], "summary": "The caller's orders", "security": [{"bearer": []}],
        "parameters": [{"name": "status", "in": "query", "schema": {"type": "string"}}, {"name": "limit", "in": "query", "schema": {"type": "integer"}},
          {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "Page of Order"}}}},
    "/api/v1/orders/{id}": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}},
        {"name": "token", "in": "query", "schema": {"type": "string"}, "description": "guest_token of a guest order"}],
      "get": {"tags": ["orders"], "summary": "One order (its owner, or a guest with the token)",
        "responses": {"200": {"description": "Order"}, "404": {"description": "not_found (also for other customers' orders)"}}}},
    "/api/v1/orders/{id}/cancel": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}},
        {"name": "token", "in": "query", "schema": {"type": "string"}}],
      "post": {"tags": ["orders"], "summary": "Cancel before shipping (a paid order is refunded)",
        "responses": {"200": {"description": "Order"}, "404": {"description": "not_found"}, "409": {"description": "invalid_transition"}}}},
    "/api/v1/payments/webhook": {"post": {"tags": ["orders"], "summary": "Payment provider webhook (signed with Bazaar-Signature)",
      "parameters": [{"name": "Bazaar-Signature", "in": "header", "required": true, "schema": {"type": "string"}, "description": "t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">"}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["id", "type", "data"],
        "properties": {"id": {"type": "string"}, "type": {"type": "string", "enum": ["payment.succeeded", "payment.failed"]},
          "data": {"type": "object", "properties": {"order_id": {"type": "string", "format": "uuid"}, "amount": {"$ref": "#/components/schemas/Money"}}}}}}}},
      "responses": {"204": {"description": "Applied (or a replay, ignored)"}, "400": {"description": "invalid_signature"}, "404": {"description": "unknown order"}}}},
    "/admin/v1/orders": {"get": {"tags": ["admin"], "summary": "Orders by status, date range, email or number", "security": [{"bearer": []}],
      "parameters": [{"name": "status", "in": "query", "schema": {"type": "string"}}, {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "email substring or order number"},
        {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}}, {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer"}}, {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
      "responses": {"200": {"description": "Page of Order"}}}},
    "/admin/v1/orders/{id}": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
      "get": {"tags": ["admin"], "summary": "Order with its history", "security": [{"bearer": []}], "responses": {"200": {"description": "Order"}, "404": {"description": "not_found"}}}},
    "/admin/v1/orders/{id}/ship": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
      "post": {"tags": ["admin"], "summary": "Mark shipped", "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["carrier", "tracking_number"],
          "properties": {"carrier": {"type": "string"}, "tracking_number": {"type": "string"}}}}}},
        "responses": {"200": {"description": "Order"}, "409": {"description": "invalid_transition"}}}},
    "/admin/v1/orders/{id}/deliver": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
      "post": {"tags": ["admin"], "summary": "Mark delivered", "security": [{"bearer": []}], "responses": {"200": {"description": "Order"}, "409": {"description": "invalid_transition"}}}},
    "/admin/v1/orders/{id}/refund": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
      "post": {"tags": ["admin"], "summary": "Refund in full (no amount) or in part", "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["reason"],
          "properties": {"amount": {"$ref": "#/components/schemas/Money"}, "reason": {"type": "string"}}}}}},
        "responses": {"200": {"description": "Order"}, "409": {"description": "invalid_transition"}, "422": {"description": "amount above what remains"}}}},
    "/admin/v1/stats": {"get": {"tags": ["admin"], "summary": "Orders, revenue (net of refunds), average order, top products, per-day series", "security": [{"bearer": []}],
      "parameters": [{"name": "from", "in": "query", "schema": {"type": "string"}}, {"name": "to", "in": "query", "schema": {"type": "string"}}],
      "responses": {"200": {"description": "{orders, revenue, average_order, top_products, by_day}"}}}}
  }
})json";
}

}  // namespace bazaar::orders
