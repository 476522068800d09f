"""CMS SignedData verification for PDF signatures (detached, CAdES, GM/T 0010) and RFC 3161 tokens."""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
from typing import Callable, Iterable

from asn1crypto import cms, crl, tsp, x509

from . import crypto
from .report import Problem

GM_SIGNED_DATA = "1.2.156.10197.6.1.4.2.2"  # GM/T 0010 signedData content type
SIGNING_CERT_V2 = "1.2.840.113549.1.9.16.2.47"
SIGNING_CERT_V1 = "1.2.840.113549.1.9.16.2.12"


@dataclasses.dataclass(frozen=True)
class CmsCheck:
    """Result of verifying one SignerInfo against externally computed content."""

    signer_cert: x509.Certificate | None
    certificates: tuple[x509.Certificate, ...]
    algorithm: str | None
    digest_algorithm: str | None
    digest_ok: bool
    signature_ok: bool
    signing_time: _dt.datetime | None
    signature_value: bytes
    signer_info: cms.SignerInfo | None
    problems: tuple[Problem, ...]


def load_signed_data(contents: bytes) -> cms.SignedData:
    """Parse a (possibly zero-padded) CMS ContentInfo; raises ValueError when it is not SignedData."""
    info = cms.ContentInfo.load(der_prefix(contents))
    if info["content_type"].dotted == GM_SIGNED_DATA:  # [0] EXPLICIT SignedData, GM/T 0010 OID
        return cms.SignedData.load(info["content"].contents)
    if info["content_type"].native != "signed_data":
        raise ValueError(f"content type is {info['content_type'].native}, not signed_data")
    return info["content"]


def der_prefix(data: bytes) -> bytes:
    """The leading DER element of ``data`` (PDF /Contents are zero-padded); ValueError if bad."""
    if len(data) < 2 or data[0] != 0x30:
        raise ValueError("not a DER SEQUENCE")
    first = data[1]
    if first == 0x80:  # BER indefinite length: asn1crypto stops at the end-of-contents marker
        return data
    if first < 0x80:
        length, header = first, 2
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or len(data) < 2 + n:
            raise ValueError("bad DER length")
        length, header = int.from_bytes(data[2:2 + n], "big"), 2 + n
    if header + length > len(data):
        raise ValueError("truncated DER")
    return data[:header + length]


_INTERNED: dict[bytes, x509.Certificate] = {}


def certificates_of(signed: cms.SignedData) -> tuple[x509.Certificate, ...]:
    """The certificates of the CMS, interned by DER: the same CA certificate arrives in every
    signature, and reusing one parsed object keeps asn1crypto's parsed/prepared names."""
    certs = signed["certificates"]
    if not certs:
        return ()
    out = []
    for choice in certs:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        der = cert.dump()
        known = _INTERNED.get(der)
        if known is None:
            if len(_INTERNED) > 4096:
                _INTERNED.clear()
            known = _INTERNED[der] = cert
        out.append(known)
    return tuple(out)


def find_signer_cert(sid: cms.SignerIdentifier,
                     certs: Iterable[x509.Certificate]) -> x509.Certificate | None:
    if sid.name == "issuer_and_serial_number":
        ias = sid.chosen
        serial, issuer_der = ias["serial_number"].native, ias["issuer"].dump()
        for cert in certs:
            if cert.serial_number == serial and (cert.issuer.dump() == issuer_der
                                                 or cert.issuer == ias["issuer"]):
                return cert
        return None
    key_id = sid.chosen.native
    return next((c for c in certs if c.key_identifier == key_id), None)


def _signed_attr(signed_attrs: cms.CMSAttributes, name: str) -> object | None:
    for attr in signed_attrs:
        if attr["type"].native == name or attr["type"].dotted == name:
            return attr["values"][0]
    return None


