"""Seal-sign an OFD (GB/T 33190 §18 + GB/T 38540): 电子签章.

What :func:`sign_ofd` adds to the first document (``Doc_0``)::

    OFD.xml                      DocBody/Signatures -> /Doc_0/Signs/Signatures.xml (first signature only)
    Doc_0/Signs/Signatures.xml   + <ofd:Signature ID=N Type="Seal" BaseLoc=".../Signature.xml"/>, MaxSignId
    Doc_0/Signs/Sign_K/Seal.esl        the SESeal (DER), itself protected by a Reference
    Doc_0/Signs/Sign_K/Signature.xml   SignedInfo: Provider, SignatureMethod 1.2.156.10197.1.501,
                                       SignatureDateTime, References CheckMethod 1.2.156.10197.1.401
                                       (base64 SM3 of every file but Signatures.xml and this
                                       signature's own Signature.xml/SignedValue.dat),
                                       StampAnnot (PageRef, Boundary mm), Seal/BaseLoc; SignedValue
    Doc_0/Signs/Sign_K/SignedValue.dat SES_Signature: TBS_Sign{version, SESeal, timeInfo,
                                       dataHash = SM3(Signature.xml bytes), propertyInfo =
                                       "/Doc_0/Signs/Sign_K/Signature.xml"}, signer cert, SM2 signature
                                       over DER(TBS_Sign) (default user ID) — as ofdrw's SESV4Container
                                       and GB/T 38540 do.

Signatures.xml stays unprotected so that later signatures can be added; every earlier
signature's files are covered by the new one's References.

The SES_Signature is built by :mod:`sign.seals.gbt38540` (V4 for GB/T 38540 seals, V1 for GM/T
0031 ones); signers are an SM2 :class:`~sign.certs.identity.Identity`, an ``SM2PrivateKey`` with
``signer_cert``, or any :class:`sign.signers.Signer` (HSM hooks; V4 seals only).
"""
from __future__ import annotations

import base64
import posixpath
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, Optional

from asn1crypto import core, x509
from lxml import etree

from sign.crypto.sm2 import SM2PrivateKey
from sign.crypto.sm3 import sm3_digest
from sign.ofd import xml as X
from sign.ofd.content import find_keyword
from sign.ofd.errors import BAD_PLACEMENT, BAD_SEAL, KEYWORD_NOT_FOUND, SIGNER_ERROR, OfdError
from sign.ofd.package import Box, OfdPackage, parse_package, read_zip, write_zip

SM2_SM3_OID = "1.2.156.10197.1.501"
SM3_OID = "1.2.156.10197.1.401"
PROVIDER = {"ProviderName": "esign-ofd", "Company": "esign", "Version": "1.0"}


@dataclass(frozen=True)
class StampPlacement:
    """Where the seal appears. ``box`` = (x, y, w, h) in mm from the page's top-left corner on
    ``page`` (1-based); or ``keyword``: centred on the keyword (+ ``offset`` mm) with ``size``
    (default: the seal picture's size), on ``page`` only when given. ``occurrence`` picks which
    hits get a stamp."""

    page: Optional[int] = None
    box: Optional[Box] = None
    keyword: Optional[str] = None
    occurrence: Literal["first", "last", "all"] = "first"
    offset: tuple[float, float] = (0.0, 0.0)
    size: Optional[tuple[float, float]] = None


@dataclass(frozen=True)
class Stamp:
    page: int          # 1-based
    page_id: str
    box: Box


@dataclass(frozen=True)
class SignedOfd:
    data: bytes                  # the signed package
    signature_id: str
    signature_path: str          # Doc_0/Signs/Sign_K/Signature.xml
    stamps: tuple[Stamp, ...]


