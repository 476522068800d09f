"""ECDSA helpers over ``cryptography`` (P-256 by default, P-384 allowed); DER signatures."""
from __future__ import annotations

from cryptography.exceptions import InvalidSignature as _PycaInvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, utils

from . import _pyca

CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1}


def generate_ecdsa_key(curve: str = "P-256") -> ec.EllipticCurvePrivateKey:
    try:
        return ec.generate_private_key(CURVES[curve]())
    except KeyError:
        raise ValueError(f"unsupported curve {curve!r}; expected one of {sorted(CURVES)}") from None


def ecdsa_sign(key: ec.EllipticCurvePrivateKey, data: bytes, hash: str = "sha256") -> bytes:
    return key.sign(bytes(data), ec.ECDSA(_pyca.hash_algorithm(hash)))


def ecdsa_sign_digest(key: ec.EllipticCurvePrivateKey, digest: bytes, hash: str = "sha256") -> bytes:
    alg = _pyca.hash_algorithm(hash)
    _pyca.check_digest(digest, alg)
    return key.sign(bytes(digest), ec.ECDSA(utils.Prehashed(alg)))


def ecdsa_verify(pub: ec.EllipticCurvePublicKey, signature: bytes, data: bytes, hash: str = "sha256") -> bool:
    try:
        pub.verify(bytes(signature), bytes(data), ec.ECDSA(_pyca.hash_algorithm(hash)))
        return True
    except (_PycaInvalidSignature, ValueError):
        return False


def ecdsa_verify_digest(pub: ec.EllipticCurvePublicKey, signature: bytes, digest: bytes,
                        hash: str = "sha256") -> bool:
    alg = _pyca.hash_algorithm(hash)
    _pyca.check_digest(digest, alg)
    try:
        pub.verify(bytes(signature), bytes(digest), ec.ECDSA(utils.Prehashed(alg)))
        return True
    except (_PycaInvalidSignature, ValueError):
        return False


def ecdsa_private_key_to_pem(key: ec.EllipticCurvePrivateKey, password: bytes | str | None = None) -> bytes:
    return _pyca.private_to_pem(key, password)


def ecdsa_public_key_to_pem(pub: ec.EllipticCurvePublicKey) -> bytes:
    return _pyca.public_to_pem(pub)


def load_ecdsa_private_key(data: bytes | str, password: bytes | str | None = None) -> ec.EllipticCurvePrivateKey:
    return _pyca.load_private(data, password, ec.EllipticCurvePrivateKey, "an EC")


def load_ecdsa_public_key(data: bytes | str) -> ec.EllipticCurvePublicKey:
    return _pyca.load_public(data, ec.EllipticCurvePublicKey, "an EC")
