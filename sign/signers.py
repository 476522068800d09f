"""Signers: the one hook between the PDF/CMS pipeline and a private key.

Modelled on pyHanko's ``Signer``: the pipeline builds the DER signed attributes and calls
:meth:`Signer.sign_raw`; everything else (certificate, chain, algorithm) is read-only state.
A KeyStore- or HSM-backed signer implements the same hook.

:class:`SoftwareSigner` parses its key once (parsing a key costs ~80 ms in pyHanko's stock
path; a signature ~0.3 ms) and keeps it, so build one per process/worker and reuse it.
"""
from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import Any, Iterable, List, Optional, Sequence

from asn1crypto import pem as asn1_pem
from asn1crypto import x509

from sign.pdf.errors import SignerError

SM2_CURVE_OID = "1.2.156.10197.1.301"
RSA_DIGESTS = ("sha256", "sha384", "sha512")


def load_certs(data: bytes | str | None) -> List[x509.Certificate]:
    """Every certificate of a PEM bundle (or one DER certificate)."""
    if data is None:
        return []
    if isinstance(data, str):
        data = data.encode()
    certs: List[x509.Certificate] = []
    try:
        if asn1_pem.detect(data):
            for type_name, _headers, der in asn1_pem.unarmor(data, multiple=True):
                if type_name == "CERTIFICATE":
                    certs.append(x509.Certificate.load(der))
        else:
            cert = x509.Certificate.load(data)
            cert.native  # force a full parse: fail here, not in the middle of a signature
            certs.append(cert)
    except Exception as exc:  # asn1crypto raises ValueError/TypeError on garbage
        raise SignerError(f"cannot read certificate: {exc}") from exc
    return certs


def cert_algorithm(cert: x509.Certificate) -> str:
    """``"rsa"`` or ``"sm2"`` from the certificate's public key."""
    pk = cert.public_key
    algo = pk["algorithm"]["algorithm"].dotted
    if algo == "1.2.840.113549.1.1.1":
        return "rsa"
    if algo == "1.2.840.10045.2.1":  # id-ecPublicKey
        params = pk["algorithm"]["parameters"]
        curve = params.chosen.dotted if hasattr(params.chosen, "dotted") else None
        if curve == SM2_CURVE_OID:
            return "sm2"
        raise SignerError(f"unsupported EC curve {curve} (only SM2)")
    raise SignerError(f"unsupported public key algorithm {algo}")


def cert_public_point(cert: x509.Certificate) -> bytes:
    """The public key bytes (04||x||y for SM2, DER SubjectPublicKeyInfo for RSA)."""
    if cert_algorithm(cert) == "sm2":
        return bytes(cert.public_key["public_key"].native)
    return cert.public_key.dump()


class Signer(ABC):
    """Produces a raw signature over the DER signed attributes of a CMS SignerInfo."""

    def __init__(self) -> None:
        # Free-form per-signer cache used by sign.cms (pre-encoded certificates etc.).
        self.cache: dict[str, Any] = {}

    @abstractmethod
    def sign_raw(self, data: bytes, digest_alg: str) -> bytes:
        """Sign ``data`` (hashing it with ``digest_alg``): PKCS#1 v1.5 bytes for RSA,
        DER ``SEQUENCE { r, s }`` for SM2 (SM3 with the Z value of the default user ID)."""

    @property
    @abstractmethod
    def signing_cert(self) -> x509.Certificate: ...

    @property
    @abstractmethod
    def cert_chain(self) -> Sequence[x509.Certificate]:
        """Certificates to embed besides the signing certificate (intermediates, root)."""

    @property
    def algorithm(self) -> str:
        return cert_algorithm(self.signing_cert)

    @property
    def digest_algorithm(self) -> str:
        return "sm3" if self.algorithm == "sm2" else "sha256"


