"""Electronic seal (SESeal) and seal-signature (SES_Signature) structures.

Two families share one code path:

* **V1** — GM/T 0031-2014 (header version 1..3): ``SESeal = {esealInfo, signInfo{cert, alg,
  signData}}``, UTCTime dates, ``certList`` a plain ``SEQUENCE OF OCTET STRING``;
  ``SES_Signature = {TBS_Sign{version, eseal, timeInfo BIT STRING, dataHash, propertyInfo, cert,
  signatureAlgorithm}, signature}``.
* **V4** — GB/T 38540-2020 (header version 4; ofdrw's "V5" files carry 5 and an optional
  ``[0] timeStamp`` on the seal): ``SESeal = {eSealInfo, cert, signAlgID, signedValue
  [, [0] timeStamp]}``, GeneralizedTime dates, ``certListType`` (1 = certificates, 2 = SM3
  digests) before ``certList``; ``SES_Signature = {TBS_Sign{version, eseal, timeInfo
  GeneralizedTime, dataHash, propertyInfo [, [0] extDatas]}, cert, signatureAlgID, signature
  [, [0] timeStamp]}`` — the signer's certificate sits *outside* the signed TBS_Sign.

What the maker's signature covers (checked against real files, see ``tests/sign/seals``):

* V1: ``SEQUENCE { SES_SealInfo, cert OCTET STRING, signatureAlgorithm OID }`` (GM/T 0031 text;
  ofdrw's ``UserV1.esl`` verifies this way).
* V4: the DER of ``SES_SealInfo`` alone — what ofdrw (``UserV4.esl``/``UserV5.esl``, BouncyCastle
  ``SM3withSM2`` over ``sesSealInfo.getEncoded()``) and the independent C verifier
  Chingliu/gm_0031_38540_verifier (``i2d_SESv4_SealInfo``) both do. :func:`verify_seal` also
  accepts the V1-style SEQUENCE scope for V4 seals and reports which scope matched
  (:attr:`SealVerification.signed_scope`).
* SES_Signature (both): the DER of ``TBS_Sign``.

Indefinite-length (BER) input parses; asn1crypto re-emits such parts with definite lengths, so
signed bytes are always the DER form (what BouncyCastle's ``getEncoded("DER")`` verifies).

SM2 signatures use the default user ID ``1234567812345678`` (BouncyCastle's ``SM3withSM2``
default, which ofdrw relies on); the signature value is DER ``SEQUENCE{r, s}`` (a raw 64-byte
``r||s`` is accepted too). Only SM2-with-SM3 (1.2.156.10197.1.501, also "sm2-1" .301.1) is
supported.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

from asn1crypto import core, x509

from sign.certs import oids
from sign.crypto import _der
from sign.crypto.sm2 import DEFAULT_UID, SM2PrivateKey, SM2PublicKey, signature_from_raw
from sign.crypto.sm3 import sm3_digest
from sign.seals.errors import SealError, SealFormatError, SealUnsupported

SM2_WITH_SM3 = oids.SM2_WITH_SM3_OID
_SM2_SIG_OIDS = (oids.SM2_WITH_SM3_OID, oids.SM2_SIGN_OID)

SCOPE_SEAL_INFO = "SES_SealInfo"
SCOPE_SEQUENCE = "SEQUENCE(SES_SealInfo,cert,signAlgID)"
SCOPE_TBS_SIGN = "TBS_Sign"

# --------------------------------------------------------------------------------------------
# ASN.1 classes
# --------------------------------------------------------------------------------------------


class SESHeader(core.Sequence):
    _fields = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class CertList(core.SequenceOf):
    _child_spec = core.OctetString


class CertDigestObj(core.Sequence):
    _fields = [("type", core.PrintableString), ("value", core.OctetString)]


class CertDigestList(core.SequenceOf):
    _child_spec = CertDigestObj


class ESPropertyInfoV1(core.Sequence):
    _fields = [
        ("type", core.Integer), ("name", core.UTF8String), ("cert_list", CertList),
        ("create_date", core.UTCTime), ("valid_start", core.UTCTime), ("valid_end", core.UTCTime),
    ]


class ESPropertyInfoV4(core.Sequence):
    # cert_list is CertList (type 1) or CertDigestList (type 2): kept as Any, decoded by type.
    _fields = [
        ("type", core.Integer), ("name", core.UTF8String), ("cert_list_type", core.Integer),
        ("cert_list", core.Any), ("create_date", core.GeneralizedTime),
        ("valid_start", core.GeneralizedTime), ("valid_end", core.GeneralizedTime),
    ]


class ESPictureInfo(core.Sequence):
    """SES_ESPictrueInfo (sic, the standard's spelling): type "PNG"/"GIF"/"JPG"/"OFD"/"SVG"...,
    width/height in millimetres."""

    _fields = [("type", core.IA5String), ("data", core.OctetString), ("width", core.Integer),
               ("height", core.Integer)]


class ExtData(core.Sequence):
    _fields = [("extn_id", core.ObjectIdentifier), ("critical", core.Boolean, {"default": False}),
               ("extn_value", core.OctetString)]


class ExtensionDatas(core.SequenceOf):
    _child_spec = ExtData


class SealInfoV1(core.Sequence):
    _fields = [("header", SESHeader), ("es_id", core.IA5String), ("property", ESPropertyInfoV1),
               ("picture", ESPictureInfo), ("ext_datas", ExtensionDatas, {"optional": True})]


class SealInfoV4(core.Sequence):
    _fields = [("header", SESHeader), ("es_id", core.IA5String), ("property", ESPropertyInfoV4),
               ("picture", ESPictureInfo), ("ext_datas", ExtensionDatas, {"optional": True})]


class SignInfoV1(core.Sequence):
    _fields = [("cert", core.OctetString), ("signature_algorithm", core.ObjectIdentifier),
               ("sign_data", core.OctetBitString)]


class SESealV1(core.Sequence):
    _fields = [("seal_info", SealInfoV1), ("sign_info", SignInfoV1)]


class SESealV4(core.Sequence):
    _fields = [("seal_info", SealInfoV4), ("cert", core.OctetString),
               ("sign_alg_id", core.ObjectIdentifier), ("signed_value", core.OctetBitString),
               ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True})]


class TBSSignV1(core.Sequence):
    # timeInfo/dataHash are BIT STRINGs in the standard; some producers use OCTET STRING.
    _fields = [("version", core.Integer), ("eseal", SESealV1), ("time_info", core.Any),
               ("data_hash", core.Any), ("property_info", core.IA5String),
               ("cert", core.OctetString), ("signature_algorithm", core.ObjectIdentifier)]


class SESSignatureV1(core.Sequence):
    _fields = [("to_sign", TBSSignV1), ("signature", core.OctetBitString)]


class TBSSignV4(core.Sequence):
    _fields = [("version", core.Integer), ("eseal", SESealV4), ("time_info", core.GeneralizedTime),
               ("data_hash", core.OctetBitString), ("property_info", core.IA5String),
               ("ext_datas", ExtensionDatas, {"explicit": 0, "optional": True})]


class SESSignatureV4(core.Sequence):
    _fields = [("to_sign", TBSSignV4), ("cert", core.OctetString),
               ("signature_alg_id", core.ObjectIdentifier), ("signature", core.OctetBitString),
               ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True})]


# --------------------------------------------------------------------------------------------
# Parsed views
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtDataInfo:
    oid: str
    critical: bool
    value: bytes


@dataclass(frozen=True)
class SealInfo:
    """A parsed SESeal. ``family`` is ``"v1"`` (GM/T 0031) or ``"v4"`` (GB/T 38540)."""

    family: str
    version: int                      # header version (1, 4, 5...)
    vid: str                          # vendor id
    es_id: str
    type: int
    name: str
    cert_list_type: int               # 1 = certificates, 2 = certificate digests
    signer_certs: tuple[x509.Certificate, ...]
    signer_cert_digests: tuple[tuple[str, bytes], ...]
    create_date: datetime
    valid_start: datetime
    valid_end: datetime
    picture_type: str
    picture: bytes = field(repr=False)
    picture_width_mm: int
    picture_height_mm: int
    ext_datas: tuple[ExtDataInfo, ...]
    maker_cert: x509.Certificate
    signature_algorithm: str          # dotted OID
    signature: bytes = field(repr=False)
    signed_bytes: bytes = field(repr=False)         # what the standard says the maker signed
    alt_signed_bytes: bytes = field(repr=False)     # the other known scope (see module doc)
    time_stamp: bytes | None = field(repr=False)
    der: bytes = field(repr=False)

    @property
    def signed_scope(self) -> str:
        return SCOPE_SEQUENCE if self.family == "v1" else SCOPE_SEAL_INFO

    def is_signer_cert(self, cert: x509.Certificate | bytes) -> bool:
        """Whether ``cert`` is listed in the seal's signer certificates (or their digests)."""
        der = cert if isinstance(cert, bytes) else cert.dump()
        if self.cert_list_type == 2:  # digest type names vary by vendor: match SM3, SHA-256, SHA-1
            digests = {sm3_digest(der), hashlib.sha256(der).digest(), hashlib.sha1(der).digest()}
            return any(value in digests for _t, value in self.signer_cert_digests)
        return any(c.dump() == der for c in self.signer_certs)


@dataclass(frozen=True)
class Problem:
    code: str
    message: str


@dataclass(frozen=True)
class SealVerification:
    """Result of :func:`verify_seal`. ``valid`` = signature ok and ``at`` within the seal's validity."""

    seal: SealInfo
    at: datetime
    signature_ok: bool
    signed_scope: str | None           # which byte range the signature matched
    within_validity: bool
    maker_cert_valid_at_creation: bool
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        return self.signature_ok and self.within_validity

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.problems)


