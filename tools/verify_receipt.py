#!/usr/bin/env python3
"""Verify an erasure receipt offline, without erasure-worker's code.

    python3 tools/verify_receipt.py RECEIPT.json PUBLIC_KEY

PUBLIC_KEY: the Ed25519 public key in base64url, or a file holding the JWK set served at
/.well-known/erasure-keys (the key is chosen by the signature's key_id).
Needs only the `cryptography` package (PyPI; Debian: python3-cryptography).
Exit 0: the signature verifies; 1: it does not; 2: unreadable input.

The signature (Ed25519) covers the RFC 8785 (JCS) canonical UTF-8 bytes of the "receipt" member:
no whitespace, object members sorted by the UTF-16 code units of their names, strings escaped
only for '"', '\\' and control characters, integers in decimal (receipts hold no other numbers).
"""
import base64
import json
import os
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def canonical(value):
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        if abs(value) > 2**53 - 1:
            raise ValueError("integer beyond 2^53 - 1")
        return str(value)
    if isinstance(value, float):
        raise ValueError("receipts hold integers only")
    if isinstance(value, str):
        # json.dumps escapes exactly as RFC 8785 does once non-ASCII is left as is.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    members = sorted(value.items(), key=lambda item: item[0].encode("utf-16-be"))
    return "{" + ",".join(canonical(k) + ":" + canonical(v) for k, v in members) + "}"


def unique_members(pairs):
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        raise ValueError("a JSON object repeats a member name")
    return dict(pairs)


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key(argument, key_id):
    if os.path.isfile(argument):
        with open(argument, encoding="utf-8") as f:
            text = f.read().strip()
        if text.startswith("{"):
            document = json.loads(text)
            for jwk in document.get("keys", [document]):
                if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and jwk.get("kid") == key_id:
                    return b64url(jwk["x"])
            raise ValueError(f"no Ed25519 key with id {key_id!r} in {argument}")
        argument = text
    return b64url(argument.strip())


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1], encoding="utf-8") as f:
            envelope = json.load(f, object_pairs_hook=unique_members)
        signature = envelope["signature"]
        if signature["alg"] != "Ed25519":
            raise ValueError("the signature's alg is not Ed25519")
        key = Ed25519PublicKey.from_public_bytes(public_key(sys.argv[2], signature["key_id"]))
        message = canonical(envelope["receipt"]).encode("utf-8")
        value = b64url(signature["value"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        key.verify(value, message)
    except InvalidSignature:
        print("NOT valid: the signature does not match the receipt")
        return 1
    receipt = envelope["receipt"]
    print(f"valid: receipt of request {receipt.get('request_id')} ({receipt.get('state')}), "
          f"signed by key {signature['key_id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
