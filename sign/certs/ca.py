"""Internal certificate authority: root -> issuing CA, for SM2 (GM/T 0015) and RSA.

>>> h = create_hierarchy("rsa2048", org="Example Insurance")
>>> company = h.issuing.new_identity(CompanySubject("Example Insurance Co."))
>>> h.issuing.revoke(company.cert, reason="key_compromise")
>>> crl = h.issuing.crl()
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from asn1crypto import crl, keys, x509

from sign.certs import oids  # noqa: F401
from sign.certs.errors import CertificateError, RevocationError
from sign.certs.identity import Identity
from sign.certs.keys import Signer, as_signer, generate_private_key, public_key_info, signature_algorithm
from sign.certs.profiles import (
    DEFAULT_VALIDITY, CASubject, CompanySubject, EventSubject, Kind, Subject, TSASubject,
    extensions_for, key_identifier,
)

REVOCATION_REASONS = (
    "unspecified", "key_compromise", "ca_compromise", "affiliation_changed", "superseded",
    "cessation_of_operation", "certificate_hold", "privilege_withdrawn",
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def asn1_time(moment: datetime) -> x509.Time:
    """UTCTime before 2050, GeneralizedTime after (RFC 5280 4.1.2.5)."""
    moment = moment.astimezone(timezone.utc).replace(microsecond=0)
    return x509.Time({"utc_time" if moment.year < 2050 else "general_time": moment})


def new_serial() -> int:
    return secrets.randbits(127) | (1 << 126)


def sign_tbs_certificate(tbs: x509.TbsCertificate, signer: Signer) -> x509.Certificate:
    sig = signer.sign(tbs.dump())
    return x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": tbs["signature"],
                             "signature_value": sig})


def _kind_of(subject: Subject) -> Kind:
    return {CompanySubject: Kind.COMPANY, EventSubject: Kind.EVENT, TSASubject: Kind.TSA,
            CASubject: Kind.ISSUING_CA}[type(subject)]


@dataclass(frozen=True)
class Revocation:
    serial: int
    date: datetime
    reason: str


@dataclass
class CertificateAuthority:
    """A CA: its signer (key or key-store handle), certificate, issuers above it, revocations."""

    signer: Signer
    cert: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)  # issuers above this CA, up to the root
    crl_url: str | None = None
    key: Any = None  # the in-memory private key when there is one
    revocations: dict[int, Revocation] = field(default_factory=dict)
    crl_number: int = 0

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def create_root(cls, subject: CASubject, key: Any = None, *, alg: str = "rsa2048",
                    validity: timedelta | None = None, not_before: datetime | None = None,
                    crl_url: str | None = None) -> "CertificateAuthority":
        """A self-signed root CA (``key``: private key or :class:`Signer`; generated when ``None``)."""
        key = generate_private_key(alg) if key is None else key
        signer = as_signer(key)
        spki = signer.public_key_info()
        ski = key_identifier(spki["public_key"].contents[1:])
        start = not_before or utcnow() - timedelta(minutes=5)
        tbs = _tbs(signer, subject.name(), subject.name(), spki, new_serial(), start,
                   start + (validity or DEFAULT_VALIDITY[Kind.ROOT]),
                   extensions_for(Kind.ROOT, ski=ski, aki=ski, crl_url=None))
        return cls(signer, sign_tbs_certificate(tbs, signer), [], crl_url,
                   key if key is not signer else None)

    def create_subordinate(self, subject: CASubject, key: Any = None, *, alg: str | None = None,
                           validity: timedelta | None = None, crl_url: str | None = None,
                           path_length: int | None = 0,
                           not_before: datetime | None = None) -> "CertificateAuthority":
        """An issuing CA certified by this CA."""
        key = generate_private_key(alg or self.default_key_alg()) if key is None else key
        signer = as_signer(key)
        cert = self.issue(subject, signer.public_key_info(), kind=Kind.ISSUING_CA, not_before=not_before,
                          validity=validity or DEFAULT_VALIDITY[Kind.ISSUING_CA], path_length=path_length)
        return CertificateAuthority(signer, cert, [self.cert, *self.chain], crl_url or self.crl_url,
                                    key if key is not signer else None)

    # ---- issuance -----------------------------------------------------------------------
    @property
    def family(self) -> str:
        return self.signer.family

    def default_key_alg(self) -> str:
        """Key algorithm for keys generated under this CA: the CA's own (RSA keeps its size)."""
        if self.family == "rsa":
            bits = self.signer.public_key_info().bit_size
            return f"rsa{bits}" if bits in (2048, 3072) else "rsa2048"
        return {"sm2": "sm2", "ecdsa": "ecdsa-p256"}[self.family]

    @property
    def subject(self) -> x509.Name:
        return self.cert.subject

    @property
    def root(self) -> x509.Certificate:
        return self.chain[-1] if self.chain else self.cert

    def issue(self, subject: Subject, public_key: keys.PublicKeyInfo | Any, *, kind: Kind | None = None,
              validity: timedelta | None = None, not_before: datetime | None = None,
              path_length: int | None = None, policy_oid: str | None = None) -> x509.Certificate:
        """Issue a certificate for ``public_key`` (SPKI or key object) with the profile of ``kind``."""
        kind = kind or _kind_of(subject)
        if kind is Kind.ROOT:
            raise CertificateError("use CertificateAuthority.create_root for roots")
        spki = public_key if isinstance(public_key, keys.PublicKeyInfo) else public_key_info(public_key)
        start = not_before or utcnow() - timedelta(minutes=5)
        end = start + (validity or DEFAULT_VALIDITY[kind])
        ski = key_identifier(spki["public_key"].contents[1:])
        exts = extensions_for(kind, ski=ski, aki=self.cert.key_identifier, crl_url=self.crl_url,
                              path_length=path_length, policy_oid=policy_oid)
        tbs = _tbs(self.signer, self.subject, subject.name(), spki, new_serial(), start, end, exts)
        return sign_tbs_certificate(tbs, self.signer)

    def new_identity(self, subject: Subject, *, alg: str | None = None, key: Any = None,
                     validity: timedelta | None = None, not_before: datetime | None = None,
                     policy_oid: str | None = None) -> Identity:
        """Generate a key (``alg`` defaults to the CA's family) and issue an end-entity certificate."""
        key = generate_private_key(alg or self.default_key_alg()) if key is None else key
        cert = self.issue(subject, key, validity=validity, not_before=not_before, policy_oid=policy_oid)
        return Identity.create(key, cert, [self.cert, *self.chain])

    def identity(self) -> Identity:
        """This CA's own identity (requires an in-memory key)."""
        if self.key is None:
            raise CertificateError("CA key is not in memory")
        return Identity.create(self.key, self.cert, self.chain)

    # ---- revocation ---------------------------------------------------------------------
    def revoke(self, cert: x509.Certificate | int, *, reason: str = "unspecified",
               date: datetime | None = None) -> Revocation:
        serial = cert if isinstance(cert, int) else cert.serial_number
        if not isinstance(cert, int) and cert.issuer != self.subject:
            raise RevocationError("certificate was not issued by this CA")
        if reason not in REVOCATION_REASONS:
            raise RevocationError(f"unknown revocation reason {reason!r}")
        entry = Revocation(serial, (date or utcnow()).astimezone(timezone.utc), reason)
        self.revocations[serial] = entry
        return entry

    def crl(self, *, this_update: datetime | None = None,
            next_update: timedelta = timedelta(days=7)) -> crl.CertificateList:
        """A freshly signed v2 CRL with all revocations so far."""
        self.crl_number += 1
        start = this_update or utcnow()
        tbs: dict[str, object] = {
            "version": "v2",
            "signature": signature_algorithm(self.family),
            "issuer": self.subject,
            "this_update": asn1_time(start),
            "next_update": asn1_time(start + next_update),
            "crl_extensions": [
                {"extn_id": "authority_key_identifier", "critical": False,
                 "extn_value": {"key_identifier": self.cert.key_identifier}},
                {"extn_id": "crl_number", "critical": False, "extn_value": self.crl_number},
            ],
        }
        entries = [_revoked_entry(r) for r in sorted(self.revocations.values(), key=lambda r: r.serial)]
        if entries:
            tbs["revoked_certificates"] = entries
        tbs_list = crl.TbsCertList(tbs)
        return crl.CertificateList({"tbs_cert_list": tbs_list, "signature_algorithm": tbs_list["signature"],
                                    "signature": self.signer.sign(tbs_list.dump())})


