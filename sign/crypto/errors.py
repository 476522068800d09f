"""Exceptions raised by :mod:`sign.crypto`."""
from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error raised by this package."""


class InvalidSignature(CryptoError):
    """A signature did not verify (used by helpers that raise instead of returning False)."""


class DecryptionError(CryptoError):
    """Ciphertext could not be decrypted: bad tag, bad padding, bad C3 hash, malformed input."""