@dataclass(frozen=True)
class SESSignatureInfo:
    """A parsed SES_Signature (electronic seal signature, 电子签章数据)."""

    family: str
    version: int
    seal: SealInfo
    time_info: datetime | None         # V1 may carry a timestamp token instead: see time_info_raw
    time_info_raw: bytes = field(repr=False)
    data_hash: bytes
    property_info: str
    signer_cert: x509.Certificate
    signature_algorithm: str
    signature: bytes = field(repr=False)
    signed_bytes: bytes = field(repr=False)   # DER of TBS_Sign
    time_stamp: bytes | None = field(repr=False)
    ext_datas: tuple[ExtDataInfo, ...]
    der: bytes = field(repr=False)


@dataclass(frozen=True)
class SESSignatureVerification:
    signature: SESSignatureInfo
    signature_ok: bool
    signer_cert_in_seal: bool
    data_hash_ok: bool | None          # None when no expected hash was given
    seal: SealVerification
    problems: tuple[Problem, ...]
    signer_cert_valid_at_signing: bool | None = None   # None when timeInfo is not a plain time
    warnings: tuple[Problem, ...] = ()

    @property
    def valid(self) -> bool:
        return (self.signature_ok and self.signer_cert_in_seal and self.data_hash_ok is not False
                and self.seal.valid)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.problems)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(timezone.utc)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _load_cert(der: bytes, what: str) -> x509.Certificate:
    try:
        cert = x509.Certificate.load(bytes(der), strict=True)
        # parse what verification needs now; vendor extensions asn1crypto can't decode stay lazy
        cert["tbs_certificate"]["validity"].native  # noqa: B018
        cert.public_key["algorithm"].native  # noqa: B018
        return cert
    except (ValueError, TypeError) as exc:
        raise SealFormatError(f"{what} is not a DER X.509 certificate: {exc}", code="SEAL_CERT_INVALID") from None


