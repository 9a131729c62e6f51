#!/usr/bin/env python3
"""Publish one erasure request (version 1) for erasure-worker.

    publish.py --url amqp://guest:guest@localhost:5672/%2f --email ana@example.com
    publish.py --url ... --email ana@example.com --phone +33612345678 \\
        --user-id u_123 --id helpdesk=3712 --system helpdesk --locale fr --wait 60

The worker requires a signature by default (intake.require_signature): give
--key-id and --key-env, or the message is dead-lettered as bad_signature and no
event ever comes back.

Exit status: 0 published (and, with --wait, the request completed); 1 the
broker did not take the message (no such queue, nack, connection error); 2 no
outcome within --wait seconds (argparse also uses 2 for bad arguments); 3 the
outcome arrived and the request did not complete (failed, rejected, cancelled).
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone

import pika
from pika.exceptions import AMQPError, NackError, UnroutableError

# The events that end a request; the others (deadline_extended, ...) are shown and waited past.
OUTCOMES = {"erasure.completed", "erasure.failed", "erasure.rejected", "erasure.cancelled"}


def parse_args():
    p = argparse.ArgumentParser(description="Publish an erasure request (version 1).")
    p.add_argument("--url", required=True, help="AMQP URL, e.g. amqp://user:pass@host:5672/%%2f")
    p.add_argument("--queue", default="erasure.requests", help="default: %(default)s")
    p.add_argument("--email", action="append", default=[], help="repeatable")
    p.add_argument("--phone", action="append", default=[], help="E.164, e.g. +33612345678; repeatable")
    p.add_argument("--user-id")
    p.add_argument("--id", action="append", default=[], metavar="SYSTEM=ID",
                   help="the person's id in one system; repeatable")
    p.add_argument("--system", action="append", default=[], metavar="NAME",
                   help="only erase from these systems (default: all); repeatable")
    p.add_argument("--locale", help="language of the confirmation, e.g. fr or en-GB")
    p.add_argument("--request-id", type=uuid.UUID, default=None,
                   help="idempotency key (default: a new random UUID)")
    p.add_argument("--key-id", help="signing key id (x-erasure-key-id), as configured in the worker")
    p.add_argument("--key-env", metavar="VARIABLE",
                   help="environment variable holding that key's HMAC secret (never pass a secret as an argument)")
    p.add_argument("--wait", type=float, metavar="SECONDS",
                   help="wait this long for the outcome (completed, failed, rejected, cancelled) on a private reply queue")
    args = p.parse_args()

    ids = {}
    for item in args.id:
        system, sep, value = item.partition("=")
        if not sep or not system or not value:
            p.error(f"--id expects SYSTEM=ID, got {item!r}")
        ids[system] = value
    args.ids = ids
    if not (args.email or args.phone or args.user_id or ids):
        p.error("give at least one of --email, --phone, --user-id, --id")
    return args


def build_message(args, request_id):
    subject = {}
    if args.user_id:
        subject["user_id"] = args.user_id
    if args.email:
        subject["emails"] = args.email
    if args.phone:
        subject["phones"] = args.phone
    if args.ids:
        subject["ids"] = args.ids

    message = {
        "version": 1,
        "request_id": request_id,
        "subject": subject,
        # When the person asked: the legal one-month clock starts here.
        "requested_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    if args.locale:
        message["locale"] = args.locale
    if args.system:
        message["systems"] = args.system
    return message


def signature_headers(args, body, reply_to):
    """x-erasure-key-id and x-erasure-signature: v2=<hex HMAC-SHA256 over "erasure-v2\\n", the
    length of reply_to as two big-endian bytes, reply_to, then the exact body bytes>."""
    if not args.key_id:
        return None
    secret = os.environ.get(args.key_env or "")
    if not secret:
        sys.exit(f"error: --key-id needs --key-env naming a set environment variable")
    reply = (reply_to or "").encode()
    signed = b"erasure-v2\n" + len(reply).to_bytes(2, "big") + reply + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return {"x-erasure-key-id": args.key_id, "x-erasure-signature": f"v2={digest}"}


def wait_for_outcome(channel, queue, request_id, seconds):
    """The first event of `request_id` that ends it, as (method, properties, event), or None after
    `seconds`. Other events (erasure.deadline_extended, ...) are shown and waited past."""
    deadline = time.monotonic() + seconds
    # One generator for the whole wait; it yields (None, None, None) after a second of silence.
    for method, props, body in channel.consume(queue, auto_ack=True, inactivity_timeout=1):
        if time.monotonic() >= deadline:
            break
        if method is None:
            continue
        try:
            event = json.loads(body)
        except ValueError:
            continue
        if not isinstance(event, dict) or event.get("request_id") != request_id:
            continue
        print(f"event: {event.get('event')} (type {props.type})", file=sys.stderr)
        if event.get("event") in OUTCOMES:
            channel.cancel()
            return method, props, event
    channel.cancel()
    return None


def main():
    args = parse_args()
    request_id = str(args.request_id or uuid.uuid4())
    body = json.dumps(build_message(args, request_id)).encode()

    try:
        connection = pika.BlockingConnection(pika.URLParameters(args.url))
    except AMQPError as e:
        print(f"error: cannot connect to the broker: {e!r}", file=sys.stderr)
        return 1

    try:
        channel = connection.channel()
        channel.confirm_delivery()  # basic_publish now waits for the broker's ack

        reply_queue = None
        if args.wait is not None:
            # Private reply queue, created before publishing so no reply is missed.
            # (The worker declares erasure.requests itself: never declare it here.)
            reply_queue = channel.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue

        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=2,  # persistent
            message_id=request_id,
            reply_to=reply_queue,
            headers=signature_headers(args, body, reply_queue),
        )
        try:
            # Default exchange, routing key = queue name; mandatory: fail if no queue takes it.
            channel.basic_publish(exchange="", routing_key=args.queue, body=body,
                                  properties=properties, mandatory=True)
        except UnroutableError:
            print(f"error: message unroutable: no queue named {args.queue!r} on this broker/vhost "
                  "(the worker declares it when it starts)", file=sys.stderr)
            return 1
        except NackError:
            print("error: the broker refused the message (nack)", file=sys.stderr)
            return 1

        if reply_queue is None:
            print(request_id)
            return 0

        print(f"published request {request_id}; waiting up to {args.wait:g}s for its outcome",
              file=sys.stderr)
        received = wait_for_outcome(channel, reply_queue, request_id, args.wait)
        if received is None:
            print(f"error: no outcome within {args.wait:g}s (request {request_id})", file=sys.stderr)
            return 2
        method, props, event = received
        print(f"routing key: {method.routing_key}")
        print(f"type: {props.type}")
        print(json.dumps(event, indent=2, ensure_ascii=False))
        return 0 if event["event"] == "erasure.completed" else 3
    except AMQPError as e:
        print(f"error: {e!r}", file=sys.stderr)
        return 1
    finally:
        if connection.is_open:
            connection.close()


if __name__ == "__main__":
    sys.exit(main())