def check_signer(signed: cms.SignedData, content_digest_of: Callable[[str], bytes],
                 content_of: Callable[[], bytes] | None = None) -> CmsCheck:
    """Verify the first SignerInfo: message-digest vs content, signature vs signer public key."""
    problems: list[Problem] = []
    certs = certificates_of(signed)
    infos = signed["signer_infos"]
    if len(infos) == 0:
        return _failed(certs, Problem("NO_SIGNER_INFO", "CMS SignedData has no SignerInfo"))
    if len(infos) > 1:
        problems.append(Problem("MULTIPLE_SIGNER_INFOS", "only the first SignerInfo is verified"))
    si = infos[0]
    cert = find_signer_cert(si["sid"], certs)
    sig_value = si["signature"].native
    try:
        dname = crypto.digest_name(si["digest_algorithm"]["algorithm"].dotted)
    except crypto.UnsupportedAlgorithm as exc:
        return _failed(certs, Problem("UNSUPPORTED_DIGEST", str(exc)), cert, si)
    content_digest = content_digest_of(dname)
    signed_attrs = si["signed_attrs"]
    signing_time = None
    if signed_attrs:
        md = _signed_attr(signed_attrs, "message_digest")
        digest_ok = md is not None and md.native == content_digest
        if md is None:
            problems.append(Problem("MESSAGE_DIGEST_MISSING", "signed attributes lack message-digest"))
        elif not digest_ok:
            problems.append(Problem("DIGEST_MISMATCH",
                                    "the digest of the signed bytes does not match message-digest"))
        st = _signed_attr(signed_attrs, "signing_time")
        signing_time = st.native if st is not None else None
        tbs = b"\x31" + signed_attrs.dump()[1:]
        if cert is not None:
            problems.extend(_check_signing_cert_attr(signed_attrs, cert))
    else:
        digest_ok = True
        tbs = b""
    if cert is None:
        problems.append(Problem("CERT_MISSING", "the signer certificate is not in the signature"))
        return CmsCheck(None, certs, None, dname, digest_ok, False, signing_time, sig_value, si,
                        tuple(problems))
    algorithm = crypto.signature_algorithm(si["signature_algorithm"]["algorithm"].dotted,
                                           cert.public_key)
    if not signed_attrs and algorithm == "sm2" and content_of is not None:
        tbs, signed_attrs_present = content_of(), True  # SM2 signs Z || content itself
    else:
        signed_attrs_present = bool(signed_attrs)
    sig_ok = _verify(cert, si, sig_value, tbs if signed_attrs_present else None, content_digest,
                     dname, problems)
    if not sig_ok and not any(p.code.startswith("UNSUPPORTED") for p in problems):
        problems.append(Problem("SIGNATURE_INVALID",
                                "the signature value does not verify with the signer's public key"))
    return CmsCheck(cert, certs, algorithm, dname, digest_ok, sig_ok, signing_time, sig_value, si,
                    tuple(problems))


def _verify(cert: x509.Certificate, si: cms.SignerInfo, sig_value: bytes, tbs: bytes | None,
            content_digest: bytes, dname: str, problems: list[Problem]) -> bool:
    try:
        if tbs is not None:
            return crypto.verify_signature(cert.public_key, si["signature_algorithm"], sig_value,
                                           tbs, dname)
        return _verify_without_attrs(cert, si, sig_value, content_digest, dname)
    except crypto.UnsupportedAlgorithm as exc:
        problems.append(Problem("UNSUPPORTED_ALGORITHM", str(exc)))
    except ValueError as exc:
        problems.append(Problem("SIGNATURE_INVALID", f"bad signature value: {exc}"))
    return False


def _verify_without_attrs(cert: x509.Certificate, si: cms.SignerInfo, sig_value: bytes,
                          content_digest: bytes, dname: str) -> bool:
    """No signed attributes: the signature is over the content digest (RSA/ECDSA prehashed)."""
    from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
    from cryptography.exceptions import InvalidSignature

    pub = crypto._load_public_key(cert.public_key.dump())
    prehashed = utils.Prehashed(crypto._crypto_hash(dname))
    try:
        if isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(sig_value, content_digest, ec.ECDSA(prehashed))
        else:
            pub.verify(sig_value, content_digest, padding.PKCS1v15(), prehashed)
    except InvalidSignature:
        return False
    return True