def _seq_children(der: bytes) -> list[core.Asn1Value]:
    try:
        outer = core.Sequence.load(der)
        return [outer[i] for i in range(len(outer))]
    except (ValueError, TypeError) as exc:
        raise SealFormatError(f"not a DER SEQUENCE: {exc}") from None


def _bitstring_bytes(value: core.Asn1Value) -> bytes:
    """BIT STRING (octet-aligned) or OCTET STRING contents as bytes."""
    if isinstance(value, core.Any):
        value = core.Asn1Value.load(value.dump())
    if value.tag == 3:
        contents = value.contents or b""
        return contents[1:]
    if value.tag == 4:
        return value.contents or b""
    raise SealFormatError(f"expected BIT STRING or OCTET STRING, got tag {value.tag}")


def _ext_infos(ext: ExtensionDatas | core.Void | None) -> tuple[ExtDataInfo, ...]:
    if ext is None or isinstance(ext, core.Void):
        return ()
    return tuple(ExtDataInfo(e["extn_id"].dotted, bool(e["critical"].native), e["extn_value"].native)
                 for e in ext)


def _sm2_public(cert: x509.Certificate) -> SM2PublicKey:
    return SM2PublicKey.from_der(cert.public_key.dump())


def _sig_der(sig: bytes) -> bytes:
    return signature_from_raw(sig) if len(sig) == 64 and sig[:1] != b"\x30" else sig


