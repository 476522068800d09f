"""Signing passwords: scrypt hashes (a slow KDF), never the password; a minimal strength rule."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from backend.errors import ValidationFailed

N, R, P, DKLEN = 2**14, 8, 1, 32


class WeakPassword(ValidationFailed):
    code, message = "SIGNING_PASSWORD_WEAK", \
        "use 6 to 64 characters, not one repeated character nor a simple sequence"


def check_strength(password: str) -> None:
    sequences = "0123456789012345678909876543210"
    if not (6 <= len(password) <= 64) or len(set(password)) == 1 or password in sequences:
        raise WeakPassword()


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=DKLEN)
    return f"scrypt${N}${R}${P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                                r=int(r), p=int(p), dklen=len(base64.b64decode(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))
