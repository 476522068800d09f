"""Verification report: frozen dataclasses, JSON-friendly through ``to_dict``."""
from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
from typing import Any


class Severity(str, enum.Enum):
    ALLOWED = "allowed"
    DISALLOWED = "disallowed"


@dataclasses.dataclass(frozen=True)
class Problem:
    """A reason why a signature is not valid; ``code`` is stable (e.g. DIGEST_MISMATCH)."""

    code: str
    message: str


@dataclasses.dataclass(frozen=True)
class Change:
    """One change made in an incremental update after a signature."""

    kind: str  # stable, e.g. PAGE_CONTENT, ANNOTATION_ADDED, XREF_REDIRECT, SIGNATURE_ADDED
    severity: Severity
    description: str

    @property
    def allowed(self) -> bool:
        return self.severity is Severity.ALLOWED


@dataclasses.dataclass(frozen=True)
class SignerInfo:
    subject: str
    issuer: str
    serial: str  # hex
    not_before: _dt.datetime | None = None
    not_after: _dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class TimestampInfo:
    time: _dt.datetime | None
    tsa: str | None
    imprint_ok: bool
    signature_ok: bool
    trusted: bool | None  # None: no trust store given
    problems: tuple[Problem, ...] = ()

    @property
    def valid(self) -> bool:
        return self.imprint_ok and self.signature_ok and self.trusted is not False


@dataclasses.dataclass(frozen=True)
class TrustResult:
    checked: bool  # False when no trust store was given
    trusted: bool
    checked_at: _dt.datetime | None
    path: tuple[str, ...] = ()  # subjects, signer first
    errors: tuple[Problem, ...] = ()
    revocation: str = "not_checked"  # good | revoked | unknown (no applicable CRL) | not_checked
    engine: str = "basic"  # basic | sign.certs.validate


@dataclasses.dataclass(frozen=True)
class SignatureReport:
    field_name: str
    kind: str  # signature | doc_timestamp
    sub_filter: str | None
    signer: SignerInfo | None
    algorithm: str | None  # rsa | sm2 | ecdsa | rsa-pss
    digest_algorithm: str | None  # sha256 | sm3 | ...
    signing_time: _dt.datetime | None
    signing_time_source: str | None  # signed_attribute | /M
    timestamp: TimestampInfo | None
    byte_range: tuple[int, ...] | None
    covers_whole_file: bool
    signed_revision_end: int | None
    revisions_after: int
    intact: bool  # byte range well-formed and its digest matches message-digest
    crypto_valid: bool  # signature value verifies with the signer's public key
    trust: TrustResult
    docmdp_level: int | None  # set on certification signatures
    changes_after: tuple[Change, ...]
    problems: tuple[Problem, ...]

    @property
    def disallowed_changes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes_after if not c.allowed)

    @property
    def modified_after_signing(self) -> bool:
        return bool(self.disallowed_changes)

    @property
    def valid(self) -> bool:
        trusted = self.trust.trusted or not self.trust.checked
        return (self.intact and self.crypto_valid and trusted and not self.problems
                and not self.disallowed_changes)


@dataclasses.dataclass(frozen=True)
class VerificationReport:
    file_size: int
    revisions: int
    signatures: tuple[SignatureReport, ...]
    problems: tuple[Problem, ...] = ()  # document-level (e.g. NO_SIGNATURES)

    @property
    def valid(self) -> bool:
        return bool(self.signatures) and not self.problems and all(s.valid for s in self.signatures)

    def to_dict(self) -> dict[str, Any]:
        data = _jsonable(self)
        data["valid"] = self.valid
        for sig, raw in zip(self.signatures, data["signatures"]):
            raw["valid"] = sig.valid
            raw["modified_after_signing"] = sig.modified_after_signing
        return data


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value
