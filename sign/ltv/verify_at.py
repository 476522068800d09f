"""Offline verification "as of" a date, using only what the document embeds (+ trust anchors).

``verify_at(path_or_bytes, trust=[root...], at=datetime)`` -> :class:`LtvReport` (PDF or OFD).

1. Integrity and cryptography come from the ordinary verifiers (:mod:`sign.verify`,
   :func:`sign.ofd.verify_ofd`) run without trust anchors.
2. Time-stamps (signature time-stamps, document time-stamps, OFD archive time-stamps) are
   proven newest first (:mod:`sign.ltv.evidence`): the newest at ``at``, each older one at the
   genTime of a later trusted one.
3. Each signature's certificate path is validated at its *existence time*: the earliest genTime
   of a trusted time-stamp covering it (its signature time-stamp, or a later document/archive
   time-stamp). Without any, at ``at``. CRLs: the embedded ones; a revocation dated after the
   existence time does not invalidate the signature.
4. The level (:mod:`sign.ltv.levels`) and the reasons are reported per signature.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import io
import os
from dataclasses import dataclass
from typing import Any, Iterable

import pikepdf
from asn1crypto import x509

from sign.certs.validate import TrustStore
from sign.ltv import evidence as ev
from sign.ltv.errors import UNSUPPORTED_INPUT, LtvError
from sign.ltv.levels import LevelFacts, classify
from sign.ltv.material import Material, dss_material, embedded_material, pdf_signatures
from sign.verification.report import Problem


@dataclass(frozen=True)
class LtvSignatureReport:
    name: str
    algorithm: str | None
    signer: str | None
    claimed_time: _dt.datetime | None
    existence_time: _dt.datetime | None    # proven by a trusted time-stamp
    existence_proven_by: str | None
    validated_at: _dt.datetime              # moment the signer's path was validated at
    intact: bool
    path_valid: bool
    level: str | None
    reasons: tuple[str, ...]
    problems: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        return self.level is not None


@dataclass(frozen=True)
class LtvReport:
    format: str                             # pdf | ofd
    at: _dt.datetime
    signatures: tuple[LtvSignatureReport, ...]
    timestamps: tuple[ev.TimestampEvidence, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def valid(self) -> bool:
        return bool(self.signatures) and not self.problems and all(s.valid for s in self.signatures)

    @property
    def levels(self) -> dict[str, str | None]:
        return {s.name: s.level for s in self.signatures}

    def to_dict(self) -> dict[str, Any]:
        out = _jsonable(self)
        out["valid"] = self.valid
        for s, d in zip(self.signatures, out["signatures"]):
            d["valid"] = s.valid
        return out


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


def _load(src: Any) -> bytes:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    with open(os.fspath(src), "rb") as fh:
        return fh.read()


def trust_store(trust: Any) -> TrustStore:
    if isinstance(trust, TrustStore):
        return trust
    if trust is None:
        return TrustStore()
    if isinstance(trust, x509.Certificate):
        return TrustStore([trust])
    return TrustStore(list(trust))


def is_ofd(data: bytes) -> bool:
    return data[:2] == b"PK"


def has_ltv_material(src: Any) -> bool:
    """Whether a PDF carries a DSS or a document time-stamp, or an OFD an archive."""
    try:
        data = _load(src)
    except OSError:
        return False
    if is_ofd(data):
        from sign.ltv.ofd import archive_names
        try:
            return bool(archive_names(data))
        except Exception:  # noqa: BLE001
            return False
    return b"/DSS" in data or b"/DocTimeStamp" in data


def verify_at(src: Any, *, trust: Any, at: _dt.datetime | None = None,
              extra: Material = Material()) -> LtvReport:
    """Verify a PDF or OFD as of ``at`` (default now) from its embedded material."""
    data = _load(src)
    at = at or _dt.datetime.now(_dt.timezone.utc)
    if at.tzinfo is None:
        at = at.replace(tzinfo=_dt.timezone.utc)
    store = trust_store(trust)
    if is_ofd(data):
        from sign.ltv.ofd import verify_ofd_at
        return verify_ofd_at(data, trust=store, at=at, extra=extra)
    if not data.lstrip()[:5] == b"%PDF-" and b"%PDF-" not in data[:1024]:
        raise LtvError(UNSUPPORTED_INPUT, "neither a PDF nor an OFD")
    return _verify_pdf(data, store, at, extra)


# ------------------------------------------------------------------------------------------- PDF
def _verify_pdf(data: bytes, store: TrustStore, at: _dt.datetime, extra: Material) -> LtvReport:
    from sign.verify import verify

    base = {r.field_name: r for r in verify(data).signatures}
    pdf = pikepdf.open(io.BytesIO(data))
    try:
        sigs = pdf_signatures(pdf)
        material = embedded_material(pdf, sigs).merged(extra)
        items = []
        for s in sigs:
            rep = base.get(s.name)
            if s.is_doc_timestamp:
                items.append(ev.TimestampItem(s.name, "doc_timestamp", s.signed_end, s.token,
                                              bool(rep and rep.intact and rep.crypto_valid)))
            elif s.token is not None:
                ok = bool(rep and rep.timestamp and rep.timestamp.imprint_ok and rep.timestamp.signature_ok)
                items.append(ev.TimestampItem(s.name + "#timestamp", "signature_timestamp", s.signed_end,
                                              s.token, ok))
        proofs = ev.prove(items, at=at, trust=store, material=material)
        prefix_material: dict[int, Material] = {}

        def material_before(end: int) -> Material:
            if end not in prefix_material:
                try:
                    with pikepdf.open(io.BytesIO(data[:end])) as old:
                        m = dss_material(old)
                except pikepdf.PdfError:
                    m = Material()
                prefix_material[end] = m
            return prefix_material[end]

        reports = []
        for s in sigs:
            if s.is_doc_timestamp:
                continue
            reports.append(_pdf_signature(s, base.get(s.name), proofs, material, material_before,
                                          store, at))
    finally:
        pdf.close()
    doc_ts_problems = tuple(p for e in proofs.values() for p in e.problems if e.kind == "doc_timestamp"
                            and p.code in ("TIMESTAMP_NOT_INTACT", "TIMESTAMP_MALFORMED"))
    problems = doc_ts_problems
    if not reports:
        problems += (Problem("NO_SIGNATURES", "the document has no signature"),)
    return LtvReport("pdf", at, tuple(reports), tuple(sorted(proofs.values(), key=lambda e: e.position)),
                     problems)


def _pdf_signature(s, rep, proofs: dict[str, ev.TimestampEvidence], material: Material,
                   material_before, store: TrustStore, at: _dt.datetime) -> LtvSignatureReport:
    reasons: list[str] = []
    problems: list[Problem] = list(rep.problems) if rep is not None else [
        Problem("SIGNATURE_UNREADABLE", "the signature could not be analysed")]
    if rep is not None:
        problems += [Problem(c.kind, c.description) for c in rep.disallowed_changes]
    intact = bool(rep and rep.intact and rep.crypto_valid and not problems)
    cert = None
    if s.signed_data is not None and rep is not None:
        from sign.verification.cms import find_signer_cert
        cert = find_signer_cert(s.signer_info["sid"], s.certs) if s.signer_info is not None else None
    gm = bool(rep and rep.algorithm == "sm2")
    sig_ts = proofs.get(s.name + "#timestamp")
    covering = sorted((e for e in proofs.values() if e.kind == "doc_timestamp" and e.position > s.signed_end),
                      key=lambda e: e.position)
    existence = _existence(sig_ts, covering)
    for e in [sig_ts, *covering]:
        if e is not None and not e.trusted:
            reasons.append(next((p.message for p in e.problems), f"{e.name} is not trusted"))
    claimed = rep.signing_time if rep is not None else None
    when, by = existence if existence else (at, None)
    path_valid, path = False, []
    if cert is not None:
        result = ev.validate_signer(cert, at=when, trust=store, material=material)
        path_valid, path = result.ok, list(result.path)
        if result.ok:
            reasons.append(f"signer path valid at {when.isoformat()}"
                           + (f" (existence proven by {by})" if by else " (verification time: no trusted "
                              "time-stamp proves an earlier existence)"))
        else:
            reasons.append(f"signer path NOT valid at {when.isoformat()}: "
                           + "; ".join(f"{e.code} {e.message}" for e in result.errors))
            problems += [Problem(f"CHAIN_{e.code}", e.message) for e in result.errors]
    else:
        problems.append(Problem("CERT_MISSING", "the signer certificate is not in the signature"))
    if not intact:
        reasons.append("signature not intact: " + "; ".join(p.code for p in problems) if problems
                       else "signature not intact")

    def complete(m: Material) -> list[str]:
        miss = ev.missing_material(path, m, store) if path else ["signer path"]
        if s.token is not None:
            miss += ev.missing_material(ev.token_path(s.token, at=when, trust=store, material=material), m, store)
        return miss

    cms_material = Material(s.certs, s.crls)
    missing = complete(material)
    archived = False
    if not missing:
        for e in covering:
            if not e.trusted or (gm and not e.gm):
                if e.trusted and gm:
                    reasons.append(f"{e.name} is not a GM archive time-stamp ({e.algorithm}/{e.hash_alg})")
                continue
            if not complete(material_before(e.position).merged(cms_material)):
                archived = True
                reasons.append(f"validation material covered by archive time-stamp {e.name} "
                               f"({e.gen_time.isoformat() if e.gen_time else '?'})")
                break
    else:
        reasons.append("validation material missing: " + ", ".join(missing))
    facts = LevelFacts(gm, intact and path_valid, existence is not None, not missing, archived)
    level = classify(facts)
    return LtvSignatureReport(s.name, rep.algorithm if rep else None,
                              cert.subject.human_friendly if cert is not None else None, claimed,
                              existence[0] if existence else None, existence[1] if existence else None,
                              when, intact, path_valid, level, tuple(reasons), tuple(problems))


def _existence(sig_ts: ev.TimestampEvidence | None,
               covering: Iterable[ev.TimestampEvidence]) -> tuple[_dt.datetime, str] | None:
    cands = [(e.gen_time, e.name) for e in ([sig_ts] if sig_ts else []) + list(covering)
             if e.trusted and e.gen_time is not None]
    return min(cands) if cands else None
