"""Certification path building and validation (RSA, ECDSA, SM2).

>>> result = validate_chain(leaf, intermediates=[issuing], trust=TrustStore([root]), crls=[crl])
>>> result.ok, [e.code for e in result.errors]
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Literal

from asn1crypto import crl, x509

from sign.certs import oids  # noqa: F401
from sign.certs.errors import CertificateError, UnsupportedAlgorithm
from sign.certs.keys import SM2_CERT_UIDS, verify_signature
from sign.certs.pem import load_certificates
from sign.certs.revocation import RevocationInfo, crl_applies, crl_current, find_revocation

MAX_PATH = 10
Purpose = Literal["signing", "timestamping", "any"]

UNTRUSTED_ROOT = "UNTRUSTED_ROOT"
EXPIRED = "EXPIRED"
NOT_YET_VALID = "NOT_YET_VALID"
REVOKED = "REVOKED"
BAD_SIGNATURE = "BAD_SIGNATURE"
NOT_CA = "NOT_CA"
PATH_LENGTH = "PATH_LENGTH"
KEY_USAGE = "KEY_USAGE"
UNSUPPORTED_ALGORITHM = "UNSUPPORTED_ALGORITHM"
REVOCATION_UNKNOWN = "REVOCATION_UNKNOWN"
UNKNOWN_CRITICAL_EXTENSION = "UNKNOWN_CRITICAL_EXTENSION"

ERROR_CODES = frozenset({
    UNTRUSTED_ROOT, EXPIRED, NOT_YET_VALID, REVOKED, BAD_SIGNATURE, NOT_CA, PATH_LENGTH, KEY_USAGE,
    UNSUPPORTED_ALGORITHM, REVOCATION_UNKNOWN, UNKNOWN_CRITICAL_EXTENSION,
})

_KNOWN_CRITICAL = frozenset({
    "basic_constraints", "key_usage", "extended_key_usage", "certificate_policies", "policy_constraints",
    "inhibit_any_policy", "subject_alt_name", "key_identifier", "authority_key_identifier",
})


@dataclass(frozen=True)
class PathError:
    """One validation failure: a stable ``code`` plus a human message and the subject concerned."""

    code: str
    message: str
    subject: str = ""


@dataclass(frozen=True)
class ValidationResult:
    ok: bool
    path: list[x509.Certificate] = field(hash=False)  # end entity first, trust anchor last
    errors: list[PathError] = field(hash=False)
    revocation: RevocationInfo | None = None

    @property
    def codes(self) -> set[str]:
        return {e.code for e in self.errors}


class TrustStore:
    """A set of trust anchors (root certificates)."""

    def __init__(self, roots: Iterable[x509.Certificate] = ()) -> None:
        self._roots: dict[bytes, x509.Certificate] = {}
        for cert in roots:
            self.add(cert)

    @classmethod
    def from_pem_files(cls, *paths: str | pathlib.Path) -> "TrustStore":
        """Load every certificate of every file (PEM bundles or DER)."""
        store = cls()
        for path in paths:
            try:
                certs = load_certificates(pathlib.Path(path).read_bytes())
            except OSError as exc:
                raise CertificateError(f"cannot read trust file {path}: {exc}") from exc
            for cert in certs:
                store.add(cert)
        return store

    def add(self, cert: x509.Certificate) -> None:
        self._roots[_anchor_key(cert)] = cert

    @property
    def roots(self) -> list[x509.Certificate]:
        return list(self._roots.values())

    def anchor_for(self, cert: x509.Certificate) -> x509.Certificate | None:
        """The trust anchor with the same subject and key as ``cert``, if any."""
        return self._roots.get(_anchor_key(cert))

    def __contains__(self, cert: x509.Certificate) -> bool:
        return self.anchor_for(cert) is not None

    def __len__(self) -> int:
        return len(self._roots)


def _anchor_key(cert: x509.Certificate) -> bytes:
    return cert.subject.dump() + cert.public_key.dump()


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.human_friendly


def _utc(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(timezone.utc)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key verifies ``cert``'s signature over its TBS bytes.

    SM2: the GM/T default user id, or the empty id of OpenSSL-made certificates.
    """
    return verify_signature(issuer.public_key, cert["signature_algorithm"], cert["signature_value"].native,
                            cert["tbs_certificate"].dump(), sm2_uids=SM2_CERT_UIDS)


def _issuer_candidates(cert: x509.Certificate, pool: list[x509.Certificate]) -> list[x509.Certificate]:
    aki = cert.authority_key_identifier
    out = [c for c in pool if c.subject == cert.issuer]
    if aki is not None:
        out.sort(key=lambda c: c.key_identifier != aki)  # matching key ids first
    return out


def build_path(cert: x509.Certificate, intermediates: Iterable[x509.Certificate],
               trust: TrustStore) -> tuple[list[x509.Certificate], list[PathError]]:
    """Walk issuers from ``cert`` up to a trust anchor; returns the path and building errors."""
    pool = [*intermediates, *trust.roots]
    path = [cert]
    errors: list[PathError] = []
    current = cert
    while len(path) <= MAX_PATH:
        anchor = trust.anchor_for(current)
        if anchor is not None:
            path[-1] = anchor
            return path, errors
        if current.self_issued:
            break
        candidates = [c for c in _issuer_candidates(current, pool) if all(c is not p for p in path)]
        if not candidates:
            break
        issuer = _pick_issuer(current, candidates, errors)
        path.append(issuer)
        current = issuer
    errors.append(PathError(UNTRUSTED_ROOT, "no path to a trusted root", _subject(current)))
    return path, errors


