"""Verify the signatures of an OFD (GB/T 33190 §18, GB/T 38540): 验签.

``verify_ofd(data, trust=..., signer_certs=...)`` never raises: a package that cannot be read
gives ``report.readable == False`` with ``report.error`` (an :class:`OfdError` code).

Per signature (Signatures.xml entry), in order:

1. **References** — each ``FileRef`` (resolved from the Signature.xml folder, as ofdrw does)
   is hashed with ``CheckMethod`` (SM3 by name or OID 1.2.156.10197.1.401; SHA-256 too) and
   compared: ``REF_CHANGED`` / ``REF_MISSING``. Every file of the package that no reference
   covers, other than Signatures.xml, this signature's own Signature.xml / SignedValue and the
   files of the other listed signatures' folders, is ``FILE_ADDED``.
2. **SignedValue** — by format:
   * SES_Signature (GB/T 38540 V4, GM/T 0031 V1) via :mod:`sign.seals.gbt38540`: ``dataHash``
     must equal SM3(Signature.xml bytes) (``SES_DATA_HASH_MISMATCH``), the signer's SM2
     signature over DER(TBS_Sign) must verify (``SES_SIGNATURE_INVALID``), the signer
     certificate must be listed in the seal (``SES_SIGNER_NOT_IN_SEAL``), the seal maker's
     signature must verify and the seal be valid at the signing time (``SEAL_*``); a
     ``Seal/BaseLoc`` file must equal the embedded seal (``SEAL_FILE_MISMATCH``).
   * a bare SM2 signature (DER or r||s) over the Signature.xml bytes (ofdrw's DigitalSign):
     verified with the caller's ``signer_certs`` (``NO_SIGNER_CERT`` when none matches).
   * CMS SignedData (GB/T 35275 / PKCS#7) with Signature.xml as detached content.
3. **Certificate** — the signer certificate must be within its validity at the signing time
   (``CERT_EXPIRED_AT_SIGNING`` / ``CERT_NOT_YET_VALID_AT_SIGNING``); with ``trust``, its chain
   (and the seal maker's) through :func:`sign.certs.validate.validate_chain` at the signing time
   (``CHAIN_<code>``, ``SEAL_MAKER_CHAIN_<code>``).

A signature is valid when nothing above reported a problem; the document when it has at least
one signature (``NOT_SIGNED``) and all are valid.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Optional

from asn1crypto import x509

from sign.crypto.sm3 import sm3_digest
from sign.ofd import xml as X
from sign.ofd.errors import OfdError
from sign.ofd.package import Box, OfdPackage, parse_package, read_zip, resolve


@dataclass(frozen=True)
class Problem:
    code: str
    message: str


@dataclass(frozen=True)
class ReferenceCheck:
    path: str
    status: str                 # ok | changed | missing
    expected: str               # base64
    actual: Optional[str] = None


@dataclass(frozen=True)
class SealReport:
    name: str
    es_id: str
    version: int
    valid_start: datetime
    valid_end: datetime
    maker: str
    signature_ok: bool
    within_validity: bool       # at the signing time


@dataclass(frozen=True)
class SignerReport:
    subject: str
    issuer: str
    serial: str


@dataclass(frozen=True)
class TrustReport:
    checked: bool
    trusted: bool = False
    path: tuple[str, ...] = ()
    errors: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class StampReport:
    page_ref: str
    page: Optional[int]         # 1-based, None when PageRef names no page
    box: Optional[Box]


@dataclass(frozen=True)
class SignatureReport:
    id: str
    type: str                   # Seal | Sign
    path: str                   # Signature.xml
    signed_value_path: Optional[str]
    provider: str
    method: str
    signing_time: Optional[datetime]
    format: str                 # SES_V4 | SES_V1 | SM2 | CMS | unknown
    references: tuple[ReferenceCheck, ...]
    added_files: tuple[str, ...]
    intact: bool                # every reference ok and nothing added
    crypto_valid: bool          # the signed value verifies over this Signature.xml
    seal: Optional[SealReport]
    signer: Optional[SignerReport]
    trust: TrustReport
    stamps: tuple[StampReport, ...]
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def codes(self) -> set[str]:
        return {p.code for p in self.problems}


@dataclass(frozen=True)
class OfdVerifyReport:
    readable: bool
    signatures: tuple[SignatureReport, ...] = ()
    problems: tuple[Problem, ...] = ()
    error: Optional[Problem] = None
    pages: int = 0

    @property
    def valid(self) -> bool:
        return self.readable and bool(self.signatures) and not self.problems and all(
            s.valid for s in self.signatures)

    @property
    def codes(self) -> set[str]:
        return {p.code for p in self.problems} | {c for s in self.signatures for c in s.codes} | (
            {self.error.code} if self.error else set())

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["valid"] = self.valid
        for s, d in zip(self.signatures, out["signatures"]):
            d["valid"] = s.valid
        return out


# ------------------------------------------------------------------------------ entry point
def verify_ofd(data: bytes | str, *, trust: Optional[Iterable[x509.Certificate]] = None,
               signer_certs: Iterable[x509.Certificate] = (), intermediates: Iterable[x509.Certificate] = (),
               at: Optional[datetime] = None, crls: Iterable[Any] = ()) -> OfdVerifyReport:
    """Verify every signature of the first document; see the module docstring.

    ``trust``: root certificates (``None`` = chains not checked); ``intermediates``: CA
    certificates for chain building (SES_Signature embeds only the signer's certificate);
    ``signer_certs``: certificates for bare SM2 signatures (also used for chain building);
    ``at``: validate certificates at this moment instead of the signing time.
    """
    try:
        if isinstance(data, str):
            try:
                with open(data, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                return OfdVerifyReport(False, error=Problem("input_unreadable", f"{data}: {exc.strerror}"))
        files = read_zip(bytes(data))
    except OfdError as exc:
        return OfdVerifyReport(False, error=Problem(exc.code, exc.message))
    except Exception as exc:  # never a traceback
        return OfdVerifyReport(False, error=Problem("analysis_failed", f"{type(exc).__name__}: {exc}"))
    doc_problems: list[Problem] = []
    pkg: Optional[OfdPackage] = None
    try:
        pkg = parse_package(files)
        sigs_path = pkg.document.signatures_path
    except OfdError as exc:
        # A signed part that no longer parses must still be reported as what it is (a changed
        # file): verify the signatures at the file level from the conventional Signatures.xml.
        if "OFD.xml" not in files:
            return OfdVerifyReport(False, error=Problem(exc.code, exc.message))
        sigs_path = next((n for n in sorted(files) if n.endswith("/Signs/Signatures.xml")), None)
        if sigs_path is None:
            return OfdVerifyReport(False, error=Problem(exc.code, exc.message))
        doc_problems.append(Problem("STRUCTURE_BROKEN", f"[{exc.code}] {exc.message}"))
    except Exception as exc:
        return OfdVerifyReport(False, error=Problem("analysis_failed", f"{type(exc).__name__}: {exc}"))
    pages = len(pkg.document.pages) if pkg is not None else 0
    ctx = _Ctx(files, pkg, sigs_path, list(trust) if trust is not None else None, list(signer_certs), at,
               list(crls), list(intermediates))
    try:
        entries = ctx.entries()
    except OfdError as exc:
        # an unreadable (e.g. tampered) Signatures.xml: still verify every Signature.xml beside it
        doc_problems.append(Problem("SIGNATURES_UNREADABLE", exc.message))
        signs_dir = posixpath.dirname(sigs_path or "") + "/"
        entries = [_Entry(str(i + 1), "Seal", n) for i, n in enumerate(
            sorted(n for n in files if n.startswith(signs_dir) and n.endswith("/Signature.xml")))]
    if not entries:
        return OfdVerifyReport(True, problems=(*doc_problems, Problem("NOT_SIGNED", "the document has no signature")),
                               pages=pages)
    reports = []
    for entry in entries:
        try:
            reports.append(ctx.verify(entry, entries))
        except Exception as exc:  # one broken signature must not hide the others
            reports.append(_broken(entry, Problem("VERIFY_ERROR", f"{type(exc).__name__}: {exc}")))
    return OfdVerifyReport(True, tuple(reports), tuple(doc_problems), pages=pages)


@dataclass(frozen=True)
class _Entry:
    id: str
    type: str
    path: str                   # Signature.xml (resolved), '' when BaseLoc is unusable
    error: Optional[Problem] = None


def _broken(entry: _Entry, problem: Problem) -> SignatureReport:
    return SignatureReport(entry.id, entry.type, entry.path, None, "", "", None, "unknown", (), (), False,
                           False, None, None, TrustReport(False), (), (problem,))


_OID_NAMES = {"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
              "2.5.4.11": "OU", "2.5.4.5": "serialNumber"}


def _name(name: Any) -> str:
    """A readable subject/issuer; falls back to a raw DER walk for names asn1crypto rejects
    (e.g. an x500UniqueIdentifier written as UTF8String, as in some vendors' certificates)."""
    try:
        return name.human_friendly
    except Exception:
        pass
    from asn1crypto import core

    from sign.crypto import _der
    parts = []
    try:
        for _t, rdn in _der.read_sequence(name.dump()):
            for _t2, ava in _iter_set(rdn):
                (_tt, oid), (_vt, val) = _der.read_sequence(_der.encode_tlv(0x30, ava))[:2]
                dotted = core.ObjectIdentifier.load(_der.encode_tlv(0x06, oid)).dotted
                parts.append(f"{_OID_NAMES.get(dotted, dotted)}={val.decode('utf-8', 'replace')}")
    except Exception:
        return "<unparsable name>"
    return ", ".join(parts)


def _iter_set(content: bytes):
    from sign.crypto import _der
    pos = 0
    while pos < len(content):
        tag, value, pos = _der.read_tlv(content, pos)
        yield tag, value


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _hash_fn(method: str):
    m = (method or "").strip().lower().replace("-", "")
    if m in ("sm3", "1.2.156.10197.1.401"):
        return sm3_digest
    if m in ("sha256", "2.16.840.1.101.3.4.2.1"):
        return lambda b: hashlib.sha256(b).digest()
    if m in ("sha1", "1.3.14.3.2.26"):
        return lambda b: hashlib.sha1(b).digest()
    return None


def _parse_time(text: Optional[str]) -> Optional[datetime]:
    if not text:
        return None
    t = text.strip()
    for fmt in ("%Y%m%d%H%M%SZ", "%Y%m%d%H%M%S.%fZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            # naive local forms (ofdrw writes Beijing time without a zone) are taken as UTC+8
            value = datetime.strptime(t, fmt)
            if t.endswith("Z"):
                return value.replace(tzinfo=timezone.utc)
            from datetime import timedelta
            return value.replace(tzinfo=timezone(timedelta(hours=8))).astimezone(timezone.utc)
        except ValueError:
            continue
    try:
        value = datetime.fromisoformat(t.replace("Z", "+00:00"))
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    except ValueError:
        return None


class _Ctx:
    def __init__(self, files: Mapping[str, bytes], pkg: Optional[OfdPackage], sigs_path: Optional[str],
                 trust: Optional[list], signer_certs: list, at: Optional[datetime], crls: list,
                 intermediates: list) -> None:
        self.files, self.trust, self.signer_certs, self.at, self.crls = files, trust, signer_certs, at, crls
        self.intermediates = intermediates
        self.doc = pkg.document if pkg is not None else None
        self.sigs_path = sigs_path

    def xml(self, name: str):
        if name not in self.files:
            raise OfdError("missing_part", f"{name} is missing")
        return X.parse_xml(self.files[name], name)

    # -- Signatures.xml
    def entries(self) -> list[_Entry]:
        if self.sigs_path is None:
            return []
        root = self.xml(self.sigs_path)
        base = posixpath.dirname(self.sigs_path)
        out = []
        for i, el in enumerate(X.children(root, "Signature")):
            sid = el.get("ID", str(i + 1))
            try:
                path = resolve(base, el.get("BaseLoc"), self.files)
                out.append(_Entry(sid, el.get("Type") or "Seal", path))
            except OfdError as exc:
                out.append(_Entry(sid, el.get("Type") or "Seal", "", Problem("SIGNATURE_XML_MISSING", exc.message)))
        return out

    # -- one signature
    def verify(self, entry: _Entry, entries: list[_Entry]) -> SignatureReport:
        if entry.error is not None:
            return _broken(entry, entry.error)
        files = self.files
        if entry.path not in files:
            return _broken(entry, Problem("SIGNATURE_XML_MISSING", f"{entry.path} is missing"))
        sig_xml = files[entry.path]
        try:
            root = X.parse_xml(sig_xml, entry.path)
        except OfdError as exc:
            return _broken(entry, Problem("SIGNATURE_XML_MALFORMED", exc.message))
        problems: list[Problem] = []
        warnings: list[Problem] = []
        base = posixpath.dirname(entry.path)
        info = X.child(root, "SignedInfo")
        if info is None:
            return _broken(entry, Problem("SIGNATURE_XML_MALFORMED", "no SignedInfo"))
        prov = X.child(info, "Provider")
        provider = " ".join(filter(None, [prov.get("ProviderName"), prov.get("Version")])) if prov is not None else ""
        method = X.text(info, "SignatureMethod") or ""
        xml_time = _parse_time(X.text(info, "SignatureDateTime"))

        refs, covered = self._references(info, base, problems)
        own = {entry.path, self.sigs_path}
        value_loc = X.text(root, "SignedValue")
        value_path = None
        if value_loc:
            try:
                value_path = resolve(base, value_loc, files)
                own.add(value_path)
            except OfdError as exc:
                problems.append(Problem("SIGNED_VALUE_MISSING", exc.message))
        others = {posixpath.dirname(e.path) + "/" for e in entries if e.path and e is not entry}
        added = tuple(sorted(n for n in files if n not in covered and n not in own
                             and not any(n.startswith(d) for d in others)))
        for name in added:
            problems.append(Problem("FILE_ADDED", f"{name} is not covered by the signature "
                                                  "(added after signing, or left unprotected)"))
        intact = not added and all(r.status == "ok" for r in refs) and bool(refs)
        if not refs:
            problems.append(Problem("NO_REFERENCES", "the signature protects no file"))

        seal_report = signer = None
        fmt = "unknown"
        crypto_ok = False
        signing_time = xml_time
        cert: Optional[x509.Certificate] = None
        maker_cert: Optional[x509.Certificate] = None
        if value_path is None or value_path not in files:
            problems.append(Problem("SIGNED_VALUE_MISSING", f"{value_path or 'SignedValue'} is missing"))
        else:
            value = files[value_path]
            res = self._signed_value(entry, info, base, sig_xml, value, problems, warnings)
            fmt, crypto_ok, cert, maker_cert, seal_report, t = res
            signing_time = t or xml_time
        if cert is not None:
            signer = SignerReport(_name(cert.subject), _name(cert.issuer), format(cert.serial_number, "x"))
            when = self.at or signing_time or datetime.now(timezone.utc)
            validity = cert["tbs_certificate"]["validity"]
            if when < validity["not_before"].native:
                problems.append(Problem("CERT_NOT_YET_VALID_AT_SIGNING", f"certificate valid from "
                                        f"{validity['not_before'].native.isoformat()}, signed {when.isoformat()}"))
            elif when > validity["not_after"].native:
                problems.append(Problem("CERT_EXPIRED_AT_SIGNING", f"certificate expired "
                                        f"{validity['not_after'].native.isoformat()}, signed {when.isoformat()}"))
        trust = self._trust(cert, maker_cert, signing_time, problems)
        stamps = self._stamps(info, warnings)
        return SignatureReport(entry.id, entry.type, entry.path, value_path, provider, method, signing_time, fmt,
                               tuple(refs), added, intact, crypto_ok, seal_report, signer, trust, stamps,
                               tuple(problems), tuple(warnings))

    def _references(self, info, base: str, problems: list[Problem]) -> tuple[list[ReferenceCheck], set[str]]:
        files = self.files
        refs_el = X.child(info, "References")
        refs: list[ReferenceCheck] = []
        covered: set[str] = set()
        if refs_el is None:
            return refs, covered
        check = refs_el.get("CheckMethod") or "SM3"
        fn = _hash_fn(check)
        if fn is None:
            problems.append(Problem("REF_UNSUPPORTED_METHOD", f"CheckMethod {check!r} is not supported"))
            return refs, covered
        for ref in X.children(refs_el, "Reference"):
            loc = ref.get("FileRef")
            expected_txt = X.text(ref, "CheckValue") or ""
            try:
                name = resolve(base, loc, files)
            except OfdError as exc:
                problems.append(Problem("REF_MISSING", exc.message))
                refs.append(ReferenceCheck(loc or "", "missing", expected_txt))
                continue
            covered.add(name)
            try:
                expected = base64.b64decode(expected_txt, validate=False)
            except (binascii.Error, ValueError):
                expected = b""
            if name not in files:
                problems.append(Problem("REF_MISSING", f"{name} was signed but is no longer in the package"))
                refs.append(ReferenceCheck(name, "missing", expected_txt))
                continue
            actual = fn(files[name])
            if actual != expected:
                problems.append(Problem("REF_CHANGED", f"{name} changed after signing"))
                refs.append(ReferenceCheck(name, "changed", expected_txt, _b64(actual)))
            else:
                refs.append(ReferenceCheck(name, "ok", expected_txt, _b64(actual)))
        return refs, covered

    def _signed_value(self, entry: _Entry, info, base: str, sig_xml: bytes, value: bytes,
                      problems: list[Problem], warnings: list[Problem]):
        from sign.seals import SealError, parse_ses_signature, verify_ses_signature

        ses_error = ""
        try:
            ses = parse_ses_signature(value)
        except SealError as exc:
            ses, ses_error = None, f"{exc.code}: {exc}"
        except Exception as exc:
            ses, ses_error = None, f"{type(exc).__name__}: {exc}"
        if ses is not None:
            check = verify_ses_signature(ses, data_hash_expected=sm3_digest(sig_xml))
            for p in check.problems:
                problems.append(Problem(p.code, p.message))
            for p in check.seal.warnings:
                warnings.append(Problem(p.code, p.message))
            seal_loc = X.text(info, "Seal", "BaseLoc")
            if seal_loc:
                try:
                    seal_path = resolve(base, seal_loc, self.files)
                    if self.files.get(seal_path) != ses.seal.der:
                        problems.append(Problem("SEAL_FILE_MISMATCH",
                                                f"{seal_path} differs from the seal inside the signed value"))
                except OfdError as exc:
                    problems.append(Problem("SEAL_FILE_MISMATCH", exc.message))
            expected_prop = "/" + entry.path
            if ses.property_info and ses.property_info.strip() not in (expected_prop, entry.path):
                warnings.append(Problem("PROPERTY_INFO_MISMATCH",
                                        f"propertyInfo {ses.property_info!r} does not name {expected_prop}"))
            s = ses.seal
            seal_report = SealReport(s.name, s.es_id, s.version, s.valid_start, s.valid_end,
                                     _name(s.maker_cert.subject), check.seal.signature_ok,
                                     check.seal.within_validity)
            crypto_ok = check.signature_ok and check.data_hash_ok is True
            fmt = "SES_V4" if ses.family == "v4" else "SES_V1"
            return fmt, crypto_ok, ses.signer_cert, s.maker_cert, seal_report, ses.time_info
        cms_result = self._cms(sig_xml, value, problems)
        if cms_result is not None:
            return cms_result
        if value[:1] == b"\x30" and len(value) > 200 and ses_error:  # SES-sized, not CMS: say why SES failed
            problems.append(Problem("SIGNED_VALUE_MALFORMED", f"SES_Signature does not parse: {ses_error[:300]}"))
            return "unknown", False, None, None, None, None
        return self._raw_sm2(sig_xml, value, problems)

    def _cms(self, sig_xml: bytes, value: bytes, problems: list[Problem]):
        """CMS / GM/T 0010 SignedData (GB/T 35275). The signed content is either Signature.xml
        (detached) or, as ofdrw and others write it, SM3(Signature.xml) encapsulated."""
        from asn1crypto import cms, core

        from sign.crypto import _der
        from sign.verification import cms as vcms
        from sign.verification import crypto as vcrypto

        try:
            items = _der.read_sequence(value)
            oid = core.ObjectIdentifier.load(_der.encode_tlv(*items[0])).dotted
            if oid not in ("1.2.840.113549.1.7.2", "1.2.156.10197.6.1.4.2.2") or items[1][0] != 0xA0:
                return None
            signed = cms.SignedData.load(items[1][1])
            encap = signed["encap_content_info"]["content"]
        except Exception:
            return None
        try:
            native = encap.native
        except Exception:
            native = None
        raw = native if isinstance(native, bytes) else None
        content = sig_xml if raw is None else raw
        if raw is not None and raw not in (sig_xml, sm3_digest(sig_xml)):
            problems.append(Problem("CMS_CONTENT_MISMATCH",
                                    "the encapsulated content is neither Signature.xml nor its SM3 digest"))
        try:
            check = vcms.check_signer(signed, lambda name: vcrypto.digest(name, content), lambda: content)
        except Exception as exc:
            problems.append(Problem("SIGNED_VALUE_MALFORMED", f"CMS SignedData: {type(exc).__name__}: {exc}"))
            return "CMS", False, None, None, None, None
        problems.extend(Problem(p.code, p.message) for p in check.problems)
        ok = check.digest_ok and check.signature_ok and not any(p.code == "CMS_CONTENT_MISMATCH" for p in problems)
        return "CMS", ok, check.signer_cert, None, None, check.signing_time

    def _raw_sm2(self, sig_xml: bytes, value: bytes, problems: list[Problem]):
        from sign.crypto.sm2 import SM2PublicKey, decode_signature, signature_from_raw

        try:
            der = signature_from_raw(value) if len(value) == 64 else value
            decode_signature(der)
        except Exception:
            problems.append(Problem("SIGNED_VALUE_MALFORMED",
                                    "SignedValue is neither an SES_Signature, CMS SignedData nor an SM2 signature"))
            return "unknown", False, None, None, None, None
        candidates = [c for c in self.signer_certs if c.public_key.algorithm == "ec"]
        for cert in candidates:
            try:
                pub = SM2PublicKey.from_der(cert.public_key.dump())
                if pub.verify(der, sig_xml):
                    return "SM2", True, cert, None, None, None
            except Exception:
                continue
        if candidates:
            problems.append(Problem("SIGNATURE_INVALID", "the SM2 signature does not verify with the given certificates"))
        else:
            problems.append(Problem("NO_SIGNER_CERT", "a bare SM2 signature carries no certificate: "
                                                      "give the signer's certificate to verify it"))
        return "SM2", False, None, None, None, None

    def _trust(self, cert, maker_cert, when: Optional[datetime], problems: list[Problem]) -> TrustReport:
        if self.trust is None or cert is None:
            return TrustReport(False)
        from sign.certs.validate import validate_chain

        at = self.at or when
        pool = [*self.intermediates, *self.signer_certs]
        result = validate_chain(cert, pool, trust=self.trust, at=at, crls=self.crls, purpose="signing")
        errors = [Problem(e.code, e.message) for e in result.errors]
        for e in errors:
            problems.append(Problem(f"CHAIN_{e.code}", e.message))
        if maker_cert is not None:
            mres = validate_chain(maker_cert, pool, trust=self.trust, at=at, crls=self.crls, purpose="any")
            for e in mres.errors:
                problems.append(Problem(f"SEAL_MAKER_CHAIN_{e.code}", e.message))
                errors.append(Problem(f"SEAL_MAKER_{e.code}", e.message))
        return TrustReport(True, not errors, tuple(_name(c.subject) for c in result.path), tuple(errors))

    def _stamps(self, info, warnings: list[Problem]) -> tuple[StampReport, ...]:
        out = []
        for st in X.children(info, "StampAnnot"):
            ref = st.get("PageRef", "")
            page = self.doc.page_by_id(ref) if self.doc is not None else None
            try:
                box: Optional[Box] = X.floats(st.get("Boundary"), 4)  # type: ignore[assignment]
            except ValueError:
                box = None
                warnings.append(Problem("STAMP_BOUNDARY_INVALID", f"StampAnnot Boundary {st.get('Boundary')!r}"))
            if page is None and self.doc is not None:
                warnings.append(Problem("STAMP_PAGE_UNKNOWN", f"StampAnnot PageRef {ref!r} names no page"))
            out.append(StampReport(ref, page.index + 1 if page else None, box))
        return tuple(out)
