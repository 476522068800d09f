"""OFD long-term validation: archive parts with validation material and SM2/SM3 time-stamps.

Structure (documented in ``docs/ltv.md``), next to the document's ``Signatures.xml``::

    Doc_0/Signs/Archive/archive_N.xml   ltv:Archive — SM3 digests of every file of the package
                                        (earlier archives and their tokens included), the
                                        validation material (certificates, CRLs: DER base64),
                                        a pointer to its token
    Doc_0/Signs/Archive/archive_N.tsr   RFC 3161 token (DER) over SM3(archive_N.xml bytes),
                                        from an SM2 TSA (SM2 signature, SM3 digests)

``archive_N+1`` covers ``archive_N.xml`` and ``archive_N.tsr``: the chain of evidence. The
archive is not listed in Signatures.xml (it is not a signature); the ordinary OFD verifier
therefore reports its files as ``FILE_ADDED``, which :func:`verify_ofd_at` accepts only for
well-formed archive parts.
"""
from __future__ import annotations

import base64
import datetime as _dt
import posixpath
import re
from dataclasses import dataclass
from typing import Any, Mapping

from asn1crypto import cms, crl, x509
from lxml import etree

from sign.crypto.sm3 import sm3_digest
from sign.ltv import evidence as ev
from sign.ltv.errors import ARCHIVE_ERROR, NOT_SIGNED, TIMESTAMP_ERROR, LtvError
from sign.ltv.levels import LevelFacts, classify
from sign.ltv.material import Material, token_certificates
from sign.ofd.errors import OfdError
from sign.ofd.package import parse_package, read_zip, write_zip
from sign.timestamps import TimestampError, tst_info
from sign.verification.report import Problem

NS = "urn:esign:ltv:ofd:1"
SM3_OID = "1.2.156.10197.1.401"
_NAME = re.compile(r"archive_(\d+)\.xml$")


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


@dataclass(frozen=True)
class Archive:
    index: int
    xml_path: str
    tsr_path: str
    xml: bytes
    created: str
    references: tuple[tuple[str, bytes], ...]     # (package path, SM3 digest)
    material: Material
    token: cms.ContentInfo | None
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class ArchiveResult:
    data: bytes
    index: int
    xml_path: str
    gen_time: _dt.datetime
    files_covered: int
    certs: int
    crls: int


def _signs_dir(files: Mapping[str, bytes]) -> str:
    try:
        pkg = parse_package(files)
    except OfdError as exc:
        raise LtvError(ARCHIVE_ERROR, f"not a readable OFD: {exc.message}") from None
    sigs = pkg.document.signatures_path
    if sigs is None:
        raise LtvError(NOT_SIGNED, "the OFD has no signature to archive")
    return posixpath.dirname(sigs)


def _archive_dir(files: Mapping[str, bytes]) -> str:
    return _signs_dir(files) + "/Archive"


def archive_names(data: bytes) -> list[str]:
    files = read_zip(data)
    return sorted(n for n in files if "/Archive/archive_" in n and n.endswith(".xml"))


def read_archives(files: Mapping[str, bytes]) -> list[Archive]:
    """The archives of the package, by index (malformed ones carry ``problems``)."""
    out = []
    for name in sorted(files):
        m = _NAME.search(name)
        if not m or "/Archive/" not in name:
            continue
        out.append(_parse(int(m.group(1)), name, files))
    out.sort(key=lambda a: a.index)
    return out


def _parse(index: int, name: str, files: Mapping[str, bytes]) -> Archive:
    xml = files[name]
    tsr_path = name[:-4] + ".tsr"
    problems: list[Problem] = []
    refs: list[tuple[str, bytes]] = []
    certs: list[x509.Certificate] = []
    crls: list[crl.CertificateList] = []
    created = ""
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
        if root.tag != _q("Archive"):
            raise ValueError(f"root element is {root.tag}")
        created = root.get("Created", "")
        refs_el = root.find(_q("References"))
        if refs_el is None or refs_el.get("CheckMethod") != SM3_OID:
            raise ValueError("References with CheckMethod SM3 expected")
        for ref in refs_el.findall(_q("Reference")):
            refs.append((ref.get("FileRef", "").lstrip("/"),
                         base64.b64decode(ref.findtext(_q("CheckValue")) or "")))
        vd = root.find(_q("ValidationData"))
        for el in vd.findall(_q("Certificate")) if vd is not None else ():
            certs.append(x509.Certificate.load(base64.b64decode(el.text or "")))
        for el in vd.findall(_q("CRL")) if vd is not None else ():
            crls.append(crl.CertificateList.load(base64.b64decode(el.text or "")))
        for item in (*certs, *crls):
            item.native  # noqa: B018 - parse now
        ts = root.find(_q("TimeStamp"))
        if ts is not None and ts.get("FileRef"):
            tsr_path = ts.get("FileRef").lstrip("/")
    except Exception as exc:  # noqa: BLE001
        problems.append(Problem("ARCHIVE_MALFORMED", f"{name}: {type(exc).__name__}: {exc}"))
    token = None
    if tsr_path in files:
        try:
            token = cms.ContentInfo.load(files[tsr_path])
            tst_info(token)
        except Exception as exc:  # noqa: BLE001
            token = None
            problems.append(Problem("ARCHIVE_TOKEN_MALFORMED", f"{tsr_path}: {exc}"))
    else:
        problems.append(Problem("ARCHIVE_TOKEN_MISSING", f"{tsr_path} is missing"))
    material = Material().plus((*certs, *(token_certificates(token) if token else ())), crls)
    return Archive(index, name, tsr_path, xml, created, tuple(refs), material, token, tuple(problems))


