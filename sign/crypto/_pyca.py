"""Shared helpers for the ``cryptography``-based modules (rsa.py, ecdsa.py)."""
from __future__ import annotations

from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization

HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def hash_algorithm(name: str) -> hashes.HashAlgorithm:
    try:
        return HASHES[name.lower().replace("-", "")]()
    except KeyError:
        raise ValueError(f"unsupported hash {name!r}; expected one of {sorted(HASHES)}") from None


def check_digest(digest: bytes, algorithm: hashes.HashAlgorithm) -> None:
    if len(digest) != algorithm.digest_size:
        raise ValueError(f"{algorithm.name} digest must be {algorithm.digest_size} bytes")


def _password(password: bytes | str | None) -> bytes | None:
    return password.encode("utf-8") if isinstance(password, str) else password


def private_to_pem(key: Any, password: bytes | str | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with the library's best available scheme when a password is given."""
    password = _password(password)
    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def public_to_pem(key: Any) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private(data: bytes | str, password: bytes | str | None, kind: type, what: str) -> Any:
    """PEM or DER private key of type ``kind``; ValueError otherwise (incl. wrong password)."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    loader = serialization.load_pem_private_key if b"-----BEGIN" in raw else serialization.load_der_private_key
    try:
        key = loader(raw, password=_password(password))
    except (TypeError, UnsupportedAlgorithm) as exc:  # password missing/unexpected, SM2 key, ...
        raise ValueError(str(exc)) from None
    if not isinstance(key, kind):
        raise ValueError(f"not {what} private key")
    return key


def load_public(data: bytes | str, kind: type, what: str) -> Any:
    raw = data.encode() if isinstance(data, str) else bytes(data)
    loader = serialization.load_pem_public_key if b"-----BEGIN" in raw else serialization.load_der_public_key
    try:
        key = loader(raw)
    except UnsupportedAlgorithm as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(key, kind):
        raise ValueError(f"not {what} public key")
    return key
