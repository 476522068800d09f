"""The business-API request signature, shared by the server and the Python client.

    string_to_sign = METHOD \\n PATH \\n CANONICAL_QUERY \\n X-Timestamp \\n X-Nonce \\n hex(SHA-256(body))
    X-Signature    = hex(HMAC-SHA256(app_secret, string_to_sign))

CANONICAL_QUERY is the query's key=value pairs sorted by key then value, percent-encoded
(RFC 3986, spaces as %20) and joined by '&'. X-Timestamp is Unix seconds; X-Nonce is a random
string (8 to 64 characters) used once.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from urllib.parse import parse_qsl, quote

HEADER_APP_KEY = "X-App-Key"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_SIGNATURE = "X-Signature"


def canonical_query(query_string: str) -> str:
    pairs = sorted(parse_qsl(query_string, keep_blank_values=True))
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)


def string_to_sign(method: str, path: str, query_string: str, timestamp: str, nonce: str,
                   body: bytes) -> bytes:
    return "\n".join([method.upper(), path, canonical_query(query_string), timestamp, nonce,
                      hashlib.sha256(body).hexdigest()]).encode()


def compute_signature(secret: str, method: str, path: str, query_string: str, timestamp: str,
                      nonce: str, body: bytes) -> str:
    message = string_to_sign(method, path, query_string, timestamp, nonce, body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(app_key: str, secret: str, method: str, path: str, query_string: str = "",
                   body: bytes = b"", *, timestamp: int | None = None,
                   nonce: str | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    return {
        HEADER_APP_KEY: app_key, HEADER_TIMESTAMP: ts, HEADER_NONCE: nonce,
        HEADER_SIGNATURE: compute_signature(secret, method, path, query_string, ts, nonce, body),
    }
