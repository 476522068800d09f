"""Signed H5 session cookies binding a browser to one signing link (and so to one signer)."""
from __future__ import annotations

import hmac
import time

from sign.crypto.sm3 import hmac_sm3

COOKIE_NAME = "esign_h5"
SESSION_SECONDS = 30 * 60


def issue(session_key: bytes, link_id: str, now: float | None = None) -> str:
    expires = int((now or time.time()) + SESSION_SECONDS)
    payload = f"{link_id}.{expires}"
    return f"{payload}.{hmac_sm3(session_key, payload.encode()).hex()}"


def link_of(session_key: bytes, cookie: str | None, now: float | None = None) -> str | None:
    """The link id the cookie was issued for, or None when absent, forged or expired."""
    try:
        link_id, expires, mac = (cookie or "").rsplit(".", 2)
    except ValueError:
        return None
    expected = hmac_sm3(session_key, f"{link_id}.{expires}".encode()).hex()
    if not hmac.compare_digest(expected, mac) or int(expires) < (now or time.time()):
        return None
    return link_id
