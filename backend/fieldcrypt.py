"""Field-level encryption of personal data and secrets at rest (SM4-GCM).

A stored value reads ``sm4g1:<key id>:<base64(nonce | ciphertext | tag)>``. The key id lets keys
rotate: the first key of ``DATA_KEYS`` encrypts, every listed key decrypts, and
``needs_rotation`` tells which values to re-encrypt. ``context`` (e.g. ``"tenant.app_secret"``)
is authenticated as associated data, so a value copied into another column does not decrypt.
Searchable columns (ID numbers, mobiles) store a keyed HMAC-SM3 "blind index" beside the
ciphertext.
"""
from __future__ import annotations

import base64
import os

from sign.crypto.errors import DecryptionError
from sign.crypto.sm3 import hmac_sm3
from sign.crypto.sm4 import sm4_gcm_decrypt, sm4_gcm_encrypt

PREFIX = "sm4g1"


class FieldCipherError(ValueError):
    """A stored value cannot be decrypted: unknown key id, corrupted or moved value."""


class FieldCipher:
    def __init__(self, keys: tuple[tuple[str, bytes], ...], blind_index_key: bytes = b"") -> None:
        if not keys:
            raise ValueError("at least one data key is required")
        self._keys = dict(keys)
        self._active_id = keys[0][0]
        self._blind_key = blind_index_key or hmac_sm3(keys[0][1], b"blind-index-key")

    @property
    def active_key_id(self) -> str:
        return self._active_id

    def encrypt(self, plaintext: str | bytes, context: str) -> str:
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(12)
        sealed = sm4_gcm_encrypt(self._keys[self._active_id], nonce, data, context.encode())
        return f"{PREFIX}:{self._active_id}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt_bytes(self, stored: str, context: str) -> bytes:
        try:
            prefix, key_id, payload = stored.split(":", 2)
            raw = base64.b64decode(payload, validate=True)
        except (ValueError, TypeError):
            raise FieldCipherError("stored value is not an encrypted field") from None
        if prefix != PREFIX or key_id not in self._keys:
            raise FieldCipherError(f"unknown encryption key id {key_id!r}")
        try:
            return sm4_gcm_decrypt(self._keys[key_id], raw[:12], raw[12:], context.encode())
        except DecryptionError:
            raise FieldCipherError("encrypted field failed authentication") from None

    def decrypt(self, stored: str, context: str) -> str:
        return self.decrypt_bytes(stored, context).decode()

    def needs_rotation(self, stored: str) -> bool:
        return stored.split(":", 2)[1] != self._active_id

    def blind_index(self, value: str, kind: str) -> str:
        """A keyed hash for exact-match search without storing the value in clear."""
        return hmac_sm3(self._blind_key, f"{kind}:{value.strip().upper()}".encode()).hex()


def mask(value: str, keep_start: int = 4, keep_end: int = 4) -> str:
    """``110101199003071234`` -> ``1101**********1234``; short values are fully masked."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[len(value) - keep_end:]