def _ses_certs(files: Mapping[str, bytes]) -> list[x509.Certificate]:
    """Signer (and seal maker) certificates of the SES signatures in the package."""
    from sign.seals import parse_ses_signature

    out = []
    for name, content in files.items():
        if not name.endswith(".dat") or "/Signs/" not in name:
            continue
        try:
            ses = parse_ses_signature(content)
        except Exception:  # noqa: BLE001 - not an SES_Signature
            continue
        out.append(ses.signer_cert)
        maker = getattr(ses.seal, "maker_cert", None)
        if isinstance(maker, x509.Certificate):
            out.append(maker)
    return out


def add_archive(data: bytes, stamper: Any, material: Material = Material(), *,
                now: _dt.datetime | None = None) -> ArchiveResult:
    """A new ``archive_N`` over the whole package (earlier archives included)."""
    files = dict(read_zip(bytes(data)))
    adir = _archive_dir(files)
    existing = read_archives(files)
    index = max((a.index for a in existing), default=0) + 1
    xml_path, tsr_path = f"{adir}/archive_{index}.xml", f"{adir}/archive_{index}.tsr"
    mat = Material().plus(_ses_certs(files)).merged(material)
    for a in existing:
        mat = mat.plus(token_certificates(a.token) if a.token else ())
    when = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
    root = etree.Element(_q("Archive"), nsmap={"ltv": NS})
    root.set("Version", "1")
    root.set("Index", str(index))
    root.set("Created", when.strftime("%Y%m%dT%H%M%SZ"))
    refs = etree.SubElement(root, _q("References"))
    refs.set("CheckMethod", SM3_OID)
    covered = sorted(files, key=lambda n: (n != "OFD.xml", n))
    for name in covered:
        ref = etree.SubElement(refs, _q("Reference"))
        ref.set("FileRef", "/" + name)
        etree.SubElement(ref, _q("CheckValue")).text = base64.b64encode(sm3_digest(files[name])).decode()
    vd = etree.SubElement(root, _q("ValidationData"))
    for c in mat.certs:
        etree.SubElement(vd, _q("Certificate")).text = base64.b64encode(c.dump()).decode()
    for c in mat.crls:
        etree.SubElement(vd, _q("CRL")).text = base64.b64encode(c.dump()).decode()
    ts = etree.SubElement(root, _q("TimeStamp"))
    ts.set("FileRef", "/" + tsr_path)
    ts.set("HashAlgorithm", SM3_OID)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    try:
        token = stamper.timestamp(sm3_digest(xml), "sm3")
    except TimestampError as exc:
        raise LtvError(TIMESTAMP_ERROR, str(exc)) from None
    files[xml_path] = xml
    files[tsr_path] = token.dump()
    return ArchiveResult(write_zip(files), index, xml_path, tst_info(token)["gen_time"].native,
                         len(covered), len(mat.certs), len(mat.crls))