def _check_signing_cert_attr(signed_attrs: cms.CMSAttributes,
                             cert: x509.Certificate) -> list[Problem]:
    v2 = _signed_attr(signed_attrs, "signing_certificate_v2")
    v1 = _signed_attr(signed_attrs, "signing_certificate")
    attr, default_hash = (v2, "sha256") if v2 is not None else (v1, "sha1")
    if attr is None:
        return []
    try:
        first = attr["certs"][0]
        if v2 is not None:
            hname = first["hash_algorithm"]["algorithm"].native or default_hash
        else:
            hname = "sha1"
        expected = first["cert_hash"].native
        if hashlib.new(hname, cert.dump()).digest() != expected:
            return [Problem("SIGNING_CERT_MISMATCH",
                            "the signing-certificate attribute does not match the signer certificate")]
    except (ValueError, KeyError, IndexError, TypeError):
        return [Problem("SIGNING_CERT_MALFORMED", "unreadable signing-certificate attribute")]
    return []


def _failed(certs: tuple[x509.Certificate, ...], problem: Problem,
            cert: x509.Certificate | None = None, si: cms.SignerInfo | None = None) -> CmsCheck:
    return CmsCheck(cert, certs, None, None, False, False, None, b"", si, (problem,))


def load_crl(der: bytes) -> crl.CertificateList:
    return crl.CertificateList.load(der)


def crls_of(signed: cms.SignedData, si: cms.SignerInfo | None) -> tuple[crl.CertificateList, ...]:
    """CRLs embedded in the CMS (``crls``) and in Adobe's revocation-info-archival attribute."""
    out: list[crl.CertificateList] = []
    choices = signed["crls"]
    if choices:
        out.extend(c.chosen for c in choices if c.name == "crl")
    if si is not None and si["signed_attrs"]:
        archival = _signed_attr(si["signed_attrs"], "adobe_revocation_info_archival")
        if archival is not None and archival["crl"]:
            out.extend(archival["crl"])
    return tuple(out)


# ---------------------------------------------------------------- RFC 3161 timestamp tokens

@dataclasses.dataclass(frozen=True)
class TokenCheck:
    time: _dt.datetime | None
    digest_algorithm: str | None
    tsa_cert: x509.Certificate | None
    certificates: tuple[x509.Certificate, ...]
    imprint_ok: bool
    signature_ok: bool
    problems: tuple[Problem, ...]


def check_timestamp_token(token: cms.ContentInfo | bytes,
                          imprinted: bytes | Callable[[str], bytes]) -> TokenCheck:
    """Verify an RFC 3161 token over ``imprinted`` (bytes, or a function digest name -> digest)."""
    try:
        info = token if isinstance(token, cms.ContentInfo) else cms.ContentInfo.load(der_prefix(token))
        signed = info["content"]
        econtent = signed["encap_content_info"]
        if econtent["content_type"].native != "tst_info":
            raise ValueError("not a TSTInfo token")
        raw = econtent["content"].contents
        tst = tsp.TSTInfo.load(raw)
        imprint = tst["message_imprint"]
        hname = crypto.digest_name(imprint["hash_algorithm"]["algorithm"].dotted)
        expected = imprinted(hname) if callable(imprinted) else crypto.digest(hname, imprinted)
        imprint_ok = imprint["hashed_message"].native == expected
        gen_time = tst["gen_time"].native
    except (ValueError, KeyError, TypeError, crypto.UnsupportedAlgorithm) as exc:
        return TokenCheck(None, None, None, (), False, False,
                          (Problem("TIMESTAMP_MALFORMED", f"unreadable timestamp token: {exc}"),))
    check = check_signer(signed, lambda name: crypto.digest(name, raw))
    problems = list(check.problems)
    if not imprint_ok:
        problems.append(Problem("TIMESTAMP_IMPRINT_MISMATCH",
                                "the timestamp does not cover this signature/document"))
    return TokenCheck(gen_time, hname, check.signer_cert, check.certificates, imprint_ok,
                      check.digest_ok and check.signature_ok, tuple(problems))


def signature_timestamp(si: cms.SignerInfo | None) -> cms.ContentInfo | None:
    if si is None:
        return None
    unsigned = si["unsigned_attrs"]
    if not unsigned:
        return None
    for attr in unsigned:
        if attr["type"].dotted == "1.2.840.113549.1.9.16.2.14":
            return attr["values"][0]
    return None
