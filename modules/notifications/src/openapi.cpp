#include "routes.hpp"

namespace bazaar::notifications {

const char* openapi_fragment() {
  return R"json({
  "components": {"schemas": {
    "Notification": {"type": "object", "required": ["id", "type", "title", "body", "read", "created_at"],
      "properties": {"id": {"type": "string", "format": "uuid"},
        "type": {"type": "string", "description": "the template that produced it, e.g. order_shipped"},
        "title": {"type": "string"}, "body": {"type": "string"}, "read": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"}}},
    "NotificationPage": {"type": "object", "required": ["items", "next_cursor"], "properties": {
      "items": {"type": "array", "items": {"$ref": "#/components/schemas/Notification"}}, "next_cursor": {"type": ["string", "null"]}}},
    "NotificationDelivery": {"type": "object",
      "required": ["id", "event_id", "channel", "recipient", "template", "status", "attempts", "last_error", "created_at", "sent_at"],
      "properties": {"id": {"type": "string", "format": "uuid"}, "event_id": {"type": "string", "format": "uuid"},
        "event_type": {"type": "string"}, "channel": {"type": "string", "enum": ["email", "in_app", "webhook"]},
        "recipient": {"type": "string", "description": "email address, user id (in_app) or URL (webhook); redacted:<id> after the user's deletion"},
        "template": {"type": "string", "description": "template name; the event type for webhooks"},
        "status": {"type": "string", "enum": ["pending", "sent", "failed", "dead"],
          "description": "failed: will be retried at next_attempt_at (a template that did not render is failed without one); dead: notifications.max_attempts exhausted"},
        "attempts": {"type": "integer"}, "last_error": {"type": ["string", "null"]},
        "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
        "created_at": {"type": "string", "format": "date-time"}, "sent_at": {"type": ["string", "null"], "format": "date-time"}}},
    "NotificationDeliveryPage": {"type": "object", "required": ["items", "next_cursor"], "properties": {
      "items": {"type": "array", "items": {"$ref": "#/components/schemas/NotificationDelivery"}}, "next_cursor": {"type": ["string", "null"]}}},
    "NotificationTemplate": {"type": "object",
      "required": ["name", "channel", "subject", "body", "body_html", "updated_at", "updated_by"],
      "properties": {"name": {"type": "string"}, "channel": {"type": "string", "enum": ["email", "in_app"]},
        "trigger": {"type": "string", "description": "the event that sends it"},
        "subject": {"type": "string", "description": "email subject, or the in-app title"},
        "body": {"type": "string", "description": "text body"}, "body_html": {"type": ["string", "null"], "description": "HTML body (email only)"},
        "updated_at": {"type": "string", "format": "date-time"}, "updated_by": {"type": "string"},
        "sample_context": {"type": "object", "description": "the variables a template can use, with sample values"}},
      "description": "Syntax: {{a.b}} substitutes (HTML-escaped in body_html), {{money order.total}} formats Money, {{#each order.lines}}…{{else}}…{{/each}} loops ({{title}}, {{this.title}}, {{@number}} inside), {{#if x}}…{{else}}…{{/if}}, {{! comment }}. Unknown variables are errors."}
  }},
  "paths": {
    "/api/v1/me/notifications": {"get": {"tags": ["notifications"], "summary": "The caller's in-app notifications, newest first", "security": [{"bearer": []}],
      "parameters": [{"name": "unread", "in": "query", "schema": {"type": "boolean"}, "description": "true: only unread ones"},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
      "responses": {"200": {"description": "Page of notifications", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NotificationPage"}}}},
        "401": {"description": "unauthorized"}, "422": {"description": "validation_failed (limit, cursor, unread)"}}}},
    "/api/v1/me/notifications/{id}/read": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
      "post": {"tags": ["notifications"], "summary": "Mark one of the caller's notifications read (idempotent)", "security": [{"bearer": []}],
        "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 255}}],
        "responses": {"204": {"description": "Read"}, "401": {"description": "unauthorized"},
          "404": {"description": "not_found (also another user's notification)"}}}},
    "/admin/v1/notifications": {"get": {"tags": ["admin", "notifications"], "summary": "Email, in-app and webhook deliveries, newest first", "security": [{"bearer": []}],
      "parameters": [{"name": "status", "in": "query", "schema": {"type": "string", "enum": ["pending", "sent", "failed", "dead"]}},
        {"name": "channel", "in": "query", "schema": {"type": "string", "enum": ["email", "in_app", "webhook"]}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
      "responses": {"200": {"description": "Page of deliveries", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NotificationDeliveryPage"}}}},
        "403": {"description": "forbidden"}, "422": {"description": "validation_failed"}}}},
    "/admin/v1/notifications/{id}/retry": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
      "post": {"tags": ["admin", "notifications"], "summary": "Send a delivery again: back to pending with attempts 0 (an email that never rendered is rendered with the current template first); audited", "security": [{"bearer": []}],
        "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 255}}],
        "responses": {"200": {"description": "The delivery, pending", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NotificationDelivery"}}}},
          "404": {"description": "not_found"}, "409": {"description": "not_retryable (in-app messages; erased recipients)"},
          "422": {"description": "template_error: the template still does not render"}}}},
    "/admin/v1/notification-templates": {"get": {"tags": ["admin", "notifications"], "summary": "Every message template, with its trigger and sample context", "security": [{"bearer": []}],
      "responses": {"200": {"description": "{items: [NotificationTemplate]}", "content": {"application/json": {"schema": {"type": "object",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/NotificationTemplate"}}}}}}}}}},
    "/admin/v1/notification-templates/{name}": {"parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"},
        "description": "verify_email, password_reset, welcome, order_received, order_confirmed, order_shipped, order_delivered, order_cancelled, order_refunded, stock_low"}],
      "put": {"tags": ["admin", "notifications"], "summary": "Replace a template; it is test-rendered against its sample context first; audited", "security": [{"bearer": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["subject", "body"],
          "properties": {"channel": {"type": "string", "enum": ["email", "in_app"], "default": "email"},
            "subject": {"type": "string", "maxLength": 500}, "body": {"type": "string"}, "body_html": {"type": ["string", "null"]}}}}}},
        "responses": {"200": {"description": "The stored template", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NotificationTemplate"}}}},
          "404": {"description": "not_found: no template of that name"},
          "422": {"description": "validation_failed: errors name the field and the line and column of the template error"}}}}
  }
})json";
}

}  // namespace bazaar::notifications
