"""Signature primitives: RSA (PKCS#1 v1.5, PSS), ECDSA and SM2 over asn1crypto objects."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from asn1crypto import algos, keys, x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from . import sm2fallback

SM2_CURVE = "1.2.156.10197.1.301"
SM3_OID = "1.2.156.10197.1.401"
SM2_SIG_OIDS = {"1.2.156.10197.1.501", "1.2.156.10197.1.301.1", "1.2.156.10197.1.301"}

_DIGEST_BY_OID = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
    "2.16.840.1.101.3.4.2.8": "sha3_256",
    "2.16.840.1.101.3.4.2.9": "sha3_384",
    "2.16.840.1.101.3.4.2.10": "sha3_512",
    SM3_OID: "sm3",
}
_RSA_SIG_HASH = {
    "1.2.840.113549.1.1.5": "sha1", "1.2.840.113549.1.1.14": "sha224",
    "1.2.840.113549.1.1.11": "sha256", "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
}
_ECDSA_SIG_HASH = {
    "1.2.840.10045.4.1": "sha1", "1.2.840.10045.4.3.1": "sha224",
    "1.2.840.10045.4.3.2": "sha256", "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
}
RSA_ENC = "1.2.840.113549.1.1.1"
RSA_PSS = "1.2.840.113549.1.1.10"
EC_PUBLIC_KEY = "1.2.840.10045.2.1"


class UnsupportedAlgorithm(Exception):
    pass


def digest_name(oid: str) -> str:
    try:
        return _DIGEST_BY_OID[oid]
    except KeyError:
        raise UnsupportedAlgorithm(f"unsupported digest algorithm {oid}") from None


def new_hash(name: str) -> Any:
    return hashlib.new(name)


def digest(name: str, data: bytes) -> bytes:
    return hashlib.new(name, data).digest()


def _crypto_hash(name: str) -> hashes.HashAlgorithm:
    table = {"sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256,
             "sha384": hashes.SHA384, "sha512": hashes.SHA512, "sha3_256": hashes.SHA3_256,
             "sha3_384": hashes.SHA3_384, "sha3_512": hashes.SHA3_512}
    try:
        return table[name]()
    except KeyError:
        raise UnsupportedAlgorithm(f"hash {name} cannot be used with this key type") from None


def key_algorithm(spki: keys.PublicKeyInfo) -> str:
    """'rsa', 'sm2', 'ecdsa' (or the raw OID) for a SubjectPublicKeyInfo."""
    oid = spki["algorithm"]["algorithm"].dotted
    if oid in (RSA_ENC, RSA_PSS):
        return "rsa"
    if oid == EC_PUBLIC_KEY:
        params = spki["algorithm"]["parameters"]
        if params.name == "named" and params.chosen.dotted == SM2_CURVE:
            return "sm2"
        return "ecdsa"
    if oid == SM2_CURVE:
        return "sm2"
    return oid


@lru_cache(maxsize=512)
def _load_public_key(spki_der: bytes) -> Any:
    return load_der_public_key(spki_der)


def signature_algorithm(sig_alg_oid: str, spki: keys.PublicKeyInfo) -> str:
    kind = key_algorithm(spki)
    if sig_alg_oid in SM2_SIG_OIDS:
        return "sm2"
    if sig_alg_oid == RSA_PSS:
        return "rsa-pss"
    return kind


def verify_signature(spki: keys.PublicKeyInfo, sig_alg: algos.SignedDigestAlgorithm | Any,
                     signature: bytes, data: bytes, digest_alg: str) -> bool:
    """Verify ``signature`` over ``data`` (not prehashed); raises UnsupportedAlgorithm."""
    oid = sig_alg["algorithm"].dotted
    kind = signature_algorithm(oid, spki)
    if kind == "sm2":
        return _verify_sm2(spki, signature, data)
    pub = _load_public_key(spki.dump())
    try:
        if kind == "rsa-pss":
            params = sig_alg["parameters"]
            h = _crypto_hash(params["hash_algorithm"]["algorithm"].native)
            mgf_h = _crypto_hash(params["mask_gen_algorithm"]["parameters"]["algorithm"].native)
            pad = padding.PSS(mgf=padding.MGF1(mgf_h), salt_length=params["salt_length"].native)
            pub.verify(signature, data, pad, h)
        elif kind == "rsa" and isinstance(pub, rsa.RSAPublicKey):
            h = _crypto_hash(_RSA_SIG_HASH.get(oid, digest_alg))
            pub.verify(signature, data, padding.PKCS1v15(), h)
        elif kind == "ecdsa" and isinstance(pub, ec.EllipticCurvePublicKey):
            h = _crypto_hash(_ECDSA_SIG_HASH.get(oid, digest_alg))
            pub.verify(signature, data, ec.ECDSA(h))
        else:
            raise UnsupportedAlgorithm(f"signature algorithm {oid} with key type {kind}")
    except InvalidSignature:
        return False
    return True


def _verify_sm2(spki: keys.PublicKeyInfo, signature: bytes, data: bytes) -> bool:
    point = spki["public_key"].native if isinstance(spki["public_key"].native, bytes) else \
        spki["public_key"].dump()[1:]
    if len(signature) == 64 and signature[0] != 0x30:  # raw r||s (some GM implementations)
        signature = algos.DSASignature({"r": int.from_bytes(signature[:32], "big"),
                                        "s": int.from_bytes(signature[32:], "big")}).dump()
    try:
        from sign.crypto.sm2 import SM2PublicKey  # type: ignore[import-not-found]
    except ImportError:
        SM2PublicKey = None  # noqa: N806
    if SM2PublicKey is not None:
        try:
            return bool(SM2PublicKey.from_bytes(bytes(point)).verify(signature, data))
        except Exception:  # their errors are not ours to leak
            return False
    try:
        rs = algos.DSASignature.load(signature)
        r, s = rs["r"].native, rs["s"].native
    except Exception:  # malformed DER signature value
        return False
    return sm2fallback.verify(bytes(point), r, s, data)


def verify_certificate_signature(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    sig_alg = cert["signature_algorithm"]
    oid = sig_alg["algorithm"].dotted
    if oid in SM2_SIG_OIDS:
        hname = "sm3"
    elif oid in _RSA_SIG_HASH:
        hname = _RSA_SIG_HASH[oid]
    elif oid in _ECDSA_SIG_HASH:
        hname = _ECDSA_SIG_HASH[oid]
    else:
        hname = "sha256"
    try:
        return verify_signature(issuer.public_key, sig_alg, cert["signature_value"].native,
                                cert["tbs_certificate"].dump(), hname)
    except (UnsupportedAlgorithm, ValueError):
        return False
