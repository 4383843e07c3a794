#!/usr/bin/env python3
"""Local receivers for the notifications tests and scripts/bench.sh (needs Debian's python3-aiosmtpd).

    sink.py smtp PORT DIR   an SMTP server (aiosmtpd) on 127.0.0.1:PORT; each message becomes DIR/NNNNNN.eml
                            (the raw bytes) and DIR/NNNNNN.json (envelope, decoded headers, text and HTML
                            parts parsed by Python's email package, receipt time)
    sink.py http PORT DIR   an HTTP server on 127.0.0.1:PORT; each POST becomes DIR/NNNNNN.json (path,
                            headers, body, receipt time). It answers 204, or NNN for /status/NNN, and
                            sleeps 30 s first for /hang.

Files appear atomically (written aside, then renamed), the .json last, so a reader that sees a .json sees
a complete message. Runs until killed.
"""
import email
import email.policy
import json
import os
import sys
import threading
import time

_lock = threading.Lock()
_count = 0


def _next_name():
    global _count
    with _lock:
        _count += 1
        return f"{_count:06d}"


def _write(directory, name, data):
    tmp = os.path.join(directory, "." + name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(directory, name))


def run_smtp(port, directory):
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received = time.time()
            raw = envelope.original_content or envelope.content
            if isinstance(raw, str):
                raw = raw.encode("utf-8")
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            text = html = None
            for part in msg.walk():
                if part.is_multipart():
                    continue
                if part.get_content_type() == "text/plain" and text is None:
                    text = part.get_content()
                elif part.get_content_type() == "text/html" and html is None:
                    html = part.get_content()
            info = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "received_at": received,
                "from": str(msg["From"]),
                "to": str(msg["To"]),
                "subject": str(msg["Subject"]),
                "message_id": str(msg["Message-ID"]),
                "date": str(msg["Date"]),
                "delivery_id": str(msg["X-Bazaar-Delivery"]),
                "mime_version": str(msg["MIME-Version"]),
                "content_type": msg.get_content_type(),
                "text": text,
                "html": html,
                "defects": [str(d) for d in msg.defects],
            }
            name = _next_name()
            _write(directory, name + ".eml", raw)
            _write(directory, name + ".json", json.dumps(info).encode("utf-8"))
            return "250 Message accepted"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def run_http(port, directory):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            received = time.time()
            status = 204
            if self.path.startswith("/status/"):
                status = int(self.path.split("/")[2])
            elif self.path.startswith("/hang"):
                time.sleep(30)
            info = {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8"),
                "received_at": received,
            }
            _write(directory, _next_name() + ".json", json.dumps(info).encode("utf-8"))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("smtp", "http"):
        sys.exit(__doc__)
    mode, port, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(directory, exist_ok=True)
    (run_smtp if mode == "smtp" else run_http)(port, directory)


if __name__ == "__main__":
    main()