def _pick_issuer(cert: x509.Certificate, candidates: list[x509.Certificate],
                 errors: list[PathError]) -> x509.Certificate:
    for candidate in candidates:
        try:
            if signed_by(cert, candidate):
                return candidate
        except UnsupportedAlgorithm as exc:
            errors.append(PathError(UNSUPPORTED_ALGORITHM, str(exc), _subject(cert)))
            return candidate
    errors.append(PathError(BAD_SIGNATURE, "signature does not verify with the issuer's key", _subject(cert)))
    return candidates[0]


def validate_chain(cert: x509.Certificate, intermediates: Iterable[x509.Certificate] = (), *,
                   trust: TrustStore | Iterable[x509.Certificate], at: datetime | None = None,
                   crls: Iterable[crl.CertificateList] = (), purpose: Purpose = "signing",
                   require_revocation: bool = False) -> ValidationResult:
    """Build and validate the path of ``cert`` at moment ``at`` (default now).

    Checks: signatures, validity periods, CA flags and path length, key usage for ``purpose``,
    revocation against ``crls`` (CRLs that do not verify are ignored; with ``require_revocation``
    a certificate without a current CRL from its issuer yields ``REVOCATION_UNKNOWN``).
    """
    store = trust if isinstance(trust, TrustStore) else TrustStore(trust)
    moment = _utc(at)
    crls = list(crls)
    path, errors = build_path(cert, intermediates, store)
    for cert_ in path:
        errors += _check_validity(cert_, moment) + _check_critical(cert_)
    errors += _check_ca_flags(path) + _check_purpose(path[0], purpose)
    revocation, rev_errors = _check_revocation(path, crls, moment, require_revocation, store)
    errors += rev_errors
    return ValidationResult(not errors, path, errors, revocation)


def _check_validity(cert: x509.Certificate, at: datetime) -> list[PathError]:
    validity = cert["tbs_certificate"]["validity"]
    if at < validity["not_before"].native:
        return [PathError(NOT_YET_VALID, f"not valid before {validity['not_before'].native}", _subject(cert))]
    if at > validity["not_after"].native:
        return [PathError(EXPIRED, f"expired at {validity['not_after'].native}", _subject(cert))]
    return []


def _check_critical(cert: x509.Certificate) -> list[PathError]:
    unknown = set(cert.critical_extensions) - _KNOWN_CRITICAL
    return [PathError(UNKNOWN_CRITICAL_EXTENSION, f"unknown critical extension {name}", _subject(cert))
            for name in sorted(map(str, unknown))]


def _check_ca_flags(path: list[x509.Certificate]) -> list[PathError]:
    errors = []
    for depth, issuer in enumerate(path[1:], start=1):
        if not issuer.ca:
            errors.append(PathError(NOT_CA, "issuer is not a CA (basicConstraints)", _subject(issuer)))
        usage = issuer.key_usage_value
        if usage is not None and "key_cert_sign" not in usage.native:
            errors.append(PathError(NOT_CA, "issuer key usage lacks keyCertSign", _subject(issuer)))
        limit = issuer.max_path_length
        if limit is not None and depth - 1 > limit:
            errors.append(PathError(PATH_LENGTH, f"path length {depth - 1} exceeds {limit}", _subject(issuer)))
    return errors


def _check_purpose(leaf: x509.Certificate, purpose: Purpose) -> list[PathError]:
    usage = leaf.key_usage_value.native if leaf.key_usage_value is not None else None
    if purpose == "signing":
        if usage is not None and not usage & {"digital_signature", "non_repudiation"}:
            return [PathError(KEY_USAGE, "key usage allows no signatures", _subject(leaf))]
    elif purpose == "timestamping":
        eku = leaf.extended_key_usage_value
        if eku is None or "time_stamping" not in eku.native:
            return [PathError(KEY_USAGE, "extended key usage lacks timeStamping", _subject(leaf))]
    return []


def _check_revocation(path: list[x509.Certificate], crls: list[crl.CertificateList], at: datetime,
                      required: bool, store: TrustStore) -> tuple[RevocationInfo | None, list[PathError]]:
    errors: list[PathError] = []
    first: RevocationInfo | None = None
    for cert, issuer in zip(path, path[1:]):
        if cert in store:
            break
        info = find_revocation(cert, crls, issuer=issuer, at=at)
        if info is not None:
            first = first or info
            errors.append(PathError(REVOKED, f"revoked at {info.date} ({info.reason})", _subject(cert)))
        elif required and not any(crl_applies(c, cert, issuer) and crl_current(c, at) for c in crls):
            errors.append(PathError(REVOCATION_UNKNOWN, "no current CRL from the issuer", _subject(cert)))
    return first, errors
