#!/usr/bin/env python3
"""A webhook-protocol service for scripts/contracts: every call the worker makes is verified twice,
with the `standardwebhooks` package from PyPI (webhook-id, webhook-timestamp, webhook-signature)
and with the worker's own X-Erasure-Signature rule, then answered as the protocol says
(connectors/webhook/README.md). One JSON line per call goes to the log:
{"action", "path", "standard", "legacy", "webhook_id", "idempotency_key"}; a call failing either check is
answered 401.

    webhook_receiver.py --listen 127.0.0.1:PORT --secret-env VARIABLE --log FILE
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


def legacy_ok(secret, headers, body):
    """X-Erasure-Signature: v1=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>, 5 minutes' tolerance."""
    timestamp = headers.get("x-erasure-timestamp", "")
    given = headers.get("x-erasure-signature", "")
    if not timestamp.isdigit() or abs(int(timestamp) - time.time()) > 300 or not given.startswith("v1="):
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given[3:], expected)


def answer(action):
    if action == "erase":
        return 200, {"status": "erased", "counts": {"records": 1}, "reference": "contracts-1"}
    if action == "check":
        return 200, {"status": "erased", "counts": {"records": 1}}
    if action == "lookup":
        return 200, {"found": False, "count": 0}
    if action == "ping":
        return 200, {"ok": True}
    return 400, {"error": "unknown action"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--secret-env", required=True)
    p.add_argument("--log", required=True)
    args = p.parse_args()
    secret = os.environ[args.secret_env]
    verifier = Webhook(secret)  # a whsec_ secret, as the Standard Webhooks spec serialises one
    log = open(args.log, "a", buffering=1)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                verifier.verify(body, headers)
                standard = True
            except WebhookVerificationError:
                standard = False
            legacy = legacy_ok(secret, headers, body)
            try:
                action = json.loads(body).get("action", "")
            except ValueError:
                action = ""
            log.write(json.dumps({"action": action, "path": self.path, "standard": standard, "legacy": legacy,
                                  "webhook_id": headers.get("webhook-id"),
                                  "idempotency_key": headers.get("idempotency-key")}) + "\n")
            status, reply = answer(action) if standard and legacy else (401, {"error": "bad signature"})
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_):
            pass

    host, port = args.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), Handler)
    print(f"webhook receiver on {args.listen}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
