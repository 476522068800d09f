"""Append a Document Security Store (PAdES B-LT, ETSI EN 319 142-1 §5.4) as an incremental update.

``add_dss(src, dst, material)`` writes, after the original bytes (never rewritten)::

    n 0 obj << /Length .. >> stream <DER certificate> endstream     one per new certificate
    n 0 obj << /Length .. >> stream <DER CRL> endstream             one per new CRL
    n 0 obj << /Type /DSS /Certs [...] /CRLs [...] /OCSPs [...]     existing entries kept
              /VRI << /<SHA-1 of /Contents, upper hex> << /Cert [...] /CRL [...] /TU (D:...) >> >> >>
    catalog (new version) with /DSS n 0 R   (only when the DSS was not already indirect)
    xref table or xref stream (like the file's last section), trailer with /Prev

The material per signature (VRI) is: the certificates inside its CMS and its signature
time-stamp, the extra ``material`` certificates, and every CRL issued by the issuer of one of
them. Document time-stamps get a VRI entry as well (their TSA chain + CRLs), which is what a
renewal needs (B-LTA: the next archive time-stamp covers the evidence for the previous one).
"""
from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from typing import BinaryIO, Union

import pikepdf
from asn1crypto import x509

from sign.ltv.errors import NOT_SIGNED, OUTPUT_ERROR, LtvError
from sign.ltv.material import Material, PdfSignature, pdf_signatures
from sign.pdf.incremental import IncrementalUpdate
from sign.pdf.pipeline import _dict_without, _pdf_date, _same_target
from sign.pdf.structure import PdfStructure

Source = Union[str, "os.PathLike[str]", bytes, BinaryIO]


@dataclass(frozen=True)
class DssResult:
    output: str | None
    certs_added: int
    crls_added: int
    vri_keys: tuple[str, ...]


def add_dss(source: Source, target: Union[str, "os.PathLike[str]", BinaryIO],
            material: Material = Material(), *, when: _dt.datetime | None = None) -> DssResult:
    """Append (or extend) the DSS with ``material`` plus what the signatures embed."""
    data = _read(source)
    st = PdfStructure(data)
    try:
        sigs = pdf_signatures(st.pdf)
        if not sigs:
            raise LtvError(NOT_SIGNED, "the PDF has no signature to add validation data for")
        appended, stats = _build(st, sigs, material, when)
    finally:
        st.close()
    _write(source, target, data, appended)
    out = os.fspath(target) if isinstance(target, (str, os.PathLike)) else None
    return DssResult(out, *stats)


def _read(source: Source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            return fh.read()
    source.seek(0)
    return source.read()


def _write(source: Source, target: Union[str, "os.PathLike[str]", BinaryIO], data: bytes,
           appended: bytes) -> None:
    try:
        if isinstance(target, (str, os.PathLike)):
            if _same_target(source, target):
                with open(target, "r+b") as fh:
                    fh.seek(len(data))
                    fh.truncate()
                    fh.write(appended)
            else:
                with open(target, "wb") as fh:
                    fh.write(data)
                    fh.write(appended)
        else:
            target.seek(0)
            target.truncate()
            target.write(data + appended)
            target.flush()
    except OSError as exc:
        raise LtvError(OUTPUT_ERROR, f"cannot write the output: {exc.strerror}") from None


def _stream(der: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(der) + der + b"\nendstream"


def _refs(nums: list[tuple[int, int]]) -> bytes:
    return b"[" + b" ".join(b"%d %d R" % n for n in nums) + b"]"


def _existing(dss: pikepdf.Dictionary | None, key: str) -> tuple[list[tuple[int, int]], dict[bytes, tuple[int, int]]]:
    refs: list[tuple[int, int]] = []
    by_der: dict[bytes, tuple[int, int]] = {}
    arr = dss.get(key) if dss is not None else None
    for item in arr if isinstance(arr, pikepdf.Array) else ():
        if not item.is_indirect:
            continue
        refs.append(item.objgen)
        try:
            by_der.setdefault(item.read_bytes(), item.objgen)
        except pikepdf.PdfError:
            continue
    return refs, by_der


def _issuer_names(certs: tuple[x509.Certificate, ...]) -> set[bytes]:
    return {c.issuer.dump() for c in certs} | {c.subject.dump() for c in certs}


def _build(st: PdfStructure, sigs: list[PdfSignature], material: Material,
           when: _dt.datetime | None) -> tuple[bytes, tuple[int, int, tuple[str, ...]]]:
    up = IncrementalUpdate(st)
    root = st.root
    old = root.get("/DSS")
    old = old if isinstance(old, pikepdf.Dictionary) else None
    cert_refs, cert_known = _existing(old, "/Certs")
    crl_refs, crl_known = _existing(old, "/CRLs")
    ocsp_refs, _ = _existing(old, "/OCSPs")
    added = [0, 0]

    def put(der: bytes, known: dict[bytes, tuple[int, int]], refs: list[tuple[int, int]], i: int):
        if der not in known:
            num = up.alloc()
            up.add(num, _stream(der))
            known[der] = (num, 0)
            refs.append((num, 0))
            added[i] += 1
        return known[der]

    vri: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
    for sig in sigs:
        certs = (*sig.certs, *material.certs)
        names = _issuer_names(sig.certs) if sig.certs else set()
        c_refs = [put(c.dump(), cert_known, cert_refs, 0) for c in _unique(certs)]
        relevant = [c for c in material.crls if c.issuer.dump() in names] + list(sig.crls)
        r_refs = [put(c.dump(), crl_known, crl_refs, 1) for c in _unique(relevant)]
        vri[sig.vri_key] = (c_refs, r_refs)
    for c in material.certs:
        put(c.dump(), cert_known, cert_refs, 0)
    for c in material.crls:
        put(c.dump(), crl_known, crl_refs, 1)

    tu = _pdf_date(when or _dt.datetime.now(_dt.timezone.utc))
    old_vri = old.get("/VRI") if old is not None else None
    entries: list[bytes] = []
    if isinstance(old_vri, pikepdf.Dictionary):
        for key in old_vri.keys():
            if key[1:] not in vri:
                entries.append(pikepdf.Name(key).unparse() + b" " + old_vri[key].unparse(resolved=False))
    for key, (c_refs, r_refs) in vri.items():
        body = b"<< /Type /VRI /Cert " + _refs(c_refs)
        if r_refs:
            body += b" /CRL " + _refs(r_refs)
        entries.append(b"/" + key.encode() + b" " + body + b" /TU " + tu + b" >>")
    dss_body = (b"<< /Type /DSS /Certs " + _refs(cert_refs) + b" /CRLs " + _refs(crl_refs)
                + (b" /OCSPs " + _refs(ocsp_refs) if ocsp_refs else b"")
                + b" /VRI << " + b" ".join(entries) + b" >> >>")
    if old is not None and old.is_indirect:
        num, gen = old.objgen
        up.add(num, dss_body, gen)
    else:
        num = up.alloc()
        up.add(num, dss_body)
        rnum, rgen = root.objgen
        up.add(rnum, _dict_without(root, "/DSS") + b"/DSS %d 0 R >>" % num, rgen)
    appended, _ = up.serialize()
    return appended, (added[0], added[1], tuple(vri))


def _unique(items):
    seen: dict[bytes, object] = {}
    for item in items:
        seen.setdefault(item.dump(), item)
    return list(seen.values())

