"""Validation material: certificates and CRLs, embedded in PDFs (CMS, tokens, DSS) or given.

Everything is keyed by DER so the same certificate arriving from several places counts once.
"""
from __future__ import annotations

import hashlib
import pathlib
from dataclasses import dataclass, field
from typing import Any, Iterable

import pikepdf
from asn1crypto import cms, crl, x509

from sign.certs import oids  # noqa: F401  (SM2/SM3 OIDs)
from sign.certs.pem import load_certificates, load_crls
from sign.ltv.errors import BAD_MATERIAL, LtvError
from sign.verification import cms as vcms
from sign.verification.diff import collect_fields


@dataclass(frozen=True)
class Material:
    """Certificates and CRLs (deduplicated, order kept)."""

    certs: tuple[x509.Certificate, ...] = ()
    crls: tuple[crl.CertificateList, ...] = ()

    def plus(self, certs: Iterable[x509.Certificate] = (),
             crls: Iterable[crl.CertificateList] = ()) -> "Material":
        return Material(_dedupe((*self.certs, *certs)), _dedupe((*self.crls, *crls)))

    def merged(self, other: "Material") -> "Material":
        return self.plus(other.certs, other.crls)


def _dedupe(items: Iterable[Any]) -> tuple[Any, ...]:
    seen: dict[bytes, Any] = {}
    for item in items:
        seen.setdefault(item.dump(), item)
    return tuple(seen.values())


def load_material(cert_files: Iterable[str | pathlib.Path] = (),
                  crl_files: Iterable[str | pathlib.Path] = ()) -> Material:
    """Certificates and CRLs from PEM or DER files (``bad_material`` when unreadable)."""
    certs: list[x509.Certificate] = []
    crls: list[crl.CertificateList] = []
    try:
        for path in cert_files:
            certs += load_certificates(pathlib.Path(path).read_bytes())
        for path in crl_files:
            crls += load_crls(pathlib.Path(path).read_bytes())
    except Exception as exc:  # noqa: BLE001 - any parse failure is the caller's input
        raise LtvError(BAD_MATERIAL, f"cannot read validation material: {exc}") from None
    return Material(_dedupe(certs), _dedupe(crls))


def token_certificates(token: cms.ContentInfo) -> tuple[x509.Certificate, ...]:
    try:
        return vcms.certificates_of(token["content"])
    except Exception:  # noqa: BLE001
        return ()


@dataclass(frozen=True)
class PdfSignature:
    """One signature field of a PDF with its value dictionary's essentials."""

    name: str
    is_doc_timestamp: bool
    contents: bytes                     # the /Contents string (zero padding included)
    byte_range: tuple[int, ...]
    signed_data: cms.SignedData | None
    signer_info: cms.SignerInfo | None
    token: cms.ContentInfo | None       # doc timestamp: the token; signature: its signature timestamp
    certs: tuple[x509.Certificate, ...] = field(default=(), hash=False)
    crls: tuple[crl.CertificateList, ...] = field(default=(), hash=False)

    @property
    def signed_end(self) -> int:
        br = self.byte_range
        return br[2] + br[3] if len(br) == 4 else 0

    @property
    def vri_key(self) -> str:
        """PAdES VRI key: upper-case hex SHA-1 of the /Contents bytes."""
        return hashlib.sha1(self.contents).hexdigest().upper()


def pdf_signatures(pdf: pikepdf.Pdf) -> list[PdfSignature]:
    """Signed signature fields, in file order (by the end of their byte range)."""
    out: list[PdfSignature] = []
    for name, f in collect_fields(pdf, False).items():
        v = f.obj.get("/V") if f.is_signature else None
        if not isinstance(v, pikepdf.Dictionary) or "/Contents" not in v:
            continue
        contents = bytes(v.Contents)
        try:
            br = tuple(int(x) for x in v.get("/ByteRange", []))
        except (TypeError, ValueError):
            br = ()
        is_ts = v.get("/Type") == pikepdf.Name("/DocTimeStamp") or \
            v.get("/SubFilter") == pikepdf.Name("/ETSI.RFC3161")
        signed = si = token = None
        certs: tuple[x509.Certificate, ...] = ()
        crls: tuple[crl.CertificateList, ...] = ()
        try:
            if is_ts:
                token = cms.ContentInfo.load(vcms.der_prefix(contents))
                signed = token["content"]
                certs = vcms.certificates_of(signed)
            else:
                signed = vcms.load_signed_data(contents)
                si = signed["signer_infos"][0]
                token = vcms.signature_timestamp(si)
                certs = vcms.certificates_of(signed) + (token_certificates(token) if token else ())
                crls = vcms.crls_of(signed, si)
        except Exception:  # noqa: BLE001 - reported by the verifier as malformed
            pass
        out.append(PdfSignature(name, is_ts, contents, br, signed, si, token, certs, crls))
    out.sort(key=lambda s: s.signed_end)
    return out


def dss_material(pdf: pikepdf.Pdf) -> Material:
    """Certificates and CRLs of the document's DSS (unreadable entries are skipped)."""
    dss = pdf.Root.get("/DSS")
    if not isinstance(dss, pikepdf.Dictionary):
        return Material()
    return Material(_streams(dss.get("/Certs"), x509.Certificate.load),
                    _streams(dss.get("/CRLs"), crl.CertificateList.load))


def _streams(arr: Any, load: Any) -> tuple[Any, ...]:
    out = []
    for item in arr if isinstance(arr, pikepdf.Array) else ():
        try:
            obj = load(item.read_bytes())
            obj.native  # noqa: B018 - parse now
            out.append(obj)
        except Exception:  # noqa: BLE001
            continue
    return _dedupe(out)


def embedded_material(pdf: pikepdf.Pdf, sigs: Iterable[PdfSignature] | None = None) -> Material:
    """Everything the PDF carries: DSS plus the certificates/CRLs inside its signatures."""
    m = dss_material(pdf)
    for s in sigs if sigs is not None else pdf_signatures(pdf):
        m = m.plus(s.certs, s.crls)
    return m