def _revoked_entry(rev: Revocation) -> dict[str, object]:
    return {
        "user_certificate": rev.serial,
        "revocation_date": asn1_time(rev.date),
        "crl_entry_extensions": [{"extn_id": "crl_reason", "critical": False, "extn_value": rev.reason}],
    }


def _tbs(signer: Signer, issuer: x509.Name, subject: x509.Name, spki: keys.PublicKeyInfo, serial: int,
         start: datetime, end: datetime, exts: list[x509.Extension]) -> x509.TbsCertificate:
    return x509.TbsCertificate({
        "version": "v3",
        "serial_number": serial,
        "signature": signature_algorithm(signer.family),
        "issuer": issuer,
        "validity": {"not_before": asn1_time(start), "not_after": asn1_time(end)},
        "subject": subject,
        "subject_public_key_info": spki,
        "extensions": exts,
    })


@dataclass
class CAHierarchy:
    """A root CA and the issuing CA below it."""

    root: CertificateAuthority
    issuing: CertificateAuthority

    @property
    def family(self) -> str:
        return self.issuing.family

    @property
    def root_cert(self) -> x509.Certificate:
        return self.root.cert


def create_hierarchy(alg: str = "rsa2048", *, org: str = "Internal Signing CA", crl_url: str | None = None,
                     root_name: str | None = None, issuing_name: str | None = None,
                     not_before: datetime | None = None) -> CAHierarchy:
    """Root + issuing CA with fresh keys of ``alg`` (``"sm2"``, ``"rsa2048"``, ``"rsa3072"``...).

    ``not_before`` back-dates both CA certificates (useful to validate at past moments).
    """
    label = alg.upper()
    root = CertificateAuthority.create_root(CASubject(root_name or f"{org} {label} Root CA", org), alg=alg,
                                            not_before=not_before)
    issuing = root.create_subordinate(CASubject(issuing_name or f"{org} {label} Issuing CA", org),
                                      alg=alg, crl_url=crl_url, not_before=not_before)
    return CAHierarchy(root, issuing)
