#!/usr/bin/env python3
"""Local receivers for the notifications tests and scripts/bench.sh (needs Debian's python3-aiosmtpd).

    sink.py smtp PORT DIR [--starttls] [--auth USER:PASSWORD [--auth-in-clear]]
                            an SMTP server (aiosmtpd) on 127.0.0.1:PORT; each message becomes DIR/NNNNNN.eml
                            (the raw bytes) and DIR/NNNNNN.json (envelope, decoded headers, text and HTML
                            parts parsed by Python's email package, receipt time, whether the session was
                            encrypted and which user had authenticated)
        --starttls          offers STARTTLS and refuses mail without it. The certificate is made at start-up
                            (openssl): DIR/ca.pem is a fresh CA, which signs the server's certificate for
                            IP 127.0.0.1; clients trust DIR/ca.pem to verify the server.
        --auth U:P          offers AUTH (PLAIN, LOGIN) and accepts only U with P; mail needs AUTH. Every
                            AUTH attempt becomes DIR/auth/NNNNNN.json (mechanism, login, success, tls).
        --auth-in-clear     offers AUTH without TLS too: a server that would take credentials in the clear,
                            to show that the client never sends them there.
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


def _tls_context(directory):
    """A CA made for this run signs the server's certificate, so clients verify it for real."""
    import ssl
    import subprocess

    def path(name):
        return os.path.join(directory, name)

    def openssl(*args):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "2", *args], check=True, capture_output=True)

    openssl("-keyout", path("ca.key"), "-out", path("ca.pem"), "-subj", "/CN=bazaar test CA")
    openssl("-keyout", path("server.key"), "-out", path("server.pem"), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "extendedKeyUsage=serverAuth", "-CA", path("ca.pem"), "-CAkey", path("ca.key"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(path("server.pem"), path("server.key"))
    return context


def _authenticator(credentials, directory):
    """Accepts only USER:PASSWORD, and records every attempt (the tests check what was sent, and how)."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    user, _, password = credentials.partition(":")
    attempts = os.path.join(directory, "auth")
    os.makedirs(attempts, exist_ok=True)

    def authenticate(server, session, envelope, mechanism, auth_data):
        login = secret = None
        if isinstance(auth_data, LoginPassword):
            login, secret = auth_data.login.decode("utf-8"), auth_data.password.decode("utf-8")
        ok = login == user and secret == password
        record = {"mechanism": mechanism, "login": login, "success": ok, "tls": session.ssl is not None}
        _write(attempts, _next_name() + ".json", json.dumps(record).encode("utf-8"))
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)  # a refusal answers 535

    return authenticate


def run_smtp(port, directory, starttls=False, auth=None, auth_in_clear=False):
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
                "tls": session.ssl is not None,
                "auth_user": session.auth_data if session.authenticated else None,
            }
            name = _next_name()
            _write(directory, name + ".eml", raw)
            _write(directory, name + ".json", json.dumps(info).encode("utf-8"))
            return "250 Message accepted"

    options = {}
    if starttls:
        options.update(tls_context=_tls_context(directory), require_starttls=True)
    if auth:
        options.update(
            authenticator=_authenticator(auth, directory), auth_required=True, auth_require_tls=not auth_in_clear
        )
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, **options)
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
    import argparse

    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("mode", choices=("smtp", "http"))
    parser.add_argument("port", type=int)
    parser.add_argument("dir")
    parser.add_argument("--starttls", action="store_true")
    parser.add_argument("--auth", metavar="USER:PASSWORD")
    parser.add_argument("--auth-in-clear", action="store_true")
    args = parser.parse_args()
    if args.mode == "http" and (args.starttls or args.auth or args.auth_in_clear):
        parser.error("--starttls and --auth are for the smtp mode")
    if args.auth_in_clear and not args.auth:
        parser.error("--auth-in-clear needs --auth")
    os.makedirs(args.dir, exist_ok=True)
    if args.mode == "smtp":
        run_smtp(args.port, args.dir, args.starttls, args.auth, args.auth_in_clear)
    else:
        run_http(args.port, args.dir)


if __name__ == "__main__":
    main()
