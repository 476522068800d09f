"""Import external material: CA chains, single certificates, PKCS#12 files, PEM key + cert pairs."""
from __future__ import annotations

from typing import Any, Iterable

from asn1crypto import cms, pem, x509
from cryptography.hazmat.primitives.serialization import pkcs12 as pyca_pkcs12

from sign.certs import oids  # noqa: F401
from sign.certs.errors import CertificateError
from sign.certs.identity import Identity
from sign.certs.keys import public_key_info
from sign.certs.pem import load_certificates, load_private_key
from sign.certs.pkcs12 import read_pkcs12


def import_certificates(data: bytes) -> list[x509.Certificate]:
    """Certificates from PEM (any number of blocks, incl. ``PKCS7``), DER, or a certs-only PKCS#7."""
    if not isinstance(data, (bytes, bytearray)) or not data.strip():
        raise CertificateError("empty certificate data")
    data = bytes(data)
    if pem.detect(data):
        blocks = pem.unarmor(data, multiple=True)
        p7 = [der for kind, _h, der in blocks if kind == "PKCS7"]
        if p7:
            return [c for der in p7 for c in _pkcs7_certs(der)]
        return load_certificates(data)
    try:
        return load_certificates(data)
    except CertificateError:
        try:
            return _pkcs7_certs(data)
        except CertificateError:
            raise CertificateError("not a certificate, certificate bundle or PKCS#7 file") from None


def _pkcs7_certs(der: bytes) -> list[x509.Certificate]:
    try:
        info = cms.ContentInfo.load(der, strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError("not SignedData")
        certs = [c.chosen for c in info["content"]["certificates"] if c.name == "certificate"]
        for cert in certs:
            cert.native
    except Exception as exc:
        raise CertificateError(f"not a PKCS#7 certificate bundle: {exc}") from exc
    if not certs:
        raise CertificateError("PKCS#7 bundle contains no certificate")
    return certs


def import_certificate(data: bytes) -> x509.Certificate:
    """Exactly one certificate (PEM or DER)."""
    certs = import_certificates(data)
    if len(certs) != 1:
        raise CertificateError(f"expected one certificate, found {len(certs)}")
    return certs[0]


def split_roots(certs: Iterable[x509.Certificate]) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """(self-signed roots, other certificates) of an external CA chain."""
    roots, others = [], []
    for cert in certs:
        (roots if cert.self_signed in ("maybe", "yes") else others).append(cert)
    return roots, others


def order_chain(leaf: x509.Certificate, certs: Iterable[x509.Certificate]) -> list[x509.Certificate]:
    """The issuers of ``leaf`` among ``certs``, nearest first (by name and key identifiers)."""
    pool = [c for c in certs if c.dump() != leaf.dump()]
    chain: list[x509.Certificate] = []
    current = leaf
    while current.self_signed not in ("maybe", "yes"):
        issuer = next((c for c in pool if c.subject == current.issuer and all(c is not x for x in chain)
                       and (current.authority_key_identifier is None
                            or c.key_identifier in (None, current.authority_key_identifier))), None)
        if issuer is None:
            break
        chain.append(issuer)
        current = issuer
    return chain


def import_ca_chain(data: bytes) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """An external CA chain file: ``(roots, intermediates)`` for a TrustStore and a path pool."""
    roots, others = split_roots(import_certificates(data))
    bad = [c.subject.human_friendly for c in [*roots, *others] if not c.ca]
    if bad:
        raise CertificateError(f"not CA certificates: {'; '.join(bad)}")
    return roots, others


def import_pkcs12(data: bytes, password: bytes | str | None = None) -> Identity:
    """Key + certificate (+ chain) from a PKCS#12 file; RSA/ECDSA via ``cryptography``, SM2 natively."""
    if isinstance(password, str):
        password = password.encode()
    if not isinstance(data, (bytes, bytearray)) or not data:
        raise CertificateError("empty PKCS#12 data")
    try:
        key, cert, extra = pyca_pkcs12.load_key_and_certificates(bytes(data), password)
        leaf = x509.Certificate.load(cert.public_bytes(_der())) if cert is not None else None
        others = [x509.Certificate.load(c.public_bytes(_der())) for c in extra or []]
    except Exception:  # SM2 keys, SM3 MACs... or garbage / wrong password: try our reader
        contents = read_pkcs12(bytes(data), password)
        key, leaf, others = contents.key, contents.cert, contents.others
    if key is None or leaf is None:
        raise CertificateError("PKCS#12 file lacks a private key or its certificate")
    return _identity(key, leaf, others)


def _der() -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def import_pem_identity(key_pem: bytes, cert_pem: bytes, chain_pem: bytes = b"",
                        password: bytes | None = None) -> Identity:
    """An identity from a PEM private key (RSA, ECDSA or SM2), its certificate and optional chain."""
    key = load_private_key(key_pem, password)
    certs = import_certificates(cert_pem)
    extra = import_certificates(chain_pem) if chain_pem.strip() else []
    spki = public_key_info(key).dump()
    leaf = next((c for c in certs if c.public_key.dump() == spki), None)
    if leaf is None:
        raise CertificateError("the private key does not match the certificate")
    return _identity(key, leaf, [*certs, *extra])


def _identity(key: Any, leaf: x509.Certificate, others: list[x509.Certificate]) -> Identity:
    if public_key_info(key).dump() != leaf.public_key.dump():
        raise CertificateError("the private key does not match the certificate")
    return Identity.create(key, leaf, order_chain(leaf, others))
