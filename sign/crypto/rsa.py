"""RSA helpers over ``cryptography``: keys, PKCS#1 v1.5 and PSS signatures with SHA-2.

PSS signs with MGF1(same hash) and salt length = digest length (what CMS/PAdES profiles and
most validators expect); verification accepts any salt length unless one is given.
"""
from __future__ import annotations

from cryptography.exceptions import InvalidSignature as _PycaInvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from . import _pyca

RSAPrivateKey = rsa.RSAPrivateKey
RSAPublicKey = rsa.RSAPublicKey
KEY_SIZES = (2048, 3072, 4096)
PADDINGS = ("pkcs1v15", "pss")


def generate_rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    if bits not in KEY_SIZES:
        raise ValueError(f"RSA key size must be one of {KEY_SIZES}")
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _padding(name: str, hash_alg, *, verifying: bool, salt_length: int | None = None):
    if name == "pkcs1v15":
        return padding.PKCS1v15()
    if name == "pss":
        if salt_length is None:
            salt_length = padding.PSS.AUTO if verifying else padding.PSS.DIGEST_LENGTH
        return padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=salt_length)
    raise ValueError(f"unsupported RSA padding {name!r}; expected one of {PADDINGS}")


def rsa_sign(key: rsa.RSAPrivateKey, data: bytes, hash: str = "sha256", padding_name: str = "pkcs1v15") -> bytes:
    alg = _pyca.hash_algorithm(hash)
    return key.sign(bytes(data), _padding(padding_name, alg, verifying=False), alg)


def rsa_sign_digest(key: rsa.RSAPrivateKey, digest: bytes, hash: str = "sha256",
                    padding_name: str = "pkcs1v15") -> bytes:
    """Sign a precomputed digest (e.g. a CMS signedAttrs hash)."""
    alg = _pyca.hash_algorithm(hash)
    _pyca.check_digest(digest, alg)
    return key.sign(bytes(digest), _padding(padding_name, alg, verifying=False), utils.Prehashed(alg))


def rsa_verify(pub: rsa.RSAPublicKey, signature: bytes, data: bytes, hash: str = "sha256",
               padding_name: str = "pkcs1v15", salt_length: int | None = None) -> bool:
    alg = _pyca.hash_algorithm(hash)
    try:
        pub.verify(bytes(signature), bytes(data), _padding(padding_name, alg, verifying=True,
                                                            salt_length=salt_length), alg)
        return True
    except (_PycaInvalidSignature, ValueError):
        return False


def rsa_verify_digest(pub: rsa.RSAPublicKey, signature: bytes, digest: bytes, hash: str = "sha256",
                      padding_name: str = "pkcs1v15", salt_length: int | None = None) -> bool:
    alg = _pyca.hash_algorithm(hash)
    _pyca.check_digest(digest, alg)
    try:
        pub.verify(bytes(signature), bytes(digest), _padding(padding_name, alg, verifying=True,
                                                              salt_length=salt_length), utils.Prehashed(alg))
        return True
    except (_PycaInvalidSignature, ValueError):
        return False


def rsa_private_key_to_pem(key: rsa.RSAPrivateKey, password: bytes | str | None = None) -> bytes:
    return _pyca.private_to_pem(key, password)


def rsa_public_key_to_pem(pub: rsa.RSAPublicKey) -> bytes:
    return _pyca.public_to_pem(pub)


def load_rsa_private_key(data: bytes | str, password: bytes | str | None = None) -> rsa.RSAPrivateKey:
    """PEM or DER (PKCS#8 or PKCS#1); ValueError if not RSA or the password is wrong/missing."""
    return _pyca.load_private(data, password, rsa.RSAPrivateKey, "an RSA")


def load_rsa_public_key(data: bytes | str) -> rsa.RSAPublicKey:
    return _pyca.load_public(data, rsa.RSAPublicKey, "an RSA")