def _verify_sm2(cert: x509.Certificate, algorithm: str, signature: bytes, data: bytes,
                uid: bytes = DEFAULT_UID) -> bool:
    if algorithm not in _SM2_SIG_OIDS:
        raise SealUnsupported(f"signature algorithm {algorithm} is not SM2-with-SM3",
                              code="SEAL_UNSUPPORTED_ALGORITHM")
    if not oids.is_sm2_public_key(cert.public_key):
        return False
    try:
        return _sm2_public(cert).verify(_sig_der(signature), data, uid)
    except (ValueError, SealError):
        return False
    except Exception:  # noqa: BLE001  (malformed r/s: a failed verification, not a crash)
        return False


def _as_bytes(value: bytes | bytearray | memoryview) -> bytes:
    return bytes(value)


# --------------------------------------------------------------------------------------------
# parse
# --------------------------------------------------------------------------------------------


def _seal_family(children: list[core.Asn1Value]) -> str:
    if len(children) == 2 and children[1].tag == 16:
        return "v1"
    if len(children) in (4, 5) and children[1].tag == 4:
        return "v4"
    raise SealFormatError("not an SESeal: expected {SealInfo, SignInfo} (GM/T 0031) or "
                          "{SealInfo, cert, signAlgID, signedValue} (GB/T 38540)")


def _parse_seal_obj(seal: SESealV1 | SESealV4, family: str, der: bytes) -> SealInfo:
    try:
        info = seal["seal_info"]
        header = info["header"]
        if header["id"].native != "ES":
            raise SealFormatError(f"SES_Header.ID is {header['id'].native!r}, expected 'ES'")
        prop = info["property"]
        pic = info["picture"]
        certs: tuple[x509.Certificate, ...] = ()
        digests: tuple[tuple[str, bytes], ...] = ()
        if family == "v1":
            cert_list_type = 1
            certs = tuple(_load_cert(c.native, "signer certificate") for c in prop["cert_list"])
            maker_der = seal["sign_info"]["cert"].native
            alg = seal["sign_info"]["signature_algorithm"].dotted
            sig = seal["sign_info"]["sign_data"].native
            info_der = info.dump()
            signed = _der.encode_sequence(info_der, seal["sign_info"]["cert"].dump(),
                                          seal["sign_info"]["signature_algorithm"].dump())
            alt = info_der
            ts = None
        else:
            cert_list_type = int(prop["cert_list_type"].native)
            raw_list = prop["cert_list"].dump()
            if cert_list_type == 2:
                digests = tuple((d["type"].native, d["value"].native) for d in CertDigestList.load(raw_list))
            else:
                certs = tuple(_load_cert(c.native, "signer certificate") for c in CertList.load(raw_list))
            maker_der = seal["cert"].native
            alg = seal["sign_alg_id"].dotted
            sig = seal["signed_value"].native
            signed = info.dump()
            alt = _der.encode_sequence(signed, seal["cert"].dump(), seal["sign_alg_id"].dump())
            ts_val = seal["time_stamp"]
            ts = None if isinstance(ts_val, core.Void) else ts_val.native
        return SealInfo(
            family=family, version=int(header["version"].native), vid=header["vid"].native,
            es_id=info["es_id"].native, type=int(prop["type"].native), name=prop["name"].native,
            cert_list_type=cert_list_type, signer_certs=certs, signer_cert_digests=digests,
            create_date=_utc(prop["create_date"].native), valid_start=_utc(prop["valid_start"].native),
            valid_end=_utc(prop["valid_end"].native), picture_type=pic["type"].native,
            picture=pic["data"].native, picture_width_mm=int(pic["width"].native),
            picture_height_mm=int(pic["height"].native), ext_datas=_ext_infos(info["ext_datas"]),
            maker_cert=_load_cert(maker_der, "seal maker certificate"), signature_algorithm=alg,
            signature=_as_bytes(sig), signed_bytes=signed, alt_signed_bytes=alt, time_stamp=ts, der=der,
        )
    except SealError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SealFormatError(f"malformed SESeal ({family}): {exc}") from None


