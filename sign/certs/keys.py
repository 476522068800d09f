"""Private-key helpers and the :class:`Signer` abstraction used by the CA, CRLs and the TSA.

Keys are either ``cryptography`` objects (RSA, ECDSA) or ``sign.crypto.sm2.SM2PrivateKey``.
A :class:`Signer` hides where the key lives (memory or a :class:`~sign.certs.keystore.KeyStore`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Union

from asn1crypto import algos, core, keys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from sign.certs import oids
from sign.certs.errors import UnsupportedAlgorithm

if TYPE_CHECKING:  # pragma: no cover
    from sign.crypto.sm2 import SM2PrivateKey

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, "SM2PrivateKey"]

KEY_ALGS = ("sm2", "rsa2048", "rsa3072", "ecdsa-p256")


def generate_private_key(alg: str) -> Any:
    """Generate a key: ``"sm2"``, ``"rsa2048"``, ``"rsa3072"`` or ``"ecdsa-p256"``."""
    if alg == "sm2":
        from sign.crypto.sm2 import SM2PrivateKey

        return SM2PrivateKey.generate()
    if alg in ("rsa2048", "rsa3072"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(alg[3:]))
    if alg == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    raise UnsupportedAlgorithm(f"unknown key algorithm {alg!r}; expected one of {KEY_ALGS}")


def key_family(key: Any) -> str:
    """``"rsa"``, ``"ecdsa"`` or ``"sm2"`` for a private or public key object."""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "rsa"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return "ecdsa"
    if type(key).__name__ in ("SM2PrivateKey", "SM2PublicKey"):
        return "sm2"
    raise UnsupportedAlgorithm(f"unsupported key type {type(key).__name__}")


def sm2_public_key_info(public_point: bytes) -> keys.PublicKeyInfo:
    """SubjectPublicKeyInfo per GM/T 0015: id-ecPublicKey with the SM2 named curve."""
    return keys.PublicKeyInfo(
        {
            "algorithm": {
                "algorithm": "ec",
                "parameters": keys.ECDomainParameters(name="named", value=oids.SM2_CURVE),
            },
            "public_key": public_point,
        }
    )


def public_key_info(key: Any) -> keys.PublicKeyInfo:
    """asn1crypto SubjectPublicKeyInfo of a private or public key object."""
    family = key_family(key)
    pub = key.public_key() if hasattr(key, "sign") else key
    if family == "sm2":
        return sm2_public_key_info(pub.to_bytes())
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return keys.PublicKeyInfo.load(der)


def signature_algorithm(family: str) -> algos.SignedDigestAlgorithm:
    """The X.509/CMS signature algorithm we use for a key family."""
    if family == "rsa":
        return algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa", "parameters": core.Null()})
    if family == "ecdsa":
        return algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    if family == "sm2":
        return algos.SignedDigestAlgorithm({"algorithm": oids.SM2_WITH_SM3})
    raise UnsupportedAlgorithm(f"unsupported key family {family!r}")


def digest_algorithm_name(family: str) -> str:
    """Digest used with a key family: ``sha256`` (RSA, ECDSA) or ``sm3`` (SM2)."""
    return "sm3" if family == "sm2" else "sha256"


def sign_data(key: Any, data: bytes) -> bytes:
    """Sign ``data`` with the default algorithm of the key's family (DER signature for EC/SM2)."""
    family = key_family(key)
    if family == "rsa":
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if family == "ecdsa":
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(data)


class Signer(Protocol):
    """Anything that can produce signatures for certificates, CRLs and CMS."""

    @property
    def family(self) -> str: ...

    def public_key_info(self) -> keys.PublicKeyInfo: ...

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class KeySigner:
    """A :class:`Signer` over an in-memory private key."""

    key: Any

    @property
    def family(self) -> str:
        return key_family(self.key)

    def public_key_info(self) -> keys.PublicKeyInfo:
        return public_key_info(self.key)

    def sign(self, data: bytes) -> bytes:
        return sign_data(self.key, data)


def as_signer(key_or_signer: Any) -> Signer:
    """Wrap a private key in a :class:`KeySigner`; pass signers through."""
    if hasattr(key_or_signer, "public_key_info") and hasattr(key_or_signer, "family"):
        return key_or_signer
    return KeySigner(key_or_signer)


def load_public_key(spki: keys.PublicKeyInfo) -> Any:
    """A ``cryptography`` public key, or ``SM2PublicKey`` for SM2 SPKIs."""
    if oids.is_sm2_public_key(spki):
        from sign.crypto.sm2 import SM2PublicKey

        return SM2PublicKey.from_bytes(spki["public_key"].native)
    try:
        return serialization.load_der_public_key(spki.dump())
    except (ValueError, TypeError) as exc:
        raise UnsupportedAlgorithm(f"unsupported public key: {exc}") from exc


_HASHES = {"sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256,
           "sha384": hashes.SHA384, "sha512": hashes.SHA512}


SM2_DEFAULT_UID = b"1234567812345678"
# Certificates and CRLs: the GM/T 0009 default user id, then the empty id that OpenSSL 3 uses by
# default when it signs SM2 certificates (``openssl req/x509/ca`` without ``-sigopt distid:``).
SM2_CERT_UIDS = (SM2_DEFAULT_UID, b"")


def verify_signature(
    spki: keys.PublicKeyInfo, algorithm: algos.SignedDigestAlgorithm, signature: bytes, data: bytes,
    *, sm2_uids: tuple[bytes, ...] = (SM2_DEFAULT_UID,),
) -> bool:
    """Verify ``signature`` over ``data``; SM2 tries each user id of ``sm2_uids`` (default: the GM/T one).

    Never raises on a bad signature (only on an unsupported algorithm).
    """
    if oids.is_sm2_signature(algorithm):
        if not oids.is_sm2_public_key(spki):
            return False
        try:
            pub = load_public_key(spki)
            return any(pub.verify(signature, data, uid) for uid in sm2_uids)
        except Exception:  # malformed signature or point: a failed verification
            return False
    return _verify_cryptography(spki, algorithm, signature, data)


def _verify_cryptography(
    spki: keys.PublicKeyInfo, algorithm: algos.SignedDigestAlgorithm, signature: bytes, data: bytes
) -> bool:
    from cryptography.exceptions import InvalidSignature as _Invalid

    try:
        sig_algo, hash_name = algorithm.signature_algo, algorithm.hash_algo
    except ValueError as exc:
        raise UnsupportedAlgorithm(f"unsupported signature algorithm {algorithm['algorithm'].dotted}") from exc
    if oids.is_sm2_public_key(spki) or hash_name not in _HASHES:
        return False
    pub = load_public_key(spki)
    hash_alg = _HASHES[hash_name]()
    try:
        if sig_algo == "rsassa_pkcs1v15" and isinstance(pub, rsa.RSAPublicKey):
            pub.verify(signature, data, padding.PKCS1v15(), hash_alg)
        elif sig_algo == "rsassa_pss" and isinstance(pub, rsa.RSAPublicKey):
            pss = padding.PSS(padding.MGF1(hash_alg), padding.PSS.AUTO)
            pub.verify(signature, data, pss, hash_alg)
        elif sig_algo == "ecdsa" and isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(signature, data, ec.ECDSA(hash_alg))
        else:
            return False
    except _Invalid:
        return False
    return True
