"""verify(): per-signature integrity, cryptography, trust and changes made after signing."""
from __future__ import annotations

import binascii
import dataclasses
import datetime as _dt
import io
import re
from typing import Any, Callable, Container

import pikepdf
from asn1crypto import x509

from . import cms as C
from . import errors as E
from . import pdfscan, trust
from .diff import collect_fields
from .report import (Change, Problem, Severity, SignatureReport, SignerInfo, TimestampInfo,
                     TrustResult, VerificationReport)

_HEX_RE = re.compile(rb"<[0-9A-Fa-f\s]*>")
_DEFAULT_LEVEL = 2  # approval signatures without DocMDP: form filling and signing allowed
_LEVEL1_FORBIDS = {"SIGNATURE_ADDED", "SIGNATURE_WIDGET_ADDED", "FORM_FILLED",
                   "FORM_APPEARANCE_UPDATED", "ACROFORM_UPDATED", "ANNOTATION_ADDED",
                   "ANNOTATION_CHANGED", "ANNOTATION_REMOVED"}


@dataclasses.dataclass
class _Doc:
    data: bytes
    pdf: pikepdf.Pdf
    damaged: bool
    ends: list[int]
    prefixes: dict[int, tuple[pikepdf.Pdf | None, bool]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class _Sig:
    name: str
    field: Any
    value: Any  # the signature dictionary


def verify(src: Any, trust_anchors: Any = None, at: _dt.datetime | None = None,
           crls: tuple[Any, ...] = ()) -> VerificationReport:
    data = pdfscan.load_input(src)
    pdf, damaged = open_pdf(data)
    doc = _Doc(data, pdf, damaged, pdfscan.revision_ends(data))
    try:
        return _verify_doc(doc, trust.anchors_from(trust_anchors), _aware(at), tuple(crls))
    except E.PdfVerifyError:
        raise
    except (pikepdf.PdfError, RecursionError, ValueError, KeyError, TypeError) as exc:
        raise E.PdfVerifyError(E.PDF_PARSE_ERROR, f"cannot analyse the document: {exc}") from None
    except Exception as exc:  # a malformed input must never surface as a traceback
        raise E.PdfVerifyError(E.VERIFY_ERROR,
                               f"verification failed: {type(exc).__name__}: {exc}") from None
    finally:
        for old, _ in doc.prefixes.values():
            if old is not None:
                old.close()
        pdf.close()


def open_pdf(data: bytes) -> tuple[pikepdf.Pdf, bool]:
    """(pdf, damaged): strict parse first; qpdf recovery when the file is damaged."""
    try:
        return pikepdf.open(io.BytesIO(data), attempt_recovery=False), False
    except pikepdf.PasswordError:
        raise E.PdfVerifyError(E.ENCRYPTED, "the PDF is encrypted with a user password") from None
    except pikepdf.PdfError:
        pass
    try:
        return pikepdf.open(io.BytesIO(data)), True
    except pikepdf.PdfError as exc:
        raise E.PdfVerifyError(E.PDF_PARSE_ERROR, f"unreadable PDF: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def _aware(at: _dt.datetime | None) -> _dt.datetime | None:
    if at is not None and at.tzinfo is None:
        return at.replace(tzinfo=_dt.timezone.utc)
    return at


def _verify_doc(doc: _Doc, anchors: trust.TrustAnchors | None, at: _dt.datetime | None,
                crls: tuple[Any, ...] = ()) -> VerificationReport:
    if pdfscan.is_truncated(doc.data, doc.damaged):
        raise E.PdfVerifyError(E.TRUNCATED, "the PDF is truncated (incomplete last revision)")
    sigs = _signatures(doc.pdf)
    if not sigs:
        return VerificationReport(len(doc.data), len(doc.ends), (),
                                  (Problem("NO_SIGNATURES", "the document has no signature"),))
    context = _Context(doc, anchors, at, sigs, crls)
    reports = tuple(context.report(s) for s in sigs)
    return VerificationReport(len(doc.data), len(doc.ends), reports)


def _signatures(pdf: pikepdf.Pdf) -> list[_Sig]:
    return [_Sig(name, f.obj, f.obj.get("/V")) for name, f in collect_fields(pdf, False).items()
            if f.is_signature and _is_dict(f.obj.get("/V"))]


def _is_dict(obj: Any) -> bool:
    return getattr(obj, "_type_code", None) == pikepdf.ObjectType.dictionary


class _Context:
    def __init__(self, doc: _Doc, anchors: trust.TrustAnchors | None, at: _dt.datetime | None,
                 sigs: list[_Sig], crls: tuple[Any, ...] = ()) -> None:
        self.doc, self.anchors, self.at, self.sigs = doc, anchors, at, sigs
        self.extra_crls = crls
        self.level = min((lvl for s in sigs if (lvl := _docmdp_level(s.value)) is not None),
                         default=None)
        self._pool: tuple[x509.Certificate, ...] | None = None
        self._dss_crls: tuple[Any, ...] | None = None

    def dss_crls(self) -> tuple[Any, ...]:
        if self._dss_crls is None:
            self._dss_crls = _dss_items(self.doc.pdf, "/CRLs", C.load_crl)
        return self._dss_crls

    def cert_pool(self) -> tuple[x509.Certificate, ...]:
        """Every certificate embedded in the document (signatures' CMS, DSS), for path building."""
        if self._pool is None:
            self._pool = _embedded_certificates(self.doc.pdf, self.sigs)
        return self._pool

    def report(self, sig: _Sig) -> SignatureReport:
        """One signature's report; an unexpected failure is that signature's problem only."""
        try:
            return self._report(sig)
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            problem = Problem(E.VERIFY_ERROR, f"cannot verify: {type(exc).__name__}: {exc}")
            return self._broken(sig, _pdf_name(sig.value.get("/SubFilter")), False, None, None,
                                [problem])

    def _report(self, sig: _Sig) -> SignatureReport:
        data = self.doc.data
        problems: list[Problem] = []
        v = sig.value
        sub_filter = _pdf_name(v.get("/SubFilter"))
        is_doc_ts = _pdf_name(v.get("/Type")) == "/DocTimeStamp" or sub_filter == "/ETSI.RFC3161"
        br = _byte_range(v, len(data), problems)
        contents = _contents(v, problems)
        if br is not None and contents is not None:
            _check_hole(data, br, contents, problems)
        signed_end = br[2] + br[3] if br else None
        whole = signed_end is not None and not data[signed_end:].strip(pdfscan._WS)
        if signed_end is not None and not whole and not pdfscan.is_revision_boundary(
                data, signed_end, self.doc.ends):
            problems.append(Problem("SIGNED_END_NOT_AT_REVISION",
                                    "the signed bytes do not end at a revision boundary (%%EOF)"))
        if br is None or contents is None:
            return self._broken(sig, sub_filter, is_doc_ts, br, signed_end, problems)
        digest_of = _range_digester(data, br)
        if is_doc_ts:
            return self._doc_timestamp(sig, sub_filter, br, signed_end, whole, contents, digest_of,
                                       problems)
        return self._signature(sig, sub_filter, br, signed_end, whole, contents, digest_of,
                               problems)

    # -------------------------------------------------------------- signatures
    def _signature(self, sig: _Sig, sub_filter: str | None, br: tuple[int, ...], signed_end: int,
                   whole: bool, contents: bytes, digest_of: Callable[[str], bytes],
                   problems: list[Problem]) -> SignatureReport:
        try:
            signed = C.load_signed_data(contents)
            check = C.check_signer(signed, digest_of, lambda: _range_bytes(self.doc.data, br))
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(Problem("CMS_MALFORMED", f"signature contents are not CMS: {exc}"))
            return self._broken(sig, sub_filter, False, br, signed_end, problems)
        problems.extend(check.problems)
        ts = self._timestamp(C.signature_timestamp(check.signer_info), check.signature_value,
                             check.certificates)
        if ts is not None and not ts.valid:
            problems.append(Problem("TIMESTAMP_INVALID", "the signature timestamp does not verify"
                                    + (f": {ts.problems[0].message}" if ts.problems else "")))
        signing_time, source = _signing_time(check.signing_time, sig.value)
        at = self.at or (ts.time if ts and ts.valid else None) or signing_time or _now()
        crls = self.extra_crls + C.crls_of(signed, check.signer_info) + self.dss_crls() \
            if self.anchors is not None else ()
        trust_result = trust.evaluate(check.signer_cert, check.certificates, self.anchors, at, crls)
        changes = self._changes(sig, signed_end, whole)
        return SignatureReport(
            sig.name, "signature", sub_filter, _signer(check.signer_cert), check.algorithm,
            check.digest_algorithm, signing_time, source, ts, br, whole, signed_end,
            self._revisions_after(signed_end), check.digest_ok and not _wrapping(problems),
            check.signature_ok, trust_result, _docmdp_level(sig.value), changes, tuple(problems))

    def _doc_timestamp(self, sig: _Sig, sub_filter: str | None, br: tuple[int, ...],
                       signed_end: int, whole: bool, contents: bytes,
                       digest_of: Callable[[str], bytes], problems: list[Problem]) -> SignatureReport:
        token = C.check_timestamp_token(contents, digest_of)
        problems.extend(token.problems)
        at = self.at or token.time or _now()
        trust_result = trust.evaluate(token.tsa_cert, token.certificates + self.cert_pool(),
                                      self.anchors, at, purpose="timestamping")
        info = TimestampInfo(token.time, _subject(token.tsa_cert), token.imprint_ok,
                             token.signature_ok, trust_result.trusted if trust_result.checked else None,
                             token.problems)
        changes = self._changes(sig, signed_end, whole)
        algorithm = _key_alg(token.tsa_cert)
        return SignatureReport(
            sig.name, "doc_timestamp", sub_filter, _signer(token.tsa_cert), algorithm,
            token.digest_algorithm, token.time, "timestamp", info, br, whole, signed_end,
            self._revisions_after(signed_end), token.imprint_ok and not _wrapping(problems),
            token.signature_ok, trust_result, None, changes, tuple(problems))

    def _timestamp(self, token: Any, signature_value: bytes,
                   extra: tuple[x509.Certificate, ...]) -> TimestampInfo | None:
        if token is None:
            return None
        check = C.check_timestamp_token(token, signature_value)
        trusted, problems = None, check.problems
        if self.anchors is not None and check.tsa_cert is not None:
            result = trust.evaluate(check.tsa_cert, check.certificates + extra, self.anchors,
                                    check.time or _now(), purpose="timestamping")
            if not result.trusted and result.checked:
                result = trust.evaluate(check.tsa_cert,
                                        check.certificates + extra + self.cert_pool(),
                                        self.anchors, check.time or _now(), purpose="timestamping")
            trusted, problems = result.trusted, problems + result.errors
        return TimestampInfo(check.time, _subject(check.tsa_cert), check.imprint_ok,
                             check.signature_ok, trusted, problems)

    def _broken(self, sig: _Sig, sub_filter: str | None, is_doc_ts: bool,
                br: tuple[int, ...] | None, signed_end: int | None,
                problems: list[Problem]) -> SignatureReport:
        at = self.at or _now()
        return SignatureReport(
            sig.name, "doc_timestamp" if is_doc_ts else "signature", sub_filter, None, None, None,
            None, None, None, br, False, signed_end, self._revisions_after(signed_end), False, False,
            TrustResult(self.anchors is not None, False, at), _docmdp_level(sig.value), (),
            tuple(problems))

    def _revisions_after(self, signed_end: int | None) -> int:
        if signed_end is None:
            return 0
        return sum(1 for e in self.doc.ends if e > signed_end
                   and self.doc.data[signed_end:e].strip(pdfscan._WS))

    # -------------------------------------------------------------- changes after signing
    def _changes(self, sig: _Sig, signed_end: int, whole: bool) -> tuple[Change, ...]:
        if whole:
            return ()
        from .changes import changes_after
        level = self.level if self.level is not None else _DEFAULT_LEVEL
        locked = _locked_fields(self.sigs)
        try:
            changes = changes_after(self.doc.data, self.doc.pdf, self.doc.damaged, signed_end,
                                    level, locked, self.doc.prefixes)
        except Exception as exc:  # noqa: BLE001 - unknown changes are never "allowed"
            return (Change("ANALYSIS_FAILED", Severity.DISALLOWED,
                           f"the updates after signing could not be analysed "
                           f"({type(exc).__name__}: {exc}); treated as not allowed"),)
        if level == 1:
            changes = [dataclasses.replace(c, severity=Severity.DISALLOWED,
                                           description=c.description + " (DocMDP level 1: no changes)")
                       if c.kind in _LEVEL1_FORBIDS else c for c in changes]
        return tuple(changes)


# ------------------------------------------------------------------ helpers
def _embedded_certificates(pdf: pikepdf.Pdf, sigs: list[_Sig]) -> tuple[x509.Certificate, ...]:
    out: dict[bytes, x509.Certificate] = {}
    for sig in sigs:
        raw = sig.value.get("/Contents")
        try:
            certs = C.certificates_of(C.load_signed_data(bytes(raw))) if raw is not None else ()
        except (ValueError, TypeError, KeyError):
            continue
        out.update((c.dump(), c) for c in certs)
    out.update((c.dump(), c) for c in _dss_items(pdf, "/Certs", x509.Certificate.load))
    return tuple(out.values())


def _dss_items(pdf: pikepdf.Pdf, key: str, load: Callable[[bytes], Any]) -> tuple[Any, ...]:
    dss = pdf.Root.get("/DSS")
    streams = dss.get(key) if _is_dict(dss) else None
    out = []
    for stream in streams if getattr(streams, "_type_code", None) == pikepdf.ObjectType.array else ():
        try:
            item = load(stream.read_bytes())
            item.native  # noqa: B018  parse now: a broken DSS entry is skipped, not fatal later
            out.append(item)
        except Exception:
            continue
    return tuple(out)


def _byte_range(v: Any, size: int, problems: list[Problem]) -> tuple[int, ...] | None:
    raw = v.get("/ByteRange")
    if raw is None:
        problems.append(Problem("BYTERANGE_MISSING", "the signature has no /ByteRange"))
        return None
    try:
        values = tuple(raw)
    except TypeError:
        values = ()
    if not values or not all(isinstance(x, int) and not isinstance(x, bool) for x in values):
        problems.append(Problem("BYTERANGE_MALFORMED", "/ByteRange is not an array of integers"))
        return None
    if len(values) != 4:
        code = "BYTERANGE_MULTIPLE_HOLES" if len(values) > 4 and len(values) % 2 == 0 \
            else "BYTERANGE_MALFORMED"
        problems.append(Problem(code, f"/ByteRange has {len(values)} numbers; exactly 4 expected "
                                      "(one hole for /Contents)"))
        return None
    a, b, c, d = values
    if min(values) < 0:
        problems.append(Problem("BYTERANGE_NEGATIVE", f"/ByteRange {list(values)} has negative values"))
        return None
    if c + d > size or b > size:
        problems.append(Problem("BYTERANGE_OUT_OF_FILE",
                                f"/ByteRange {list(values)} reaches beyond the file ({size} bytes)"))
        return None
    if a != 0:
        problems.append(Problem("BYTERANGE_NOT_FROM_START", "the signed bytes do not start at offset 0"))
    if c < a + b:
        problems.append(Problem("BYTERANGE_OVERLAP", f"/ByteRange {list(values)} ranges overlap"))
        return None
    if b == 0 or d == 0:
        problems.append(Problem("BYTERANGE_MALFORMED", f"/ByteRange {list(values)} has an empty range"))
    return values


def _contents(v: Any, problems: list[Problem]) -> bytes | None:
    raw = v.get("/Contents")
    if raw is None or getattr(raw, "_type_code", None) != pikepdf.ObjectType.string:
        problems.append(Problem("CONTENTS_MISSING", "the signature has no /Contents string"))
        return None
    value = bytes(raw)
    if not value.strip(b"\x00"):
        problems.append(Problem("CONTENTS_EMPTY", "/Contents is empty or all zero bytes"))
        return None
    return value


def _check_hole(data: bytes, br: tuple[int, ...], contents: bytes, problems: list[Problem]) -> None:
    start, end = br[0] + br[1], br[2]
    hole = data[start:end]
    if not _HEX_RE.fullmatch(hole):
        problems.append(Problem("HOLE_NOT_CONTENTS", "the unsigned gap is not exactly the /Contents "
                                                     "hex string (signature wrapping)"))
        return
    try:
        hole_value = binascii.unhexlify(re.sub(rb"\s", b"", hole[1:-1]))
    except binascii.Error:
        hole_value = b""
    if hole_value.rstrip(b"\x00") != contents.rstrip(b"\x00"):
        problems.append(Problem("CONTENTS_MOVED", "the unsigned gap does not hold this signature's "
                                                  "/Contents (signature wrapping)"))
    if not data[max(0, start - 32):start].rstrip(pdfscan._WS).endswith(b"/Contents"):
        problems.append(Problem("HOLE_NOT_CONTENTS", "the unsigned gap does not follow /Contents"))


def _range_bytes(data: bytes, br: tuple[int, ...]) -> bytes:
    return data[br[0]:br[0] + br[1]] + data[br[2]:br[2] + br[3]]


def _wrapping(problems: list[Problem]) -> bool:
    bad = {"HOLE_NOT_CONTENTS", "CONTENTS_MOVED", "BYTERANGE_NOT_FROM_START",
           "SIGNED_END_NOT_AT_REVISION", "BYTERANGE_MALFORMED"}
    return any(p.code in bad for p in problems)


def _range_digester(data: bytes, br: tuple[int, ...]) -> Callable[[str], bytes]:
    cache: dict[str, bytes] = {}
    view = memoryview(data)

    def digest_of(name: str) -> bytes:
        if name not in cache:
            h = C.crypto.new_hash(name)
            h.update(view[br[0]:br[0] + br[1]])
            h.update(view[br[2]:br[2] + br[3]])
            cache[name] = h.digest()
        return cache[name]
    return digest_of


def _docmdp_level(v: Any) -> int | None:
    refs = v.get("/Reference")
    if refs is None or getattr(refs, "_type_code", None) != pikepdf.ObjectType.array:
        return None
    for ref in refs:
        if _is_dict(ref) and _pdf_name(ref.get("/TransformMethod")) == "/DocMDP":
            params = ref.get("/TransformParams")
            p = params.get("/P", 2) if _is_dict(params) else 2
            return p if p in (1, 2, 3) else 2
    return None


def _locked_fields(sigs: list[_Sig]) -> Container[str] | None:
    """Field names locked by FieldMDP (/Lock) of the signatures; None when nothing is locked."""
    include: set[str] = set()
    excluded: list[set[str]] = []
    any_lock = False
    for s in sigs:
        lock = s.field.get("/Lock")
        if not _is_dict(lock):
            continue
        any_lock = True
        action = _pdf_name(lock.get("/Action"))
        fields = lock.get("/Fields")
        names = {str(n) for n in fields} if fields is not None else set()
        if action == "/All":
            return _Except(set())
        if action == "/Include":
            include |= names
        elif action == "/Exclude":
            excluded.append(names)
    if not any_lock:
        return None
    return _Locked(include, excluded)


@dataclasses.dataclass(frozen=True)
class _Except:
    names: set[str]

    def __contains__(self, item: object) -> bool:
        return item not in self.names


@dataclasses.dataclass(frozen=True)
class _Locked:
    include: set[str]
    excluded: list[set[str]]

    def __contains__(self, item: object) -> bool:
        return item in self.include or any(item not in names for names in self.excluded)


def _pdf_name(obj: Any) -> str | None:
    return str(obj) if getattr(obj, "_type_code", None) == pikepdf.ObjectType.name_ else None


_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+\-])?(\d{2})?'?(\d{2})?")