def parse_seal(der: bytes) -> SealInfo:
    """Parse a DER SESeal of either family (detected from the structure, not the header number)."""
    der = bytes(der)
    family = _seal_family(_seq_children(der))
    cls = SESealV1 if family == "v1" else SESealV4
    try:
        seal = cls.load(der, strict=True)
    except (ValueError, TypeError) as exc:
        raise SealFormatError(f"malformed SESeal ({family}): {exc}") from None
    return _parse_seal_obj(seal, family, der)


def _time_from_v1(raw: core.Asn1Value) -> tuple[datetime | None, bytes]:
    data = _bitstring_bytes(raw)
    for cls in (core.UTCTime, core.GeneralizedTime):
        try:
            return _utc(cls.load(data).native), data
        except (ValueError, TypeError):
            pass
    text = data.decode("ascii", "replace").strip()
    for fmt in ("%y%m%d%H%M%SZ", "%Y%m%d%H%M%SZ", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc), data
        except ValueError:
            pass
    return None, data  # a timestamp token or vendor format: left to the caller


def parse_ses_signature(der: bytes) -> SESSignatureInfo:
    """Parse a DER SES_Signature (GM/T 0031 V1 or GB/T 38540 V4)."""
    der = bytes(der)
    children = _seq_children(der)
    if len(children) == 2:
        family = "v1"
    elif len(children) in (4, 5):
        family = "v4"
    else:
        raise SealFormatError("not an SES_Signature: expected {TBS_Sign, signature} or "
                              "{TBS_Sign, cert, signatureAlgID, signature[, timeStamp]}")
    try:
        if family == "v1":
            obj = SESSignatureV1.load(der, strict=True)
            tbs = obj["to_sign"]
            eseal = tbs["eseal"]
            seal = _parse_seal_obj(eseal, "v1", eseal.dump())
            time_info, time_raw = _time_from_v1(tbs["time_info"])
            return SESSignatureInfo(
                family=family, version=int(tbs["version"].native), seal=seal, time_info=time_info,
                time_info_raw=time_raw, data_hash=_bitstring_bytes(tbs["data_hash"]),
                property_info=tbs["property_info"].native,
                signer_cert=_load_cert(tbs["cert"].native, "signer certificate"),
                signature_algorithm=tbs["signature_algorithm"].dotted, signature=obj["signature"].native,
                signed_bytes=tbs.dump(), time_stamp=None, ext_datas=(), der=der)
        obj = SESSignatureV4.load(der, strict=True)
        tbs = obj["to_sign"]
        eseal = tbs["eseal"]
        seal = _parse_seal_obj(eseal, "v4", eseal.dump())
        ts = obj["time_stamp"]
        return SESSignatureInfo(
            family=family, version=int(tbs["version"].native), seal=seal,
            time_info=_utc(tbs["time_info"].native), time_info_raw=tbs["time_info"].contents,
            data_hash=tbs["data_hash"].native, property_info=tbs["property_info"].native,
            signer_cert=_load_cert(obj["cert"].native, "signer certificate"),
            signature_algorithm=obj["signature_alg_id"].dotted, signature=obj["signature"].native,
            signed_bytes=tbs.dump(), time_stamp=None if isinstance(ts, core.Void) else ts.native,
            ext_datas=_ext_infos(tbs["ext_datas"]), der=der)
    except SealError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SealFormatError(f"malformed SES_Signature ({family}): {exc}") from None