# ------------------------------------------------------------------------------ verification
def verify_ofd_at(data: bytes, *, trust: Any, at: _dt.datetime, extra: Material = Material()):
    from sign.ltv.verify_at import LtvReport
    from sign.ofd.verify import verify_ofd

    try:
        files = read_zip(bytes(data))
    except OfdError as exc:
        return LtvReport("ofd", at, (), (), (Problem(exc.code, exc.message),))
    archives = read_archives(files)
    own = {p for a in archives for p in (a.xml_path, a.tsr_path)}
    problems: list[Problem] = []
    items = []
    for a in archives:
        changed = [p for p, d in a.references if p not in files or sm3_digest(files[p]) != d]
        for p in changed:
            problems.append(Problem("ARCHIVE_REF_CHANGED", f"{p} changed after {a.xml_path} was made"))
        imprint_ok = False
        if a.token is not None:
            imprint = tst_info(a.token)["message_imprint"]
            imprint_ok = (imprint["hash_algorithm"]["algorithm"].native == "sm3"
                          and imprint["hashed_message"].native == sm3_digest(a.xml))
            if not imprint_ok:
                problems.append(Problem("ARCHIVE_TOKEN_MISMATCH", f"{a.tsr_path} does not cover {a.xml_path}"))
        problems += a.problems
        items.append(ev.TimestampItem(f"archive_{a.index}", "archive", a.index, a.token,
                                      imprint_ok and not changed and not a.problems))
    if archives:
        last = archives[-1]
        covered = {p for p, _ in last.references} | {last.xml_path, last.tsr_path}
        for name in sorted(set(files) - covered):
            problems.append(Problem("FILE_ADDED_AFTER_ARCHIVE",
                                    f"{name} was added after the last archive ({last.xml_path})"))
    material = Material().plus(_ses_certs(files)).merged(extra)
    for a in archives:
        material = material.merged(a.material)
    proofs = ev.prove(items, at=at, trust=trust, material=material)
    base = verify_ofd(bytes(data))
    problems += list(base.problems)
    reports = [_signature(s, files, archives, own, proofs, material, trust, at) for s in base.signatures]
    if not base.signatures and not base.problems:
        problems.append(Problem("NOT_SIGNED", "the document has no signature"))
    return LtvReport("ofd", at, tuple(reports), tuple(sorted(proofs.values(), key=lambda e: e.position)),
                     tuple(problems))


def _signature(s, files, archives: list[Archive], own: set[str], proofs, material: Material, trust,
               at: _dt.datetime):
    from sign.ltv.verify_at import LtvSignatureReport
    from sign.seals import parse_ses_signature

    problems = [Problem(p.code, p.message) for p in s.problems
                if not (p.code == "FILE_ADDED" and p.message.split(" ", 1)[0] in own)]
    intact = s.crypto_valid and all(r.status == "ok" for r in s.references) and not problems
    reasons: list[str] = []
    cert = None
    try:
        cert = parse_ses_signature(files[s.signed_value_path]).signer_cert
    except Exception:  # noqa: BLE001
        problems.append(Problem("CERT_MISSING", "no SES_Signature signer certificate"))
    mine = {s.path, s.signed_value_path}
    covering = [a for a in archives if mine <= {p for p, _ in a.references}]
    cov_ev = [proofs[f"archive_{a.index}"] for a in covering]
    for e in cov_ev:
        if not e.trusted:
            reasons.append(next((p.message for p in e.problems), f"{e.name} is not trusted"))
    cands = sorted((e.gen_time, e.name) for e in cov_ev if e.trusted and e.gen_time is not None)
    existence = cands[0] if cands else None
    when, by = existence if existence else (at, None)
    path_valid, path = False, []
    if cert is not None:
        result = ev.validate_signer(cert, at=when, trust=trust, material=material)
        path_valid, path = result.ok, list(result.path)
        if result.ok:
            reasons.append(f"signer path valid at {when.isoformat()}"
                           + (f" (existence proven by {by})" if by else " (verification time)"))
        else:
            reasons.append(f"signer path NOT valid at {when.isoformat()}: "
                           + "; ".join(f"{e.code} {e.message}" for e in result.errors))
            problems += [Problem(f"CHAIN_{e.code}", e.message) for e in result.errors]
    if not intact:
        reasons.append("signature not intact: " + ", ".join(p.code for p in problems))
    missing = ev.missing_material(path, material, trust) if path else ["signer path"]
    archived = False
    if missing:
        reasons.append("validation material missing: " + ", ".join(missing))
    else:
        for a, e in zip(covering, cov_ev):
            if not (e.trusted and e.gm):
                continue
            upto = Material().plus([cert] if cert is not None else [])
            for b in archives:
                if b.index <= a.index:
                    upto = upto.merged(b.material)
            if not ev.missing_material(path, upto, trust):
                archived = True
                reasons.append(f"validation material covered by {e.name} "
                               f"({e.gen_time.isoformat() if e.gen_time else '?'})")
                break
    level = classify(LevelFacts(True, intact and path_valid, existence is not None, not missing, archived))
    return LtvSignatureReport(f"{s.id}:{s.path}", "sm2", cert.subject.human_friendly if cert else None,
                              s.signing_time, existence[0] if existence else None,
                              existence[1] if existence else None, when, intact, path_valid, level,
                              tuple(reasons), tuple(problems))
