"""CRL checks: find a certificate's revocation entry in a set of CRLs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from asn1crypto import crl, x509

from sign.certs import oids  # noqa: F401
from sign.certs.errors import CertificateError
from sign.certs.keys import SM2_CERT_UIDS, verify_signature


@dataclass(frozen=True)
class RevocationInfo:
    serial: int
    date: datetime
    reason: str


def crl_signature_valid(item: crl.CertificateList, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` signed ``item`` (name match and signature)."""
    if item.issuer != issuer.subject:
        return False
    try:
        return verify_signature(issuer.public_key, item["signature_algorithm"], item["signature"].native,
                                item["tbs_cert_list"].dump(), sm2_uids=SM2_CERT_UIDS)
    except CertificateError:  # unsupported algorithm: the CRL cannot be used
        return False


def crl_applies(item: crl.CertificateList, cert: x509.Certificate, issuer: x509.Certificate | None) -> bool:
    """A CRL applies when its issuer is the certificate's issuer (and it verifies, if ``issuer`` given)."""
    if item.issuer != cert.issuer:
        return False
    return issuer is None or crl_signature_valid(item, issuer)


def crl_current(item: crl.CertificateList, at: datetime) -> bool:
    tbs = item["tbs_cert_list"]
    if tbs["this_update"].native > at:
        return False
    nxt = tbs["next_update"].native
    return nxt is None or at <= nxt


def find_revocation(cert: x509.Certificate, crls: Iterable[crl.CertificateList], *,
                    issuer: x509.Certificate | None = None, at: datetime | None = None) -> RevocationInfo | None:
    """The revocation entry for ``cert`` effective at ``at`` (default now), or ``None``.

    With ``issuer`` given, CRLs whose signature does not verify with it are ignored.
    ``remove_from_crl`` entries are not revocations.
    """
    at = at or datetime.now(timezone.utc)
    for item in crls:
        if not crl_applies(item, cert, issuer):
            continue
        for entry in item["tbs_cert_list"]["revoked_certificates"]:
            if entry["user_certificate"].native != cert.serial_number:
                continue
            date = entry["revocation_date"].native
            reason = entry.crl_reason_value.native if entry.crl_reason_value is not None else "unspecified"
            if reason != "remove_from_crl" and date <= at:
                return RevocationInfo(cert.serial_number, date, reason)
    return None


def is_revoked(cert: x509.Certificate, crls: Iterable[crl.CertificateList], *,
               issuer: x509.Certificate | None = None, at: datetime | None = None) -> bool:
    """Whether any applicable CRL lists ``cert`` as revoked at ``at``."""
    return find_revocation(cert, crls, issuer=issuer, at=at) is not None
