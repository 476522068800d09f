"""Renewal of archive time-stamps, one document (:func:`renew`) or many (:class:`ArchiveJob`).

A document needs renewal when the TSA path of its *last* archive time-stamp (PDF: the last
document time-stamp, else the last signature time-stamp; OFD: the last ``archive_N``) expires
within ``horizon`` of ``now`` — or when it has none. Renewal adds the validation material for
that time-stamp (the TSA's certificates, the CRLs given) and a fresh time-stamp over
everything: PDF: DSS update + document time-stamp; OFD: a new ``archive_N+1``.

:class:`ArchiveJob` keeps a JSON progress file (written atomically after each document) so a
job can be re-run at will: documents already handled are skipped (recorded SHA-256 of the
file unchanged, and not yet due again: ``due_after``), and a job that died half-way continues
where it stopped. Outputs are written to
a temporary file and moved over the original (``os.replace``), so a crash never leaves a
half-written document; a crash between the move and the progress update is caught by the
horizon test (the new time-stamp is not due).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import pathlib
import tempfile
from dataclasses import asdict, dataclass
from typing import Any, Iterable

import pikepdf
from asn1crypto import cms

from sign.ltv.doc_timestamp import add_doc_timestamp
from sign.ltv.dss import add_dss
from sign.ltv.errors import OUTPUT_ERROR, PROGRESS_ERROR, TSA_EXPIRES_SOON, LtvError
from sign.ltv.material import Material, pdf_signatures, token_certificates
from sign.timestamps import signer_certificate, tst_info
from sign.verification.crypto import key_algorithm

DEFAULT_HORIZON = _dt.timedelta(days=90)


@dataclass(frozen=True)
class RenewResult:
    renewed: bool
    reason: str                          # no_timestamp | expires_soon | forced | not_due
    previous_time: _dt.datetime | None   # genTime of the last archive time-stamp before renewal
    previous_expiry: _dt.datetime | None  # when its TSA path expires
    new_time: _dt.datetime | None
    data: bytes = b""                    # the renewed document (empty when not renewed)


def _now(now: _dt.datetime | None) -> _dt.datetime:
    return now or _dt.datetime.now(_dt.timezone.utc)


def _expiry(token: cms.ContentInfo) -> _dt.datetime:
    """The earliest notAfter of the token's TSA certificate and the CA certificates it carries."""
    cert = signer_certificate(token)
    ends = [cert["tbs_certificate"]["validity"]["not_after"].native]
    ends += [c["tbs_certificate"]["validity"]["not_after"].native for c in token_certificates(token)
             if c.ca and not c.self_signed == "yes"]
    return min(ends)


def last_timestamp(data: bytes) -> cms.ContentInfo | None:
    """The document's newest archive time-stamp token (see the module docstring)."""
    if data[:2] == b"PK":
        from sign.ltv.ofd import read_archives
        from sign.ofd.package import read_zip
        tokens = [a.token for a in read_archives(read_zip(data)) if a.token is not None]
        return tokens[-1] if tokens else None
    with pikepdf.open(io.BytesIO(data)) as pdf:
        sigs = pdf_signatures(pdf)
    docs = [s.token for s in sigs if s.is_doc_timestamp and s.token is not None]
    if docs:
        return docs[-1]
    sts = [s.token for s in sigs if s.token is not None]
    return sts[-1] if sts else None


def _is_gm_pdf(data: bytes) -> bool:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for s in pdf_signatures(pdf):
            if s.is_doc_timestamp or s.signer_info is None:
                continue
            from sign.verification.cms import find_signer_cert
            cert = find_signer_cert(s.signer_info["sid"], s.certs)
            if cert is not None and key_algorithm(cert.public_key) == "sm2":
                return True
    return False


def needs_renewal(data: bytes, *, horizon: _dt.timedelta = DEFAULT_HORIZON,
                  now: _dt.datetime | None = None) -> tuple[bool, str, Any, Any]:
    token = last_timestamp(data)
    if token is None:
        return True, "no_timestamp", None, None
    expiry = _expiry(token)
    gen = tst_info(token)["gen_time"].native
    if expiry - _now(now) <= horizon:
        return True, "expires_soon", gen, expiry
    return False, "not_due", gen, expiry


def renew(document: bytes | str | os.PathLike, stamper: Any, *, material: Material = Material(),
          horizon: _dt.timedelta = DEFAULT_HORIZON, now: _dt.datetime | None = None,
          force: bool = False, hash_alg: str | None = None) -> RenewResult:
    """Add a fresh archive time-stamp when due (``force``: always); the document is not written.

    Raises ``tsa_expires_soon`` (unless ``force``) when the new time-stamp would itself be due:
    re-time-stamping with a TSA whose certificate expires within the horizon would repeat on
    every run without extending the evidence."""
    data = document if isinstance(document, bytes) else pathlib.Path(document).read_bytes()
    due, reason, gen, expiry = needs_renewal(data, horizon=horizon, now=now)
    if not due and not force:
        return RenewResult(False, reason, gen, expiry, None)
    reason = reason if due else "forced"
    last = last_timestamp(data)
    mat = material.plus(token_certificates(last)) if last is not None else material
    if data[:2] == b"PK":
        from sign.ltv.ofd import add_archive
        ofd = add_archive(data, stamper, mat, now=now)
        result = RenewResult(True, reason, gen, expiry, ofd.gen_time, ofd.data)
    else:
        result = add_pdf_archive(data, stamper, mat, hash_alg=hash_alg, reason=reason, previous=(gen, expiry))
    still_due, _, _, new_expiry = needs_renewal(result.data, horizon=horizon, now=now)
    if still_due and not force:
        raise LtvError(TSA_EXPIRES_SOON, f"renewal would not help: the new time-stamp's TSA path expires "
                                         f"{new_expiry.isoformat()}, within the horizon; use a TSA with a "
                                         "longer-lived certificate")
    return result