class SoftwareSigner(Signer):
    """A signer with the private key in process memory (parsed once)."""

    def __init__(self, key: Any, cert: x509.Certificate,
                 chain: Optional[Iterable[x509.Certificate]] = None,
                 digest_alg: Optional[str] = None) -> None:
        super().__init__()
        self._key = key
        self._cert = cert
        self._alg = cert_algorithm(cert)
        self._chain = [c for c in (chain or []) if c.dump() != cert.dump()]
        if digest_alg is None:
            digest_alg = "sm3" if self._alg == "sm2" else "sha256"
        if self._alg == "sm2" and digest_alg != "sm3":
            raise SignerError("SM2 signs with SM3 only")
        if self._alg == "rsa" and digest_alg not in RSA_DIGESTS:
            raise SignerError(f"unsupported RSA digest {digest_alg}")
        self._digest_alg = digest_alg
        self._check_key_matches()
        if self._alg == "rsa":
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding
            self._padding = padding.PKCS1v15()
            self._hashes = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(),
                            "sha512": hashes.SHA512()}
        else:
            from sign.crypto.sm2 import DEFAULT_UID
            self._uid = DEFAULT_UID
            # Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA) is fixed per key: cache it
            self._z = self._key.public_key().z_value(DEFAULT_UID)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_pem(cls, key_pem: bytes | str, cert_pem: bytes | str,
                 chain_pem: bytes | str | None = None,
                 password: bytes | str | None = None) -> "SoftwareSigner":
        """Build from PEM data (or file paths are *not* accepted: read them first)."""
        certs = load_certs(cert_pem)
        if not certs:
            raise SignerError("no certificate in cert PEM")
        cert = certs[0]
        chain = certs[1:] + load_certs(chain_pem)
        alg = cert_algorithm(cert)
        if isinstance(key_pem, str):
            key_pem = key_pem.encode()
        if isinstance(password, str):
            password = password.encode()
        key = _load_key(alg, key_pem, password)
        return cls(key, cert, chain)

    @classmethod
    def from_files(cls, key_path: str, cert_path: str, chain_path: str | None = None,
                   password: bytes | str | None = None) -> "SoftwareSigner":
        def read(p: str | None) -> bytes | None:
            if p is None:
                return None
            try:
                with open(p, "rb") as fh:
                    return fh.read()
            except OSError as exc:
                raise SignerError(f"cannot read {p}: {exc.strerror}") from exc
        return cls.from_pem(read(key_path), read(cert_path), read(chain_path), password)

    # -- Signer ---------------------------------------------------------------------------
    @property
    def signing_cert(self) -> x509.Certificate:
        return self._cert

    @property
    def cert_chain(self) -> Sequence[x509.Certificate]:
        return self._chain

    @property
    def algorithm(self) -> str:
        return self._alg

    @property
    def digest_algorithm(self) -> str:
        return self._digest_alg

    def sign_raw(self, data: bytes, digest_alg: str) -> bytes:
        if self._alg == "rsa":
            try:
                h = self._hashes[digest_alg]
            except KeyError:
                raise SignerError(f"unsupported RSA digest {digest_alg}") from None
            return self._key.sign(data, self._padding, h)
        if digest_alg != "sm3":
            raise SignerError("SM2 signs with SM3 only")
        h = hashlib.new("sm3", self._z)
        h.update(data)
        return self._key.sign_digest(h.digest())

    def _check_key_matches(self) -> None:
        if self._alg == "rsa":
            from cryptography.hazmat.primitives import serialization
            pub = self._key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        else:
            pub = self._key.public_key().to_bytes()
        if pub != cert_public_point(self._cert):
            raise SignerError("private key does not match the certificate")


def _load_key(alg: str, key_pem: bytes, password: bytes | None) -> Any:
    if alg == "rsa":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        try:
            key = serialization.load_pem_private_key(key_pem, password=password)
        except Exception as exc:  # ValueError, TypeError, UnsupportedAlgorithm
            raise SignerError(f"cannot load RSA private key: {exc}") from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SignerError("certificate is RSA but the key is not")
        return key
    try:
        from sign.crypto.sm2 import SM2PrivateKey
    except ImportError as exc:  # pragma: no cover - sign.crypto ships with the repo
        raise SignerError(f"SM2 support unavailable: {exc}") from exc
    try:
        if password is not None:
            return SM2PrivateKey.from_pem(key_pem, password=password)
        return SM2PrivateKey.from_pem(key_pem)
    except Exception as exc:
        raise SignerError(f"cannot load SM2 private key: {exc}") from exc


def cert_sha256(cert: x509.Certificate) -> bytes:
    return hashlib.sha256(cert.dump()).digest()
