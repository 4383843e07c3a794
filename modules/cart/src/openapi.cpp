#include "routes.hpp"

namespace bazaar::cart {

const char* openapi_fragment() {
  return R"json({
  "components": {"schemas": {
    "CartItem": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "variant_id": {"type": "string", "format": "uuid"},
      "product_id": {"type": "string", "format": "uuid"}, "sku": {"type": "string"}, "title": {"type": "string"},
      "quantity": {"type": "integer", "minimum": 1, "maximum": 999},
      "unit_price": {"$ref": "#/components/schemas/Money"}, "line_total": {"$ref": "#/components/schemas/Money"}}},
    "Cart": {"type": "object", "required": ["id", "status", "items", "subtotal", "item_count", "warnings", "updated_at"],
      "properties": {"id": {"type": "string", "format": "uuid"}, "status": {"type": "string", "enum": ["open", "completed", "abandoned"]},
        "items": {"type": "array", "maxItems": 100, "items": {"$ref": "#/components/schemas/CartItem"}},
        "subtotal": {"$ref": "#/components/schemas/Money"}, "item_count": {"type": "integer"},
        "warnings": {"type": "array", "items": {"type": "object", "properties": {"item_id": {"type": "string"},
          "code": {"type": "string", "enum": ["price_changed", "insufficient_stock", "unavailable"]}, "message": {"type": "string"}}}},
        "updated_at": {"type": "string", "format": "date-time"}}}
  }},
  "paths": {
    "/api/v1/carts": {"post": {"tags": ["cart"], "summary": "Create a cart (a guest cart, or the caller's; an authenticated caller with an open cart gets it back with 200)",
      "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 255}}],
      "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
      "responses": {"201": {"description": "Cart", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Cart"}}}},
        "200": {"description": "The caller's existing open cart"}}}},
    "/api/v1/carts/{id}": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
      "get": {"tags": ["cart"], "summary": "A cart (guest carts: the id is the capability; customer carts: owner only)",
        "responses": {"200": {"description": "Cart", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Cart"}}}}, "404": {"description": "not_found"}}}},
    "/api/v1/carts/{id}/items": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
      "post": {"tags": ["cart"], "summary": "Add a variant (adds to an existing line of that variant)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["variant_id", "quantity"],
          "properties": {"variant_id": {"type": "string", "format": "uuid"}, "quantity": {"type": "integer", "minimum": 1, "maximum": 999}}}}}},
        "responses": {"200": {"description": "Cart"}, "404": {"description": "not_found"}, "409": {"description": "insufficient_stock or cart_not_open"},
          "422": {"description": "validation_failed (quantity, line limit, unknown variant)"}}}},
    "/api/v1/carts/{id}/items/{item_id}": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}},
        {"name": "item_id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
      "patch": {"tags": ["cart"], "summary": "Set a line's quantity (0 removes it)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["quantity"],
          "properties": {"quantity": {"type": "integer", "minimum": 0, "maximum": 999}}}}}},
        "responses": {"200": {"description": "Cart"}, "404": {"description": "not_found"}, "409": {"description": "insufficient_stock"}}},
      "delete": {"tags": ["cart"], "summary": "Remove a line", "responses": {"200": {"description": "Cart"}, "404": {"description": "not_found"}}}},
    "/api/v1/carts/{id}/claim": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
      "post": {"tags": ["cart"], "summary": "Merge a guest cart into the caller's open cart (or adopt it)", "security": [{"bearer": []}],
        "responses": {"200": {"description": "The caller's cart, with warnings for capped lines"}, "401": {"description": "unauthorized"},
          "404": {"description": "not_found"}, "409": {"description": "cart_not_open"}}}},
    "/api/v1/me/cart": {"get": {"tags": ["cart"], "summary": "The caller's open cart", "security": [{"bearer": []}],
      "responses": {"200": {"description": "Cart"}, "404": {"description": "No open cart"}}}}
  }
})json";
}

}  // namespace bazaar::cart
