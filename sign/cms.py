"""CMS SignedData for PDF signatures (detached).

Two profiles:

* **RSA → PAdES baseline B-B / B-T** (``/SubFilter /ETSI.CAdES.detached``): signed attributes
  content-type, message-digest and ESS signing-certificate-v2; *no* signing-time (PAdES puts
  the time in the signature dictionary's /M). B-T adds an RFC 3161 signature time-stamp token
  (id-aa-signatureTimeStampToken, unsigned) over the signature value.
* **SM2 → GM/T 0010** (``/SubFilter /adbe.pkcs7.detached``): digest algorithm SM3
  ``1.2.156.10197.1.401``, signature algorithm ``1.2.156.10197.1.501`` (SM2-with-SM3: the
  signature value *is* an SM2 signature over SM3(Z || signed attributes), Z computed from the
  default user ID ``1234567812345678``). We deliberately do **not** use ``1.2.156.10197.1.301.1``
  (sm2sign, the bare key-usage OID) because the signature algorithm field should name the
  signature-with-hash scheme, as 1.2.840.113549.1.1.11 does for RSA. The content types are the
  **standard PKCS#7 OIDs** (id-signedData 1.2.840.113549.1.7.2, id-data 1.2.840.113549.1.7.1)
  rather than GM/T 0010's 1.2.156.10197.6.1.4.2.2 / .1: PDF readers (poppler, pyHanko, Acrobat)
  then still parse the blob, list the certificates and report the (unsupported) algorithm
  instead of "not a signature"; Chinese verifiers accept both. Signed attributes:
  content-type, message-digest (SM3 over the byte range), signing-time.

Performance: certificates, SignerIdentifier, ESS attribute and algorithm identifiers are
built once per :class:`~sign.signers.Signer` with asn1crypto and cached in ``signer.cache``;
each signature only concatenates DER. The output is checked against asn1crypto in the tests.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional, Sequence

from asn1crypto import algos, cms, core, tsp, x509

from sign.pdf.errors import TimestampError

OID_DATA = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_GM_DATA = "1.2.156.10197.6.1.4.2.1"
OID_GM_SIGNED_DATA = "1.2.156.10197.6.1.4.2.2"
OID_SM3 = "1.2.156.10197.1.401"
OID_SM2_WITH_SM3 = "1.2.156.10197.1.501"
OID_SM2_SIGN = "1.2.156.10197.1.301.1"
OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_SIGNING_CERT_V2 = "1.2.840.113549.1.9.16.2.47"
OID_SIG_TIMESTAMP = "1.2.840.113549.1.9.16.2.14"
OID_RSA = "1.2.840.113549.1.1.1"
OID_SHA = {"sha256": "2.16.840.1.101.3.4.2.1", "sha384": "2.16.840.1.101.3.4.2.2",
           "sha512": "2.16.840.1.101.3.4.2.3", "sm3": OID_SM3}

SUBFILTER_PADES = "ETSI.CAdES.detached"
SUBFILTER_PKCS7 = "adbe.pkcs7.detached"


# --------------------------------------------------------------------------- DER helpers
def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(b),)) + b


def tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _len(len(content)) + content


@lru_cache(maxsize=64)
def _oid(dotted: str) -> bytes:
    return core.ObjectIdentifier(dotted).dump()


def _attribute(oid: str, value_der: bytes) -> bytes:
    return tlv(0x30, _oid(oid) + tlv(0x31, value_der))


def new_hash(digest_alg: str):
    """A hashlib object for ``sha256``/``sha384``/``sha512``/``sm3`` (OpenSSL's SM3)."""
    return hashlib.new(digest_alg)


# --------------------------------------------------------------------------- per-signer cache
@dataclass(frozen=True)
class _SignerParts:
    digest_alg: str
    digest_alg_der: bytes        # AlgorithmIdentifier
    sig_alg_der: bytes           # AlgorithmIdentifier
    sid_der: bytes               # IssuerAndSerialNumber
    certs_der: bytes             # concatenated certificates (contents of [0] IMPLICIT SET)
    ess_attr_der: Optional[bytes]  # signing-certificate-v2 attribute (RSA/PAdES)
    pades: bool


def signer_parts(signer, digest_alg: Optional[str] = None) -> _SignerParts:
    digest_alg = digest_alg or signer.digest_algorithm
    key = f"cms:{digest_alg}"
    parts = signer.cache.get(key)
    if parts is not None:
        return parts
    cert: x509.Certificate = signer.signing_cert
    chain: Sequence[x509.Certificate] = signer.cert_chain
    alg = signer.algorithm
    if alg == "sm2":
        digest_alg_der = tlv(0x30, _oid(OID_SM3))
        sig_alg_der = tlv(0x30, _oid(OID_SM2_WITH_SM3))
    else:
        digest_alg_der = algos.DigestAlgorithm({"algorithm": digest_alg}).dump()
        sig_alg_der = algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15",
                                                   "parameters": core.Null()}).dump()
    sid = cms.IssuerAndSerialNumber({"issuer": cert.issuer,
                                     "serial_number": cert.serial_number}).dump()
    certs_der = b"".join(c.dump() for c in [cert, *chain])
    ess = None
    if alg == "rsa":
        ess_v2 = tsp.SigningCertificateV2({"certs": [tsp.ESSCertIDv2({
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "cert_hash": hashlib.sha256(cert.dump()).digest(),
            "issuer_serial": {"issuer": [x509.GeneralName(name="directory_name",
                                                          value=cert.issuer)],
                              "serial_number": cert.serial_number},
        })]})
        ess = _attribute(OID_SIGNING_CERT_V2, ess_v2.dump())
    parts = _SignerParts(digest_alg, digest_alg_der, sig_alg_der, sid, certs_der, ess,
                         pades=(alg == "rsa"))
    signer.cache[key] = parts
    return parts