def sign_ofd(data: bytes, signer: Any, seal: bytes, placement: Optional[StampPlacement] = None, *,
             signer_cert: Optional[x509.Certificate] = None, time: Optional[datetime] = None,
             provider: Optional[dict[str, str]] = None) -> SignedOfd:
    """Add one seal signature (Type="Seal") to the OFD ``data``; see the module docstring.

    ``placement=None`` adds no StampAnnot (an invisible seal signature)."""
    from sign.seals import SealError, parse_seal

    files = read_zip(bytes(data))
    pkg = parse_package(files)
    doc = pkg.document
    try:
        seal_info = parse_seal(bytes(seal))
    except SealError as exc:
        raise OfdError(BAD_SEAL, f"not a GB/T 38540 / GM/T 0031 seal: {exc}") from None
    cert = _signer_cert(signer, signer_cert)
    if not seal_info.is_signer_cert(cert):
        raise OfdError(BAD_SEAL, "the signer certificate is not listed in the seal (certList)")
    when = (time or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    stamps = _place(pkg, placement, seal_info) if placement is not None else []

    doc_dir = posixpath.dirname(doc.path)
    files = dict(files)
    sigs_path = doc.signatures_path
    if sigs_path is None:
        sigs_path = posixpath.join(doc_dir, "Signs", "Signatures.xml")
        files["OFD.xml"] = _add_signatures_to_ofd_xml(pkg, "/" + sigs_path)
        sigs_root = etree.Element(X.q("Signatures"), nsmap=X.NSMAP)
        etree.SubElement(sigs_root, X.q("MaxSignId")).text = "0"
    else:
        sigs_root = pkg.xml(sigs_path)
    sign_id, sign_dir = _next_signature(files, sigs_root, posixpath.dirname(sigs_path))
    seal_path = f"{sign_dir}/Seal.esl"
    sig_xml_path = f"{sign_dir}/Signature.xml"
    value_path = f"{sign_dir}/SignedValue.dat"
    files[seal_path] = seal_info.der

    protected = [n for n in files if n not in (sigs_path, sig_xml_path, value_path)]
    protected.sort(key=lambda n: (n != "OFD.xml", n))
    sig_xml = _signature_xml(files, protected, stamps, "/" + seal_path, "/" + value_path, when,
                             provider or PROVIDER)
    signed_value = _ses_signature(seal_info, sm3_digest(sig_xml), signer, cert, "/" + sig_xml_path, when)
    files[sig_xml_path] = sig_xml
    files[value_path] = signed_value
    entry = etree.SubElement(sigs_root, X.q("Signature"))
    entry.set("ID", sign_id)
    entry.set("Type", "Seal")
    entry.set("BaseLoc", "/" + sig_xml_path)
    max_id = X.child(sigs_root, "MaxSignId")
    if max_id is None:
        max_id = etree.Element(X.q("MaxSignId"))
        sigs_root.insert(0, max_id)
    max_id.text = sign_id
    files[sigs_path] = X.serialize(sigs_root)
    return SignedOfd(write_zip(files), sign_id, sig_xml_path, tuple(stamps))


# ------------------------------------------------------------------------------ pieces
def _signer_cert(signer: Any, signer_cert: Optional[x509.Certificate]) -> x509.Certificate:
    cert = signer_cert or getattr(signer, "cert", None) or getattr(signer, "signing_cert", None)
    if not isinstance(cert, x509.Certificate):
        raise OfdError(SIGNER_ERROR, "no signer certificate (give an Identity, a Signer or signer_cert)")
    if cert.public_key.algorithm != "ec":
        raise OfdError(SIGNER_ERROR, "OFD seal signatures need an SM2 certificate")
    return cert


def _add_signatures_to_ofd_xml(pkg: OfdPackage, loc: str) -> bytes:
    root = pkg.xml("OFD.xml")
    body = X.child(root, "DocBody")
    assert body is not None  # parse_package checked it
    ns = etree.QName(body).namespace
    el = etree.Element(f"{{{ns}}}Signatures" if ns else "Signatures")
    el.text = loc
    anchor = X.child(body, "DocRoot")
    versions = X.child(body, "Versions")
    (versions if versions is not None else anchor).addnext(el)  # schema order: DocRoot, Versions, Signatures
    return X.serialize(root)


def _next_signature(files: dict[str, bytes], sigs_root: etree._Element, signs_dir: str) -> tuple[str, str]:
    ids = [X.text(sigs_root, "MaxSignId") or ""] + [s.get("ID", "") for s in X.children(sigs_root, "Signature")]
    nums = [int(m.group()) for i in ids for m in [re.search(r"\d+", i)] if m]
    sign_id = str(max(nums, default=0) + 1)
    k = 0
    while any(n.startswith(f"{signs_dir}/Sign_{k}/") for n in files):
        k += 1
    return sign_id, f"{signs_dir}/Sign_{k}"


def _place(pkg: OfdPackage, p: StampPlacement, seal_info: Any) -> list[Stamp]:
    doc = pkg.document
    if p.box is not None and p.keyword is not None:
        raise OfdError(BAD_PLACEMENT, "give a box or a keyword, not both")
    size = p.size or (float(seal_info.picture_width_mm or 40), float(seal_info.picture_height_mm or 40))
    if size[0] <= 0 or size[1] <= 0:
        raise OfdError(BAD_PLACEMENT, "stamp size must be positive")
    if p.keyword is None:
        page = doc.page(p.page or 1)
        box = p.box or (20.0, 20.0, size[0], size[1])
        if box[2] <= 0 or box[3] <= 0:
            raise OfdError(BAD_PLACEMENT, "stamp box must have a positive width and height")
        return [Stamp(page.index + 1, page.id, tuple(float(v) for v in box))]  # type: ignore[arg-type]
    if p.page is not None:
        doc.page(p.page)
    hits = find_keyword(pkg, p.keyword, page=p.page)
    if not hits:
        raise OfdError(KEYWORD_NOT_FOUND, f"keyword {p.keyword!r} not found"
                       + (f" on page {p.page}" if p.page else ""))
    chosen = hits[:1] if p.occurrence == "first" else hits[-1:] if p.occurrence == "last" else hits
    stamps = []
    for hit in chosen:
        cx = hit.box[0] + hit.box[2] / 2 + p.offset[0]
        cy = hit.box[1] + hit.box[3] / 2 + p.offset[1]
        page = doc.page(hit.page)
        stamps.append(Stamp(hit.page, page.id, (round(cx - size[0] / 2, 3), round(cy - size[1] / 2, 3),
                                                size[0], size[1])))
    return stamps


def _fmt(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".")


def _signature_xml(files: dict[str, bytes], protected: list[str], stamps: list[Stamp], seal_loc: str,
                   value_loc: str, when: datetime, provider: dict[str, str]) -> bytes:
    root = etree.Element(X.q("Signature"), nsmap=X.NSMAP)
    info = etree.SubElement(root, X.q("SignedInfo"))
    prov = etree.SubElement(info, X.q("Provider"))
    for k, v in provider.items():
        prov.set(k, v)
    etree.SubElement(info, X.q("SignatureMethod")).text = SM2_SM3_OID
    etree.SubElement(info, X.q("SignatureDateTime")).text = when.strftime("%Y%m%d%H%M%SZ")
    refs = etree.SubElement(info, X.q("References"))
    refs.set("CheckMethod", SM3_OID)
    for name in protected:
        ref = etree.SubElement(refs, X.q("Reference"))
        ref.set("FileRef", "/" + name)
        etree.SubElement(ref, X.q("CheckValue")).text = base64.b64encode(sm3_digest(files[name])).decode()
    for i, st in enumerate(stamps, 1):
        annot = etree.SubElement(info, X.q("StampAnnot"))
        annot.set("ID", str(i))
        annot.set("PageRef", st.page_id)
        annot.set("Boundary", " ".join(_fmt(v) for v in st.box))
    seal = etree.SubElement(info, X.q("Seal"))
    etree.SubElement(seal, X.q("BaseLoc")).text = seal_loc
    etree.SubElement(root, X.q("SignedValue")).text = value_loc
    return X.serialize(root)


def _ses_signature(seal_info: Any, data_hash: bytes, signer: Any, cert: x509.Certificate,
                   property_info: str, when: datetime) -> bytes:
    from sign.seals import SealError, make_ses_signature

    key = getattr(signer, "key", signer)
    try:
        if isinstance(key, SM2PrivateKey):
            return make_ses_signature(seal_info.der, data_hash, key, signer_cert=cert,
                                      property_info=property_info, time=when)
        if callable(getattr(signer, "sign_raw", None)):
            return _ses_v4_with_signer(seal_info, data_hash, signer, cert, property_info, when)
    except SealError as exc:
        raise OfdError(SIGNER_ERROR, f"SES_Signature: {exc}") from None
    except OfdError:
        raise
    except Exception as exc:  # a signer hook failing (HSM, network...)
        raise OfdError(SIGNER_ERROR, f"signing failed: {type(exc).__name__}: {exc}") from None
    raise OfdError(SIGNER_ERROR, "signer must be an SM2 Identity, an SM2PrivateKey or a sign.signers.Signer")


def _ses_v4_with_signer(seal_info: Any, data_hash: bytes, signer: Any, cert: x509.Certificate,
                        property_info: str, when: datetime) -> bytes:
    """SES_Signature V4 for signers that only expose ``sign_raw(data, "sm3")`` (HSMs)."""
    from sign.seals.gbt38540 import SM2_WITH_SM3, SESealV4, SESSignatureV4, TBSSignV4

    if seal_info.family != "v4":
        raise OfdError(BAD_SEAL, "external signers need a GB/T 38540 (V4) seal")
    tbs = TBSSignV4({"version": seal_info.version, "eseal": SESealV4.load(seal_info.der),
                     "time_info": core.GeneralizedTime(when), "data_hash": bytes(data_hash),
                     "property_info": property_info})
    sig = signer.sign_raw(tbs.dump(), "sm3")
    return SESSignatureV4({"to_sign": tbs, "cert": cert.dump(), "signature_alg_id": SM2_WITH_SM3,
                           "signature": sig}).dump()