def add_pdf_archive(data: bytes, stamper: Any, material: Material = Material(), *,
                    hash_alg: str | None = None, reason: str = "added",
                    previous: tuple = (None, None)) -> RenewResult:
    """DSS (all signatures and time-stamps + ``material``) then a document time-stamp."""
    hash_alg = hash_alg or ("sm3" if _is_gm_pdf(data) else "sha256")
    with_dss = io.BytesIO()
    add_dss(data, with_dss, material)
    out = io.BytesIO()
    res = add_doc_timestamp(with_dss.getvalue(), out, stamper, hash_alg=hash_alg)
    return RenewResult(True, reason, previous[0], previous[1], res.gen_time, out.getvalue())


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    path = pathlib.Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".ltv-", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise LtvError(OUTPUT_ERROR, f"cannot write {path}: {exc.strerror}") from None


# ------------------------------------------------------------------------------ job
@dataclass(frozen=True)
class JobEntry:
    path: str
    status: str            # renewed | not_due | done_earlier | error
    detail: str = ""
    new_time: str | None = None
    previous_expiry: str | None = None
    sha256: str | None = None
    due_after: str | None = None   # from then on the document needs renewal again


@dataclass(frozen=True)
class JobReport:
    entries: tuple[JobEntry, ...]

    @property
    def renewed(self) -> tuple[str, ...]:
        return tuple(e.path for e in self.entries if e.status == "renewed")

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(e.path for e in self.entries if e.status == "error")

    def to_dict(self) -> dict[str, Any]:
        return {"entries": [asdict(e) for e in self.entries], "renewed": len(self.renewed),
                "errors": len(self.errors)}


class ArchiveJob:
    """Renew every document of ``sources`` (files and/or directories of .pdf/.ofd), in place."""

    def __init__(self, sources: Iterable[str | os.PathLike] | str | os.PathLike, stamper: Any, *,
                 progress: str | os.PathLike, material: Material = Material(),
                 horizon: _dt.timedelta = DEFAULT_HORIZON, now: _dt.datetime | None = None) -> None:
        if isinstance(sources, (str, os.PathLike)):
            sources = [sources]
        self.files = _expand(sources)
        self.stamper, self.material, self.horizon, self.now = stamper, material, horizon, now
        self.progress_path = pathlib.Path(progress)

    def load_progress(self) -> dict[str, dict[str, Any]]:
        if not self.progress_path.exists():
            return {}
        try:
            return dict(json.loads(self.progress_path.read_text("utf-8"))["files"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LtvError(PROGRESS_ERROR, f"unreadable progress file {self.progress_path}: {exc}") from None

    def save_progress(self, done: dict[str, dict[str, Any]]) -> None:
        write_atomically(self.progress_path, json.dumps({"version": 1, "files": done}, indent=1,
                                                        sort_keys=True).encode())

    def _still_fresh(self, rec: dict[str, Any]) -> bool:
        """A recorded document is skipped until its (new) last time-stamp becomes due again."""
        if rec.get("status") not in ("renewed", "not_due") or not rec.get("due_after"):
            return False
        return _now(self.now) < _dt.datetime.fromisoformat(rec["due_after"])

    def renew_one(self, path: str) -> RenewResult:
        """Renew one document (in memory); subclasses may hook here."""
        return renew(path, self.stamper, material=self.material, horizon=self.horizon, now=self.now)

    def run(self) -> JobReport:
        done = self.load_progress()
        entries = []
        for path in self.files:
            key = str(path)
            current = hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()
            rec = done.get(key)
            if rec and rec.get("sha256") == current and self._still_fresh(rec):
                entries.append(JobEntry(key, "done_earlier", f"recorded as {rec['status']}",
                                        rec.get("new_time"), rec.get("previous_expiry"), current))
                continue
            try:
                res = self.renew_one(key)
            except LtvError as exc:
                entry = JobEntry(key, "error", f"[{exc.code}] {exc.message}")
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the job
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                entry = JobEntry(key, "error", f"{type(exc).__name__}: {exc}")
            else:
                digest, due = current, res.previous_expiry
                if res.renewed:
                    write_atomically(key, res.data)
                    digest = hashlib.sha256(res.data).hexdigest()
                    due = needs_renewal(res.data, horizon=self.horizon, now=self.now)[3]
                entry = JobEntry(key, "renewed" if res.renewed else "not_due", res.reason,
                                 res.new_time.isoformat() if res.new_time else None,
                                 res.previous_expiry.isoformat() if res.previous_expiry else None, digest,
                                 (due - self.horizon).isoformat() if due else None)
            entries.append(entry)
            if entry.status != "error":
                done[key] = {k: v for k, v in asdict(entry).items() if k != "path"}
                self.save_progress(done)
        return JobReport(tuple(entries))


def _expand(sources: Iterable[str | os.PathLike]) -> list[str]:
    out: list[str] = []
    for src in sources:
        p = pathlib.Path(src)
        if p.is_dir():
            out += sorted(str(f) for f in p.iterdir() if f.suffix.lower() in (".pdf", ".ofd") and f.is_file())
        else:
            out.append(str(p))
    return out
