-- Notifications: message templates (defaults below, editable through the admin API), deliveries (one row
-- per message per channel and recipient, sent by the delivery worker with retries), the users' in-app
-- inbox, and group messages (to every admin) waiting to be resolved into deliveries.

CREATE TABLE notifications.templates (
  name       text        NOT NULL,
  channel    text        NOT NULL CHECK (channel IN ('email', 'in_app')),
  subject    text        NOT NULL,
  body       text        NOT NULL,
  body_html  text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text        NOT NULL DEFAULT 'system',
  PRIMARY KEY (name, channel),
  CHECK (channel = 'email' OR body_html IS NULL)
);

-- A redelivered event never makes a second message: (event, channel, recipient, template) is unique.
CREATE TABLE notifications.deliveries (
  id              uuid PRIMARY KEY,
  event_id        uuid        NOT NULL,
  event_type      text        NOT NULL,
  channel         text        NOT NULL CHECK (channel IN ('email', 'in_app', 'webhook')),
  recipient       text        NOT NULL,  -- email address, user id (in_app) or URL (webhook)
  recipient_name  text,
  user_id         uuid,                  -- the registered user it concerns, for erasure on deletion
  template        text        NOT NULL,  -- the event type for webhooks
  subject         text,
  body_text       text,
  body_html       text,
  payload         jsonb       NOT NULL DEFAULT '{}'::jsonb,  -- render context, or the event for webhooks
  status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'dead')),
  attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error      text,
  next_attempt_at timestamptz,           -- NULL: not retried by the worker (sent, dead, or never rendered)
  locked_until    timestamptz,           -- a sender's lease
  created_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz,
  UNIQUE (event_id, channel, recipient, template),
  CHECK (status <> 'sent' OR sent_at IS NOT NULL)
);
-- The worker's claim reads only due rows.
CREATE INDEX deliveries_due_idx ON notifications.deliveries (next_attempt_at) WHERE status IN ('pending', 'failed');
CREATE INDEX deliveries_status_idx ON notifications.deliveries (status, id DESC);
CREATE INDEX deliveries_user_idx ON notifications.deliveries (user_id) WHERE user_id IS NOT NULL;

