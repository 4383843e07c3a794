#!/usr/bin/env python3
"""Email latency for scripts/bench.sh: from a committed orders.order_placed event to the message accepted by
a local SMTP server.

    notify_latency.py --smtp-port PORT [--rate 50] [--seconds 10] [--timeout 30] -- PSQL_CONNECTION_ARGS...

Runs an SMTP server (aiosmtpd, Debian python3-aiosmtpd) on 127.0.0.1:PORT — bazaar must be serving with
notifications.email.transport=smtp and smtp_url=smtp://127.0.0.1:PORT — then publishes `rate` events a
second for `seconds` seconds into platform.outbox as the orders module does, through one psql session, each
in one autocommitted statement with a pg_notify('bazaar_events'): the orders module's own dispatcher is woken
in-process when its commit returns, and this NOTIFY, which bazaar's dispatcher listens for, stands in for
that wake-up here, where the publisher is outside the process. Each event is an order that
awaits an external payment (so the customer gets "order received"). The latency of an order is the SMTP
server's receipt time minus the event's occurred_at (clock_timestamp() at insert, i.e. its commit to within
a statement), both on this machine's clock.

Prints one line: "<sent> <received> <p50_ms> <p99_ms> <max_ms>".
"""
import argparse
import email
import email.policy
import json
import math
import subprocess
import sys
import threading
import time
import uuid


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class Handler:
    def __init__(self, prefix):
        self.prefix = prefix
        self.received = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        for word in str(msg["Subject"]).split():
            if word.startswith(self.prefix):
                with self.lock:
                    self.received.setdefault(word, now)
        return "250 Message accepted"


def order_event(number):
    order_id = str(uuid.uuid4())
    line = {"variant_id": str(uuid.uuid4()), "product_id": str(uuid.uuid4()), "sku": "BENCH-MUG",
            "title": "Enamel mug", "quantity": 2, "unit_price": 1250, "line_total": 2500}
    order = {"order_id": order_id, "number": number, "user_id": "", "email": number.lower() + "@example.com",
             "currency": "EUR", "subtotal": 2500, "shipping_total": 495, "total": 2995, "lines": [line],
             "shipping_address": {"first_name": "Ada", "last_name": "Lovelace", "line1": "12 Main Street",
                                  "city": "Springfield", "postal_code": "12345", "country": "DE"},
             "status": "pending_payment", "payment_status": "pending"}
    payload = json.dumps({"order": order, "awaits_external_payment": True})
    return (
        "WITH added AS (INSERT INTO platform.outbox (id, type, version, aggregate_id, payload, occurred_at) "
        f"VALUES ('{uuid.uuid4()}', 'orders.order_placed', 1, '{order_id}', $bench${payload}$bench$::jsonb, "
        "clock_timestamp()) RETURNING id) SELECT count(*) FROM (SELECT pg_notify('bazaar_events', '') FROM added) n;\n"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--timeout", type=float, default=30, help="how long to wait for stragglers")
    parser.add_argument("psql", nargs=argparse.REMAINDER, help="-- then psql connection arguments")
    args = parser.parse_args()
    psql_args = [a for a in args.psql if a != "--"]

    from aiosmtpd.controller import Controller

    run = "BENCH-" + uuid.uuid4().hex[:8].upper() + "-"
    handler = Handler(run)
    controller = Controller(handler, hostname="127.0.0.1", port=args.smtp_port)
    controller.start()
    try:
        psql = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", *psql_args],
                                stdin=subprocess.PIPE, text=True)
        total = int(args.rate * args.seconds)
        numbers = [f"{run}{i:06d}" for i in range(total)]
        start = time.monotonic()
        for i, number in enumerate(numbers):
            delay = start + i / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            psql.stdin.write(order_event(number))
            psql.stdin.flush()
        psql.stdin.close()
        if psql.wait() != 0:
            sys.exit("psql failed while publishing")

        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            with handler.lock:
                if len(handler.received) >= total:
                    break
            time.sleep(0.05)

        rows = subprocess.run(
            ["psql", "-X", "-q", "-At", "-F", " ", *psql_args, "-c",
             "SELECT payload->'order'->>'number', extract(epoch FROM occurred_at) FROM platform.outbox "
             f"WHERE type = 'orders.order_placed' AND payload->'order'->>'number' LIKE '{run}%'"],
            check=True, capture_output=True, text=True).stdout.split("\n")
        committed = {}
        for row in rows:
            if row.strip():
                number, at = row.split(" ")
                committed[number] = float(at)
        with handler.lock:
            latencies = [(handler.received[n] - committed[n]) * 1000 for n in numbers
                         if n in handler.received and n in committed]
        print(f"{total} {len(latencies)} {percentile(latencies, 0.50):.1f} {percentile(latencies, 0.99):.1f} "
              f"{max(latencies) if latencies else float('nan'):.1f}")
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