# --------------------------------------------------------------------------------------------
# verify
# --------------------------------------------------------------------------------------------


def _in_period(cert: x509.Certificate, at: datetime) -> bool:
    validity = cert["tbs_certificate"]["validity"]
    return validity["not_before"].native <= at <= validity["not_after"].native


def verify_seal(seal: bytes | SealInfo, *, at: datetime | None = None, uid: bytes = DEFAULT_UID,
                strict_scope: bool = False) -> SealVerification:
    """Check the maker's SM2 signature and that ``at`` (default now) lies in [validStart, validEnd].

    Trust in the maker certificate (chain, revocation) is the caller's business
    (:func:`sign.certs.validate_chain` on ``info.maker_cert``). ``strict_scope`` refuses the
    alternative signed scope (see the module docstring).
    """
    info = seal if isinstance(seal, SealInfo) else parse_seal(seal)
    when = _utc(at)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    scope: str | None = None
    candidates = [(info.signed_scope, info.signed_bytes)]
    if not strict_scope:
        candidates.append((SCOPE_SEAL_INFO if info.family == "v1" else SCOPE_SEQUENCE, info.alt_signed_bytes))
    for name, data in candidates:
        if _verify_sm2(info.maker_cert, info.signature_algorithm, info.signature, data, uid):
            scope = name
            break
    if scope is not None and scope != info.signed_scope:
        warnings.append(Problem("SEAL_NONSTANDARD_SCOPE",
                                f"maker signature covers {scope}, not the standard {info.signed_scope}"))
    if scope is None:
        problems.append(Problem("SEAL_SIGNATURE_INVALID", "the seal maker's signature does not verify"))
    within = info.valid_start <= when <= info.valid_end
    if when < info.valid_start:
        problems.append(Problem("SEAL_NOT_YET_VALID", f"seal valid from {info.valid_start.isoformat()}"))
    elif when > info.valid_end:
        problems.append(Problem("SEAL_EXPIRED", f"seal expired at {info.valid_end.isoformat()}"))
    maker_ok = _in_period(info.maker_cert, info.create_date)
    if not maker_ok:
        warnings.append(Problem("SEAL_MAKER_CERT_OUT_OF_PERIOD",
                                "the maker certificate was not within its validity at the seal's createDate"))
    return SealVerification(seal=info, at=when, signature_ok=scope is not None, signed_scope=scope,
                            within_validity=within, maker_cert_valid_at_creation=maker_ok,
                            problems=tuple(problems), warnings=tuple(warnings))