def sub_filter_for(signer) -> str:
    return SUBFILTER_PADES if signer.algorithm == "rsa" else SUBFILTER_PKCS7


def estimate_size(signer, timestamper: Any = None) -> int:
    """Bytes to reserve for the CMS blob (DER), generous but not wasteful."""
    parts = signer_parts(signer)
    size = len(parts.certs_der) + len(parts.sid_der) + 1024 + 1024
    if timestamper is not None:
        size += 12288  # token: TSA certificate chain + TSTInfo
    return size


# --------------------------------------------------------------------------- building
def signed_attributes(signer, document_digest: bytes, *, digest_alg: Optional[str] = None,
                      signing_time: Optional[_dt.datetime] = None) -> bytes:
    """DER of the SignedAttributes as a ``SET OF`` (tag 0x31): the bytes that get signed."""
    parts = signer_parts(signer, digest_alg)
    attrs = [
        _attribute(OID_CONTENT_TYPE, _oid(OID_DATA)),
        _attribute(OID_MESSAGE_DIGEST, tlv(0x04, document_digest)),
    ]
    if parts.pades:
        attrs.append(parts.ess_attr_der)  # type: ignore[arg-type]
    else:
        t = signing_time or _dt.datetime.now(_dt.timezone.utc)
        attrs.append(_attribute(OID_SIGNING_TIME, cms.Time({"utc_time": t}).chosen.dump()
                                if t.year < 2050 else
                                cms.Time({"generalized_time": t}).chosen.dump()))
    attrs.sort()  # DER: SET OF sorted by encoding
    return tlv(0x31, b"".join(attrs))


def assemble(signer, signed_attrs_der: bytes, signature: bytes, *,
             digest_alg: Optional[str] = None,
             timestamp_token: Optional[bytes] = None) -> bytes:
    """ContentInfo(SignedData) DER from the signed attributes and the raw signature."""
    parts = signer_parts(signer, digest_alg)
    signer_info = (tlv(0x02, b"\x01") + parts.sid_der + parts.digest_alg_der
                   + b"\xa0" + signed_attrs_der[1:]  # [0] IMPLICIT SET OF Attribute
                   + parts.sig_alg_der + tlv(0x04, signature))
    if timestamp_token is not None:
        signer_info += tlv(0xA1, _attribute(OID_SIG_TIMESTAMP, timestamp_token))
    signed_data = tlv(0x30,
                      tlv(0x02, b"\x01")
                      + tlv(0x31, parts.digest_alg_der)
                      + tlv(0x30, _oid(OID_DATA))
                      + tlv(0xA0, parts.certs_der)
                      + tlv(0x31, tlv(0x30, signer_info)))
    return tlv(0x30, _oid(OID_SIGNED_DATA) + tlv(0xA0, signed_data))


def timestamp_token(timestamper: Any, signature: bytes, digest_alg: str) -> bytes:
    """Ask ``timestamper`` for a token over ``signature`` (DER of the TimeStampToken)."""
    # TSAs rarely speak SM3: the message imprint of an SM2 signature uses SHA-256.
    ts_alg = digest_alg if digest_alg in ("sha256", "sha384", "sha512") else "sha256"
    digest = hashlib.new(ts_alg, signature).digest()
    try:
        token = timestamper.timestamp(digest, ts_alg)
    except Exception as exc:
        raise TimestampError(f"time-stamp request failed: {exc}") from exc
    if isinstance(token, (bytes, bytearray)):
        return bytes(token)
    if hasattr(token, "dump"):
        return token.dump()
    raise TimestampError(f"time-stamper returned {type(token).__name__}, expected DER bytes")


def sign_digest(signer, document_digest: bytes, *, timestamper: Any = None,
                signing_time: Optional[_dt.datetime] = None) -> bytes:
    """Full CMS for a document digest: signed attributes → ``sign_raw`` → (TST) → DER."""
    digest_alg = signer.digest_algorithm
    attrs = signed_attributes(signer, document_digest, signing_time=signing_time)
    sig = signer.sign_raw(attrs, digest_alg)
    tst = timestamp_token(timestamper, sig, digest_alg) if timestamper is not None else None
    return assemble(signer, attrs, sig, timestamp_token=tst)


def load(cms_der: bytes) -> cms.ContentInfo:
    """Parse a CMS blob (trailing zero padding from /Contents tolerated)."""
    info = cms.ContentInfo.load(cms_der, strict=False)
    return info
