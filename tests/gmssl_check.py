"""The independent SM2 check: gmssl (pure Python) verifies signatures our code made.

One place for it because gmssl's constructor mangles some public keys: a hex key starting with
"04" goes through ``lstrip("04")``, which strips every leading '0' and '4' character, not just a
prefix. An x coordinate whose hex starts with "04" (one key in 256) thus lost digits and gmssl's
point arithmetic failed with ``TypeError: object of type 'NoneType' has no len()`` (a CI run hit
it). The key is therefore set on the object after construction, verbatim.
"""
from __future__ import annotations

from asn1crypto import algos
from gmssl import sm2 as gsm2


def _xy_hex(point: bytes) -> str:
    """x || y in hex from a 65-byte uncompressed point (04 || x || y) or a raw 64-byte x || y."""
    point = bytes(point)
    if len(point) == 65 and point[0] == 4:
        return point[1:].hex()
    if len(point) == 64:
        return point.hex()
    raise ValueError(f"not an uncompressed SM2 point ({len(point)} bytes)")


def gmssl_for(point: bytes, private_key: bytes = b"\x00" * 32) -> gsm2.CryptSM2:
    """A gmssl SM2 object for a public point (and optionally its private key)."""
    crypt = gsm2.CryptSM2(private_key=private_key.hex(), public_key="00")
    crypt.public_key = _xy_hex(point)
    return crypt


def cert_point(cert) -> bytes:
    """The uncompressed public point of an asn1crypto certificate (or SubjectPublicKeyInfo)."""
    spki = cert.public_key if hasattr(cert, "public_key") else cert
    return bytes(spki["public_key"].native)


def raw_rs(signature: bytes | tuple[int, int]) -> str:
    """A DER SM2 signature (SEQUENCE of r, s) or an (r, s) pair as gmssl's r || s hex."""
    if isinstance(signature, tuple):
        r, s = signature
    else:
        rs = algos.DSASignature.load(bytes(signature)).native
        r, s = rs["r"], rs["s"]
    return "%064x%064x" % (r, s)


def gmssl_verify(point: bytes, signature: bytes | tuple[int, int], data: bytes) -> bool:
    """gmssl verifies an SM2 signature over ``data`` (SM3 with the default user ID)."""
    return bool(gmssl_for(point).verify_with_sm3(raw_rs(signature), data))


def gmssl_verify_cert(cert, signature: bytes | tuple[int, int], data: bytes) -> bool:
    """gmssl verifies a signature made by the key of ``cert``."""
    return gmssl_verify(cert_point(cert), signature, data)


def gmssl_verify_digest(point: bytes, signature: bytes | tuple[int, int], digest: bytes) -> bool:
    """gmssl verifies an SM2 signature over an already computed e = SM3(Z || M)."""
    return bool(gmssl_for(point).verify(raw_rs(signature), digest))