def verify_ses_signature(sig: bytes | SESSignatureInfo, data_hash_expected: bytes | None = None, *,
                         at: datetime | None = None, uid: bytes = DEFAULT_UID) -> SESSignatureVerification:
    """Verify an SES_Signature: the signer's SM2 signature over TBS_Sign, the signer certificate
    being listed in the seal, the embedded seal (at ``at``, default the signature's timeInfo),
    and — when given — that ``dataHash`` equals ``data_hash_expected``.

    Certificate validity periods are reported as *warnings* (``SES_SIGNER_CERT_OUT_OF_PERIOD``,
    ``SEAL_MAKER_CERT_OUT_OF_PERIOD``), not failures: chain trust, revocation and validity of the
    signer/maker certificates belong to :func:`sign.certs.validate_chain` (at ``time_info``)."""
    info = sig if isinstance(sig, SESSignatureInfo) else parse_ses_signature(sig)
    problems: list[Problem] = []
    ok = _verify_sm2(info.signer_cert, info.signature_algorithm, info.signature, info.signed_bytes, uid)
    if not ok:
        problems.append(Problem("SES_SIGNATURE_INVALID", "the signer's signature over TBS_Sign does not verify"))
    in_seal = info.seal.is_signer_cert(info.signer_cert)
    if not in_seal:
        problems.append(Problem("SES_SIGNER_NOT_IN_SEAL", "the signer certificate is not listed in the seal"))
    hash_ok: bool | None = None
    if data_hash_expected is not None:
        hash_ok = bytes(data_hash_expected) == info.data_hash
        if not hash_ok:
            problems.append(Problem("SES_DATA_HASH_MISMATCH", "dataHash differs from the expected digest"))
    seal_check = verify_seal(info.seal, at=at or info.time_info, uid=uid)
    problems.extend(seal_check.problems)
    warnings = list(seal_check.warnings)
    cert_ok: bool | None = None
    if info.time_info is not None:
        cert_ok = _in_period(info.signer_cert, info.time_info)
        if not cert_ok:
            warnings.append(Problem("SES_SIGNER_CERT_OUT_OF_PERIOD",
                                    "the signer certificate was not within its validity at timeInfo"))
    return SESSignatureVerification(signature=info, signature_ok=ok, signer_cert_in_seal=in_seal,
                                    data_hash_ok=hash_ok, seal=seal_check, problems=tuple(problems),
                                    signer_cert_valid_at_signing=cert_ok, warnings=tuple(warnings))


# --------------------------------------------------------------------------------------------
# make
# --------------------------------------------------------------------------------------------


def _maker_parts(maker: Any, maker_cert: x509.Certificate | None) -> tuple[SM2PrivateKey, x509.Certificate]:
    if maker_cert is None:
        key, cert = getattr(maker, "key", None), getattr(maker, "cert", None)
    else:
        key, cert = maker, maker_cert
    if not isinstance(key, SM2PrivateKey) or cert is None:
        raise SealUnsupported("the seal maker / signer must be an SM2 identity (key + certificate)",
                              code="SEAL_UNSUPPORTED_ALGORITHM")
    return key, cert


def _cert_der(cert: x509.Certificate | bytes) -> bytes:
    return cert if isinstance(cert, bytes) else cert.dump()


def _second(value: datetime) -> datetime:
    return _utc(value).replace(microsecond=0)


