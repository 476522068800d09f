"""The chain of evidence: which time-stamps can still be trusted, and since when.

Time-stamps are ordered by ``position`` (PDF: end of the signed byte range; OFD: archive index).
A time-stamp at a later position covers every earlier one. Processing from the newest:

* the newest usable time-stamp is validated at the verification time ``at``;
* an older one is validated at the earliest ``genTime`` of a later, already trusted one (its
  existence is proven then) and, failing that, at ``at``.

A time-stamp is *trusted* when its token verifies, its imprint matches what it covers and its
TSA path (``purpose="timestamping"``) validates at that moment against the trust anchors, with
the embedded certificates and CRLs only (offline). Time-stamps made after ``at`` are not
evidence "as of" ``at`` (``TIMESTAMP_AFTER_AT``).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Iterable

from asn1crypto import cms, x509

from sign.certs.revocation import crl_applies
from sign.certs.validate import TrustStore, ValidationResult, validate_chain
from sign.ltv.material import Material
from sign.timestamps import TimestampError, signer_certificate, tst_info, validate_timestamp
from sign.verification.crypto import key_algorithm
from sign.verification.report import Problem

VERIFICATION_TIME = "verification time"


@dataclass(frozen=True)
class TimestampItem:
    """A time-stamp found in the document (input of :func:`prove`)."""

    name: str
    kind: str                      # signature_timestamp | doc_timestamp | archive
    position: int
    token: cms.ContentInfo | None
    intact: bool                   # imprint matches what it covers (and the covered bytes are intact)
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class TimestampEvidence:
    name: str
    kind: str
    position: int
    gen_time: _dt.datetime | None
    tsa: str | None
    tsa_not_after: _dt.datetime | None
    algorithm: str | None          # TSA key: rsa | sm2 | ecdsa
    hash_alg: str | None           # message imprint
    intact: bool
    trusted: bool
    proven_at: _dt.datetime | None  # when its TSA path was validated
    proven_by: str | None          # VERIFICATION_TIME or the name of the later time-stamp
    problems: tuple[Problem, ...] = field(default=())

    @property
    def gm(self) -> bool:
        """SM2-signed token with an SM3 imprint."""
        return self.algorithm == "sm2" and self.hash_alg == "sm3"


def _describe(token: cms.ContentInfo | None) -> tuple:
    if token is None:
        return None, None, None, None, None
    try:
        info = tst_info(token)
        cert = signer_certificate(token)
        return (info["gen_time"].native, cert.subject.human_friendly,
                cert["tbs_certificate"]["validity"]["not_after"].native,
                key_algorithm(cert.public_key), info["message_imprint"]["hash_algorithm"]["algorithm"].native)
    except Exception:  # noqa: BLE001
        return None, None, None, None, None


def prove(items: Iterable[TimestampItem], *, at: _dt.datetime, trust: TrustStore,
          material: Material) -> dict[str, TimestampEvidence]:
    """Evidence for each time-stamp (see the module docstring)."""
    out: dict[str, TimestampEvidence] = {}
    ordered = sorted(items, key=lambda i: i.position, reverse=True)
    for item in ordered:
        gen_time, tsa, not_after, alg, hash_alg = _describe(item.token)
        problems = list(item.problems)
        proven_at = proven_by = None
        if item.token is None or gen_time is None:
            problems.append(Problem("TIMESTAMP_MALFORMED", f"{item.name}: unreadable time-stamp token"))
        elif gen_time > at:
            problems.append(Problem("TIMESTAMP_AFTER_AT", f"{item.name} was made after the verification "
                                    f"date ({gen_time.isoformat()}): not used as evidence"))
        elif not item.intact:
            problems.append(Problem("TIMESTAMP_NOT_INTACT",
                                    f"{item.name}: the time-stamp does not match what it covers"))
        else:
            later = sorted(((e.gen_time, e.name) for e in out.values()
                            if e.trusted and e.position > item.position and e.gen_time is not None))
            candidates = [*later, (at, VERIFICATION_TIME)]
            failures: list[str] = []
            for moment, by in candidates:
                try:
                    result = validate_timestamp(item.token, trust=trust, intermediates=material.certs,
                                                crls=material.crls, at=moment).chain
                except TimestampError as exc:
                    failures = [f"TIMESTAMP_INVALID {exc}"]
                    break
                if result.ok:
                    proven_at, proven_by = moment, by
                    break
                failures.append(f"at {moment.isoformat()} ({by}): "
                                + "; ".join(f"{e.code} {e.message}" for e in result.errors))
            if proven_at is None:
                problems.append(Problem("TIMESTAMP_UNTRUSTED", f"{item.name} (genTime "
                                        f"{gen_time.isoformat()}, TSA {tsa}) can no longer be trusted: "
                                        + " | ".join(failures)))
        out[item.name] = TimestampEvidence(item.name, item.kind, item.position, gen_time, tsa, not_after,
                                           alg, hash_alg, item.intact, proven_at is not None, proven_at,
                                           proven_by, tuple(problems))
    return out


def validate_signer(cert: x509.Certificate, *, at: _dt.datetime, trust: TrustStore,
                    material: Material, extra: Iterable[x509.Certificate] = ()) -> ValidationResult:
    pool = [c for c in (*extra, *material.certs) if c.dump() != cert.dump()]
    return validate_chain(cert, pool, trust=trust, at=at, crls=material.crls, purpose="signing")


def missing_material(path: list[x509.Certificate], material: Material, trust: TrustStore) -> list[str]:
    """What the document lacks to validate ``path`` offline (certificates, a CRL per issuer)."""
    have = {c.dump() for c in material.certs}
    missing = []
    for cert, issuer in zip(path, path[1:]):
        if cert in trust:
            break
        name = cert.subject.human_friendly
        if cert.dump() not in have:
            missing.append(f"certificate of {name}")
        if not any(crl_applies(c, cert, issuer) for c in material.crls):
            missing.append(f"CRL from {issuer.subject.human_friendly} for {name}")
    return missing


def token_path(token: cms.ContentInfo, *, at: _dt.datetime, trust: TrustStore,
               material: Material) -> list[x509.Certificate]:
    """The TSA path of ``token`` (for completeness checks; validity is not judged here)."""
    try:
        cert = signer_certificate(token, material.certs)
    except TimestampError:
        return []
    embedded = [c.chosen for c in token["content"]["certificates"] if c.name == "certificate"] \
        if token["content"]["certificates"] else []
    return validate_chain(cert, [*embedded, *material.certs], trust=trust, at=at,
                          purpose="timestamping").path