def _signing_time(attr: _dt.datetime | None, v: Any) -> tuple[_dt.datetime | None, str | None]:
    if attr is not None:
        return attr, "signed_attribute"
    m = v.get("/M")
    parsed = parse_pdf_date(str(m)) if m is not None else None
    return (parsed, "/M") if parsed else (None, None)


def parse_pdf_date(text: str) -> _dt.datetime | None:
    match = _PDF_DATE.match(text.strip())
    if not match:
        return None
    g = match.groups()
    try:
        base = _dt.datetime(int(g[0]), int(g[1] or 1), int(g[2] or 1), int(g[3] or 0),
                            int(g[4] or 0), int(g[5] or 0))
    except ValueError:
        return None
    offset = _dt.timedelta(hours=int(g[7] or 0), minutes=int(g[8] or 0))
    tz = _dt.timezone(-offset if g[6] == "-" else offset) if g[6] in ("+", "-") else _dt.timezone.utc
    return base.replace(tzinfo=tz)


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


_SIGNER_CACHE: dict[bytes, SignerInfo] = {}


def _signer(cert: x509.Certificate | None) -> SignerInfo | None:
    """Signer identity (cached per certificate: human_friendly names are costly)."""
    if cert is None:
        return None
    key = cert.dump()
    info = _SIGNER_CACHE.get(key)
    if info is None:
        validity = cert["tbs_certificate"]["validity"]
        info = SignerInfo(cert.subject.human_friendly, cert.issuer.human_friendly,
                          format(cert.serial_number, "x"), validity["not_before"].native,
                          validity["not_after"].native)
        if len(_SIGNER_CACHE) > 4096:
            _SIGNER_CACHE.clear()
        _SIGNER_CACHE[key] = info
    return info


def _subject(cert: x509.Certificate | None) -> str | None:
    return cert.subject.human_friendly if cert is not None else None


def _key_alg(cert: x509.Certificate | None) -> str | None:
    return C.crypto.key_algorithm(cert.public_key) if cert is not None else None