-- The in-app inbox. A message's id is its in_app delivery's id.
CREATE TABLE notifications.messages (
  id         uuid PRIMARY KEY,
  user_id    uuid        NOT NULL,
  type       text        NOT NULL,
  title      text        NOT NULL,
  body       text        NOT NULL,
  read_at    timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_user_idx ON notifications.messages (user_id, id DESC);
CREATE INDEX messages_unread_idx ON notifications.messages (user_id, id DESC) WHERE read_at IS NULL;

-- A message to a group (every active admin), turned into deliveries by the worker, which can ask the
-- accounts directory (event handlers cannot: they run inside the event's transaction).
CREATE TABLE notifications.fanouts (
  event_id     uuid        NOT NULL,
  event_type   text        NOT NULL,
  audience     text        NOT NULL CHECK (audience IN ('admins')),
  template     text        NOT NULL,
  context      jsonb       NOT NULL,
  locked_until timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (event_id, audience, template)
);

-- The default templates. Syntax: {{a.b}}, {{money x}}, {{#each list}}…{{/each}}, {{#if x}}…{{else}}…{{/if}}.
INSERT INTO notifications.templates (name, channel, subject, body, body_html) VALUES
('verify_email',
 'email',
 'Welcome to {{store.name}}, {{user.first_name}}: please confirm your email',
 'Hello {{user.first_name}},

welcome to {{store.name}}! Please confirm your email address by opening this link:

{{link}}

The link works until {{expires_at}}. If you did not create an account, you can ignore this email.

{{store.name}}
{{store.url}}
',
 '<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: Helvetica, Arial, sans-serif; line-height: 1.5; color: #222">
<p>Hello {{user.first_name}},</p>
<p>welcome to {{store.name}}! Please confirm your email address:</p>
<p><a href="{{link}}" style="background: #222; color: #fff; padding: 8px 16px; text-decoration: none">Confirm my email address</a></p>
<p>Or open this link: <a href="{{link}}">{{link}}</a></p>
<p>The link works until {{expires_at}}. If you did not create an account, you can ignore this email.</p>
<p style="color: #666">{{store.name}} · <a href="{{store.url}}">{{store.url}}</a></p>
</body></html>
'),

('password_reset',
 'email',
 'Reset your {{store.name}} password',
 'Hello {{user.first_name}},

someone (hopefully you) asked to reset the password of your {{store.name}} account. Choose a new password here:

{{link}}

The link works once, until {{expires_at}}. If you did not ask for this, ignore this email: your password stays as it is.

{{store.name}}
{{store.url}}
',
 '<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: Helvetica, Arial, sans-serif; line-height: 1.5; color: #222">
<p>Hello {{user.first_name}},</p>
<p>someone (hopefully you) asked to reset the password of your {{store.name}} account.</p>
<p><a href="{{link}}" style="background: #222; color: #fff; padding: 8px 16px; text-decoration: none">Choose a new password</a></p>
<p>Or open this link: <a href="{{link}}">{{link}}</a></p>
<p>The link works once, until {{expires_at}}. If you did not ask for this, ignore this email: your password stays as it is.</p>
<p style="color: #666">{{store.name}} · <a href="{{store.url}}">{{store.url}}</a></p>
</body></html>
'),

('welcome',
 'in_app',
 'Welcome to {{store.name}}, {{user.first_name}}!',
 'Your account is ready. Please confirm your email address with the link we sent to {{user.email}}.',
 NULL),

('order_received',
 'email',
 'We received your order {{order.number}}',
 'Hello{{#if customer.first_name}} {{customer.first_name}}{{/if}},

thank you for your order! We are waiting for your payment to arrive and will confirm the order as soon as it does.

Order {{order.number}}

{{#each order.lines}}
  {{quantity}} × {{title}} ({{sku}})  {{money line_total}}
{{/each}}

Subtotal: {{money order.subtotal}}
Shipping: {{money order.shipping_total}}
Total:    {{money order.total}}

Shipping to:
  {{order.shipping_address.first_name}} {{order.shipping_address.last_name}}
  {{order.shipping_address.line1}}
{{#if order.shipping_address.line2}}
  {{order.shipping_address.line2}}
{{/if}}
  {{order.shipping_address.postal_code}} {{order.shipping_address.city}}
  {{order.shipping_address.country}}

{{store.name}}
{{store.url}}
',
 '<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: Helvetica, Arial, sans-serif; line-height: 1.5; color: #222">
<p>Hello{{#if customer.first_name}} {{customer.first_name}}{{/if}},</p>
<p>thank you for your order! We are waiting for your payment to arrive and will confirm the order as soon as it does.</p>
<p>Order <strong>{{order.number}}</strong></p>
<table cellpadding="6" style="border-collapse: collapse; min-width: 320px">
<tr><th align="left">Item</th><th align="right">Qty</th><th align="right">Amount</th></tr>
{{#each order.lines}}
<tr><td>{{title}}<br><small style="color: #666">{{sku}}</small></td><td align="right">{{quantity}}</td><td align="right">{{money line_total}}</td></tr>
{{/each}}
<tr><td colspan="2">Subtotal</td><td align="right">{{money order.subtotal}}</td></tr>
<tr><td colspan="2">Shipping</td><td align="right">{{money order.shipping_total}}</td></tr>
<tr><td colspan="2"><strong>Total</strong></td><td align="right"><strong>{{money order.total}}</strong></td></tr>
</table>
<p>Shipping to:<br>
{{order.shipping_address.first_name}} {{order.shipping_address.last_name}}<br>
{{order.shipping_address.line1}}<br>
{{#if order.shipping_address.line2}}
{{order.shipping_address.line2}}<br>
{{/if}}
{{order.shipping_address.postal_code}} {{order.shipping_address.city}}<br>
{{order.shipping_address.country}}</p>
<p style="color: #666">{{store.name}} · <a href="{{store.url}}">{{store.url}}</a></p>
</body></html>
'),

('order_received',
 'in_app',
 'Order {{order.number}} received',
 'Awaiting payment: {{money order.total}} for {{order.item_count}} item(s). We will confirm the order as soon as the payment arrives.',
 NULL),

('order_confirmed',
 'email',
 'Your order {{order.number}} is confirmed',
 'Hello{{#if customer.first_name}} {{customer.first_name}}{{/if}},

thank you for your order! Your payment has arrived and we are preparing your parcel. We will write again when it ships.

Order {{order.number}}

{{#each order.lines}}
  {{quantity}} × {{title}} ({{sku}})  {{money line_total}}
{{/each}}

Subtotal: {{money order.subtotal}}
Shipping: {{money order.shipping_total}}
Total:    {{money order.total}}

Shipping to:
  {{order.shipping_address.first_name}} {{order.shipping_address.last_name}}
  {{order.shipping_address.line1}}
{{#if order.shipping_address.line2}}
  {{order.shipping_address.line2}}
{{/if}}
  {{order.shipping_address.postal_code}} {{order.shipping_address.city}}
  {{order.shipping_address.country}}

{{store.name}}
{{store.url}}
',
 '<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: Helvetica, Arial, sans-serif; line-height: 1.5; color: #222">
<p>Hello{{#if customer.first_name}} {{customer.first_name}}{{/if}},</p>
<p>thank you for your order! Your payment has arrived and we are preparing your parcel. We will write again when it ships.</p>
<p>Order <strong>{{order.number}}</strong></p>
<table cellpadding="6" style="border-collapse: collapse; min-width: 320px">
<tr><th align="left">Item</th><th align="right">Qty</th><th align="right">Amount</th></tr>
{{#each order.lines}}
<tr><td>{{title}}<br><small style="color: #666">{{sku}}</small></td><td align="right">{{quantity}}</td><td align="right">{{money line_total}}</td></tr>
{{/each}}
<tr><td colspan="2">Subtotal</td><td align="right">{{money order.subtotal}}</td></tr>
<tr><td colspan="2">Shipping</td><td align="right">{{money order.shipping_total}}</td></tr>
<tr><td colspan="2"><strong>Total</strong></td><td align="right"><strong>{{money order.total}}</strong></td></tr>
</table>
<p>Shipping to:<br>
{{order.shipping_address.first_name}} {{order.shipping_address.last_name}}<br>
{{order.shipping_address.line1}}<br>
{{#if order.shipping_address.line2}}
{{order.shipping_address.line2}}<br>
{{/if}}
{{order.shipping_address.postal_code}} {{order.shipping_address.city}}<br>
{{order.shipping_address.country}}</p>
<p style="color: #666">{{store.name}} · <a href="{{store.url}}">{{store.url}}</a></p>
</body></html>
'),

('order_confirmed',
 'in_app',
 'Order {{order.number}} confirmed',
 'Payment received: {{money order.total}} for {{order.item_count}} item(s). We are preparing your parcel.',
 NULL),

('order_shipped',
 'email',
 'Your order {{order.number}} is on its way',
 'Hello{{#if customer.first_name}} {{customer.first_name}}{{/if}},

good news: your order has shipped.

Carrier: {{shipment.carrier}}
Tracking number: {{shipment.tracking_number}}

Order {{order.number}}

{{#each order.lines}}
  {{quantity}} × {{title}} ({{sku}})  {{money line_total}}
{{/each}}

Subtotal: {{money order.subtotal}}
Shipping: {{money order.shipping_total}}
Total:    {{money order.total}}

Shipping to:
  {{order.shipping_address.first_name}} {{order.shipping_address.last_name}}
  {{order.shipping_address.line1}}
{{#if order.shipping_address.line2}}
  {{order.shipping_address.line2}}
{{/if}}
  {{order.shipping_address.postal_code}} {{order.shipping_address.city}}
  {{order.shipping_address.country}}

{{store.name}}
{{store.url}}
',
 '<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: Helvetica, Arial, sans-serif; line-height: 1.5; color: #222">
<p>Hello{{#if customer.first_name}} {{customer.first_name}}{{/if}},</p>
<p>good news: your order has shipped.</p>
<p>Carrier: {{shipment.carrier}}<br>Tracking number: <strong>{{shipment.tracking_number}}</strong></p>
<p>Order <strong>{{order.number}}</strong></p>
<table cellpadding="6" style="border-collapse: collapse; min-width: 320px">
<tr><th align="left">Item</th><th align="right">Qty</th><th align="right">Amount</th></tr>
{{#each order.lines}}
<tr><td>{{title}}<br><small style="color: #666">{{sku}}</small></td><td align="right">{{quantity}}</td><td align="right">{{money line_total}}</td></tr>
{{/each}}
<tr><td colspan="2">Subtotal</td><td align="right">{{money order.subtotal}}</td></tr>
<tr><td colspan="2">Shipping</td><td align="right">{{money order.shipping_total}}</td></tr>
<tr><td colspan="2"><strong>Total</strong></td><td align="right"><strong>{{money order.total}}</strong></td></tr>
</table>
<p>Shipping to:<br>
{{order.shipping_address.first_name}} {{order.shipping_address.last_name}}<br>
{{order.shipping_address.line1}}<br>
{{#if order.shipping_address.line2}}
{{order.shipping_address.line2}}<br>
{{/if}}
{{order.shipping_address.postal_code}} {{order.shipping_address.city}}<br>
{{order.shipping_address.country}}</p>
<p style="color: #666">{{store.name}} · <a href="{{store.url}}">{{store.url}}</a></p>
</body></html>
'),

('order_shipped',
 'in_app',
 'Order {{order.number}} shipped',
 '{{shipment.carrier}} tracking number: {{shipment.tracking_number}}.',
 NULL),

('order_delivered',
 'email',
 'Your order {{order.number}} was delivered',
 'Hello{{#if customer.first_name}} {{customer.first_name}}{{/if}},

your order has been delivered. We hope you enjoy it!

Order {{order.number}}

{{#each order.lines}}
  {{quantity}} × {{title}} ({{sku}})  {{money line_total}}
{{/each}}

Subtotal: {{money order.subtotal}}
Shipping: {{money order.shipping_total}}
Total:    {{money order.total}}

{{store.name}}
{{store.url}}
',
 '<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: Helvetica, Arial, sans-serif; line-height: 1.5; color: #222">
<p>Hello{{#if customer.first_name}} {{customer.first_name}}{{/if}},</p>
<p>your order has been delivered. We hope you enjoy it!</p>
<p>Order <strong>{{order.number}}</strong></p>
<table cellpadding="6" style="border-collapse: collapse; min-width: 320px">
<tr><th align="left">Item</th><th align="right">Qty</th><th align="right">Amount</th></tr>
{{#each order.lines}}
<tr><td>{{title}}<br><small style="color: #666">{{sku}}</small></td><td align="right">{{quantity}}</td><td align="right">{{money line_total}}</td></tr>
{{/each}}
<tr><td colspan="2">Subtotal</td><td align="right">{{money order.subtotal}}</td></tr>
<tr><td colspan="2">Shipping</td><td align="right">{{money order.shipping_total}}</td></tr>
<tr><td colspan="2"><strong>Total</strong></td><td align="right"><strong>{{money order.total}}</strong></td></tr>
</table>
<p style="color: #666">{{store.name}} · <a href="{{store.url}}">{{store.url}}</a></p>
</body></html>
'),

('order_delivered',
 'in_app',
 'Order {{order.number}} delivered',
 'Your order has been delivered. Enjoy!',
 NULL),

('order_cancelled',
 'email',
 'Your order {{order.number}} was cancelled',
 'Hello{{#if customer.first_name}} {{customer.first_name}}{{/if}},

{{cancellation.explanation}}
{{#if cancellation.refunded}}
We refunded {{money order.total}} to your payment method.
{{/if}}

Order {{order.number}}

{{#each order.lines}}
  {{quantity}} × {{title}} ({{sku}})  {{money line_total}}
{{/each}}

Subtotal: {{money order.subtotal}}
Shipping: {{money order.shipping_total}}
Total:    {{money order.total}}

{{store.name}}
{{store.url}}
',
 '<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: Helvetica, Arial, sans-serif; line-height: 1.5; color: #222">
<p>Hello{{#if customer.first_name}} {{customer.first_name}}{{/if}},</p>
<p>{{cancellation.explanation}}</p>
{{#if cancellation.refunded}}
<p>We refunded <strong>{{money order.total}}</strong> to your payment method.</p>
{{/if}}
<p>Order <strong>{{order.number}}</strong></p>
<table cellpadding="6" style="border-collapse: collapse; min-width: 320px">
<tr><th align="left">Item</th><th align="right">Qty</th><th align="right">Amount</th></tr>
{{#each order.lines}}
<tr><td>{{title}}<br><small style="color: #666">{{sku}}</small></td><td align="right">{{quantity}}</td><td align="right">{{money line_total}}</td></tr>
{{/each}}
<tr><td colspan="2">Subtotal</td><td align="right">{{money order.subtotal}}</td></tr>
<tr><td colspan="2">Shipping</td><td align="right">{{money order.shipping_total}}</td></tr>
<tr><td colspan="2"><strong>Total</strong></td><td align="right"><strong>{{money order.total}}</strong></td></tr>
</table>
<p style="color: #666">{{store.name}} · <a href="{{store.url}}">{{store.url}}</a></p>
</body></html>
'),

('order_cancelled',
 'in_app',
 'Order {{order.number}} cancelled',
 '{{cancellation.explanation}}{{#if cancellation.refunded}} We refunded {{money order.total}}.{{/if}}',
 NULL),

('order_refunded',
 'email',
 'Refund for your order {{order.number}}',
 'Hello{{#if customer.first_name}} {{customer.first_name}}{{/if}},

we refunded {{money refund.amount}} to your payment method ({{refund.reason}}).
{{#if refund.full}}
The order is now fully refunded.
{{else}}
Refunded so far: {{money refund.refunded_total}} of {{money order.total}}.
{{/if}}

Order {{order.number}}

{{#each order.lines}}
  {{quantity}} × {{title}} ({{sku}})  {{money line_total}}
{{/each}}

Subtotal: {{money order.subtotal}}
Shipping: {{money order.shipping_total}}
Total:    {{money order.total}}

{{store.name}}
{{store.url}}
',
 '<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: Helvetica, Arial, sans-serif; line-height: 1.5; color: #222">
<p>Hello{{#if customer.first_name}} {{customer.first_name}}{{/if}},</p>
<p>we refunded <strong>{{money refund.amount}}</strong> to your payment method ({{refund.reason}}).</p>
{{#if refund.full}}
<p>The order is now fully refunded.</p>
{{else}}
<p>Refunded so far: {{money refund.refunded_total}} of {{money order.total}}.</p>
{{/if}}
<p>Order <strong>{{order.number}}</strong></p>
<table cellpadding="6" style="border-collapse: collapse; min-width: 320px">
<tr><th align="left">Item</th><th align="right">Qty</th><th align="right">Amount</th></tr>
{{#each order.lines}}
<tr><td>{{title}}<br><small style="color: #666">{{sku}}</small></td><td align="right">{{quantity}}</td><td align="right">{{money line_total}}</td></tr>
{{/each}}
<tr><td colspan="2">Subtotal</td><td align="right">{{money order.subtotal}}</td></tr>
<tr><td colspan="2">Shipping</td><td align="right">{{money order.shipping_total}}</td></tr>
<tr><td colspan="2"><strong>Total</strong></td><td align="right"><strong>{{money order.total}}</strong></td></tr>
</table>
<p style="color: #666">{{store.name}} · <a href="{{store.url}}">{{store.url}}</a></p>
</body></html>
'),

('order_refunded',
 'in_app',
 'Refund for order {{order.number}}',
 'We refunded {{money refund.amount}} ({{refund.reason}}).',
 NULL),

('stock_low',
 'email',
 'Low stock: {{variant.sku}} ({{variant.available}} left)',
 'Hello {{recipient.name}},

{{variant.title}} (SKU {{variant.sku}}) is down to {{variant.available}} available, at or below the threshold of {{variant.threshold}}.

Variant: {{variant.variant_id}}
Product: {{variant.product_id}}

Set the stock with PUT /admin/v1/variants/{{variant.variant_id}}/stock.

{{store.name}}
{{store.url}}
',
 '<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: Helvetica, Arial, sans-serif; line-height: 1.5; color: #222">
<p>Hello {{recipient.name}},</p>
<p><strong>{{variant.title}}</strong> (SKU {{variant.sku}}) is down to <strong>{{variant.available}}</strong> available, at or below the threshold of {{variant.threshold}}.</p>
<p>Variant: {{variant.variant_id}}<br>Product: {{variant.product_id}}</p>
<p style="color: #666">{{store.name}} · <a href="{{store.url}}">{{store.url}}</a></p>
</body></html>
'),

('stock_low',
 'in_app',
 'Low stock: {{variant.sku}}',
 '{{variant.title}} is down to {{variant.available}} available (threshold {{variant.threshold}}).',
 NULL);
