"""PEM/DER helpers for certificates (one or many per file), CRLs and private keys."""
from __future__ import annotations

import pathlib
from typing import Any, Iterable

from asn1crypto import crl, pem, x509
from cryptography.exceptions import UnsupportedAlgorithm as _CryptoUnsupported
from cryptography.hazmat.primitives import serialization

from sign.certs import oids  # noqa: F401  (registers SM2 OIDs)
from sign.certs.errors import CertificateError
from sign.certs.keys import key_family

PathLike = str | pathlib.Path


def _blocks(data: bytes, kinds: tuple[str, ...]) -> list[bytes]:
    if not pem.detect(data):
        return [data]
    out = [der for kind, _h, der in pem.unarmor(data, multiple=True) if kind in kinds]
    return out


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """All certificates in ``data`` (PEM with any number of blocks, or one DER certificate)."""
    if not isinstance(data, (bytes, bytearray)):
        raise CertificateError("certificate data must be bytes")
    try:
        certs = [_parse_cert(der) for der in _blocks(bytes(data), ("CERTIFICATE", "X509 CERTIFICATE"))]
    except CertificateError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError/TypeError/OSError on garbage
        raise CertificateError(f"not a certificate: {exc}") from exc
    if not certs:
        raise CertificateError("no certificate found")
    return certs


def _parse_cert(der: bytes) -> x509.Certificate:
    try:
        cert = x509.Certificate.load(der, strict=True)
        cert.native  # force a full parse so garbage fails here, not later
    except Exception as exc:
        raise CertificateError(f"not a certificate: {exc}") from exc
    return cert


def load_certificate(data: bytes) -> x509.Certificate:
    """Exactly one certificate (PEM or DER)."""
    certs = load_certificates(data)
    if len(certs) != 1:
        raise CertificateError(f"expected one certificate, found {len(certs)}")
    return certs[0]


def read_certificates(path: PathLike) -> list[x509.Certificate]:
    return load_certificates(pathlib.Path(path).read_bytes())


def dump_certificates(certs: Iterable[x509.Certificate]) -> bytes:
    """PEM of one or many certificates, concatenated."""
    return b"".join(pem.armor("CERTIFICATE", c.dump()) for c in certs)


def dump_certificate(cert: x509.Certificate) -> bytes:
    return pem.armor("CERTIFICATE", cert.dump())


def write_certificates(path: PathLike, certs: Iterable[x509.Certificate]) -> None:
    pathlib.Path(path).write_bytes(dump_certificates(certs))


def load_crls(data: bytes) -> list[crl.CertificateList]:
    """All CRLs in ``data`` (PEM ``X509 CRL`` blocks or one DER CRL)."""
    try:
        out = []
        for der in _blocks(bytes(data), ("X509 CRL",)):
            item = crl.CertificateList.load(der, strict=True)
            item.native
            out.append(item)
    except Exception as exc:
        raise CertificateError(f"not a CRL: {exc}") from exc
    if not out:
        raise CertificateError("no CRL found")
    return out


def dump_crl(item: crl.CertificateList) -> bytes:
    return pem.armor("X509 CRL", item.dump())


def dump_private_key(key: Any, password: bytes | None = None) -> bytes:
    """PKCS#8 PEM (encrypted when ``password`` is given) of an RSA, ECDSA or SM2 key."""
    if key_family(key) == "sm2":
        return key.to_pem(password=password)
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def load_private_key(data: bytes, password: bytes | None = None) -> Any:
    """An RSA/ECDSA (``cryptography``) or SM2 (``SM2PrivateKey``) private key from PEM."""
    try:
        return serialization.load_pem_private_key(data, password=password)
    except TypeError as exc:  # password missing / given for a clear key
        raise CertificateError(f"private key password problem: {exc}") from exc
    except (ValueError, _CryptoUnsupported) as first:
        try:
            from sign.crypto.sm2 import SM2PrivateKey

            return SM2PrivateKey.from_pem(data, password=password)
        except Exception as exc:
            raise CertificateError(f"cannot load private key: {first}") from exc


def read_private_key(path: PathLike, password: bytes | None = None) -> Any:
    return load_private_key(pathlib.Path(path).read_bytes(), password)