def make_seal(*, name: str, picture: bytes, maker: Any, maker_cert: x509.Certificate | None = None,
              signer_certs: Sequence[x509.Certificate | bytes] = (), cert_digests: bool = False,
              seal_type: int = 1, picture_type: str = "PNG", width_mm: int = 40, height_mm: int = 40,
              valid_start: datetime | None = None, valid_end: datetime | None = None,
              create_date: datetime | None = None, es_id: str | None = None, vid: str = "ESIGN",
              version: int = 4, ext_datas: Iterable[tuple[str, bool, bytes]] = ()) -> bytes:
    """Build and sign an SESeal; returns DER.

    ``maker``: an :class:`~sign.certs.identity.Identity` (SM2) or an ``SM2PrivateKey`` with
    ``maker_cert``. ``signer_certs``: certificates allowed to sign with the seal (their SM3
    digests when ``cert_digests``, V4 only). ``version`` 1 (GM/T 0031) or 4 (GB/T 38540; 5 is
    accepted and written as-is in the header). Validity defaults to now .. now + 2 years.
    """
    key, mcert = _maker_parts(maker, maker_cert)
    if version not in (1, 2, 3, 4, 5):
        raise SealUnsupported(f"unsupported seal version {version}", code="SEAL_UNSUPPORTED_VERSION")
    if not name:
        raise SealFormatError("seal name is empty", code="SEAL_SPEC_INVALID")
    now = _second(datetime.now(timezone.utc))
    created = _second(create_date or now)
    start = _second(valid_start or created)
    end = _second(valid_end or (start + timedelta(days=730)))
    if end <= start:
        raise SealFormatError("valid_end must be after valid_start", code="SEAL_SPEC_INVALID")
    header = SESHeader({"id": "ES", "version": version, "vid": vid})
    picture_info = ESPictureInfo({"type": picture_type, "data": bytes(picture),
                                  "width": int(width_mm), "height": int(height_mm)})
    ext = ExtensionDatas([ExtData({"extn_id": oid, "critical": crit, "extn_value": val})
                          for oid, crit, val in ext_datas]) if ext_datas else None
    es_id = es_id or secrets.token_hex(16)
    certs = [_cert_der(c) for c in signer_certs]
    alg = core.ObjectIdentifier(SM2_WITH_SM3)
    cert_os = core.OctetString(mcert.dump())
    if version < 4:
        if cert_digests:
            raise SealUnsupported("certificate digests need a V4 seal", code="SEAL_UNSUPPORTED_VERSION")
        prop = ESPropertyInfoV1({"type": seal_type, "name": name, "cert_list": certs,
                                 "create_date": core.UTCTime(created), "valid_start": core.UTCTime(start),
                                 "valid_end": core.UTCTime(end)})
        info = SealInfoV1({"header": header, "es_id": es_id, "property": prop, "picture": picture_info})
        if ext is not None:
            info["ext_datas"] = ext
        tbs = _der.encode_sequence(info.dump(), cert_os.dump(), alg.dump())
        sig = key.sign(tbs)
        seal = SESealV1({"seal_info": info, "sign_info": SignInfoV1(
            {"cert": mcert.dump(), "signature_algorithm": SM2_WITH_SM3, "sign_data": sig})})
        return seal.dump()
    if cert_digests:
        cert_list: core.Asn1Value = CertDigestList([{"type": "sm3", "value": sm3_digest(c)} for c in certs])
    else:
        cert_list = CertList(certs)
    prop4 = ESPropertyInfoV4({"type": seal_type, "name": name, "cert_list_type": 2 if cert_digests else 1,
                              "cert_list": core.Any.load(cert_list.dump()),
                              "create_date": core.GeneralizedTime(created),
                              "valid_start": core.GeneralizedTime(start), "valid_end": core.GeneralizedTime(end)})
    info4 = SealInfoV4({"header": header, "es_id": es_id, "property": prop4, "picture": picture_info})
    if ext is not None:
        info4["ext_datas"] = ext
    sig = key.sign(info4.dump())
    return SESealV4({"seal_info": info4, "cert": mcert.dump(), "sign_alg_id": SM2_WITH_SM3,
                     "signed_value": sig}).dump()


def make_ses_signature(seal_der: bytes, data_hash: bytes, signer: Any, *,
                       signer_cert: x509.Certificate | None = None,
                       property_info: str = "/Doc_0/Signs/Sign_0/Signature.xml",
                       time: datetime | None = None) -> bytes:
    """Sign ``data_hash`` (e.g. SM3 of an OFD Signature.xml) with ``seal_der``: an SES_Signature in
    the seal's family (V4 for GB/T 38540 seals, V1 for GM/T 0031 ones). Returns DER."""
    key, cert = _maker_parts(signer, signer_cert)
    seal_info = parse_seal(seal_der)
    when = _second(time or datetime.now(timezone.utc))
    if seal_info.family == "v4":
        tbs = TBSSignV4({"version": seal_info.version, "eseal": SESealV4.load(seal_info.der),
                         "time_info": core.GeneralizedTime(when), "data_hash": bytes(data_hash),
                         "property_info": property_info})
        sig = key.sign(tbs.dump())
        return SESSignatureV4({"to_sign": tbs, "cert": cert.dump(), "signature_alg_id": SM2_WITH_SM3,
                               "signature": sig}).dump()
    tbs1 = TBSSignV1({"version": seal_info.version, "eseal": SESealV1.load(seal_info.der),
                      "time_info": core.Any.load(core.OctetBitString(core.UTCTime(when).dump()).dump()),
                      "data_hash": core.Any.load(core.OctetBitString(bytes(data_hash)).dump()),
                      "property_info": property_info, "cert": cert.dump(),
                      "signature_algorithm": SM2_WITH_SM3})
    sig = key.sign(tbs1.dump())
    return SESSignatureV1({"to_sign": tbs1, "signature": sig}).dump()
