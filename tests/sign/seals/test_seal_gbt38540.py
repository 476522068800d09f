"""GM/T 0031 / GB/T 38540 SESeal and SES_Signature: make, parse, verify; real ofdrw corpus files."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from sign.crypto.sm3 import sm3_digest
from sign.seals.appearance import seal_appearance_png
from sign.seals.errors import SealFormatError, SealUnsupported
from sign.seals.gbt38540 import (
    SCOPE_SEAL_INFO, SCOPE_SEQUENCE, make_seal, make_ses_signature, parse_seal, parse_ses_signature,
    verify_seal, verify_ses_signature,
)
from tests.gmssl_check import gmssl_verify_cert

PNG = b""  # filled lazily


def _png() -> bytes:
    global PNG
    if not PNG:
        buf = io.BytesIO()
        Image.new("RGBA", (64, 64), (230, 0, 18, 255)).save(buf, format="PNG")
        PNG = buf.getvalue()
    return PNG


NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="module")
def maker(ca):
    """The seal maker (制章者): an SM2 identity issued by the session SM2 CA."""
    from sign.certs.profiles import CompanySubject

    return ca.sm2.issuing.new_identity(CompanySubject("测试电子印章制章中心", credit_code="91110000100000001X"))


@pytest.mark.parametrize("version", [4, 1])
def test_make_parse_verify_roundtrip(maker, sm2_identity, version):
    der = make_seal(name="测试保险股份有限公司合同专用章", picture=_png(), maker=maker,
                    signer_certs=[sm2_identity.cert], version=version, seal_type=2,
                    valid_start=NOW - timedelta(days=1), valid_end=NOW + timedelta(days=365),
                    width_mm=42, height_mm=42, vid="TESTVID")
    info = parse_seal(der)
    assert info.family == ("v4" if version == 4 else "v1")
    assert info.version == version and info.vid == "TESTVID"
    assert info.name == "测试保险股份有限公司合同专用章" and info.type == 2
    assert info.picture == _png() and info.picture_type == "PNG"
    assert (info.picture_width_mm, info.picture_height_mm) == (42, 42)
    assert info.maker_cert.dump() == maker.cert.dump()
    assert info.is_signer_cert(sm2_identity.cert) and not info.is_signer_cert(maker.cert)
    result = verify_seal(der)
    assert result.valid, result.problems
    assert result.signed_scope == (SCOPE_SEAL_INFO if version == 4 else SCOPE_SEQUENCE)
    assert result.warnings == ()
    assert gmssl_verify_cert(info.maker_cert, info.signature, info.signed_bytes)


def test_cert_digest_list(maker, sm2_identity, rsa_identity):
    der = make_seal(name="财务专用章", picture=_png(), maker=maker, signer_certs=[sm2_identity.cert],
                    cert_digests=True)
    info = parse_seal(der)
    assert info.cert_list_type == 2 and info.signer_certs == ()
    assert info.signer_cert_digests == (("sm3", sm3_digest(sm2_identity.cert.dump())),)
    assert info.is_signer_cert(sm2_identity.cert) and not info.is_signer_cert(rsa_identity.cert)
    assert verify_seal(der).valid


def test_tampered_seal_fails(maker, sm2_identity):
    der = bytearray(make_seal(name="测试章", picture=_png(), maker=maker, signer_certs=[sm2_identity.cert]))
    i = der.index(b"IEND") - 20  # a byte inside the picture (signed SealInfo)
    der[i] ^= 0x01
    result = verify_seal(bytes(der))
    assert not result.signature_ok and not result.valid
    assert "SEAL_SIGNATURE_INVALID" in result.codes


def test_tampered_name_fails(maker):
    der = make_seal(name="甲公司公章", picture=_png(), maker=maker)
    forged = der.replace("甲".encode(), "乙".encode())
    assert forged != der
    assert verify_seal(forged).codes == ("SEAL_SIGNATURE_INVALID",)


def test_validity_period(maker):
    der = make_seal(name="测试章", picture=_png(), maker=maker, valid_start=NOW - timedelta(days=10),
                    valid_end=NOW + timedelta(days=10))
    assert verify_seal(der, at=NOW).valid
    later = verify_seal(der, at=NOW + timedelta(days=11))
    assert later.signature_ok and not later.valid and later.codes == ("SEAL_EXPIRED",)
    earlier = verify_seal(der, at=NOW - timedelta(days=11))
    assert earlier.codes == ("SEAL_NOT_YET_VALID",)


def test_rsa_maker_refused(rsa_identity):
    with pytest.raises(SealUnsupported) as exc:
        make_seal(name="测试章", picture=_png(), maker=rsa_identity)
    assert exc.value.code == "SEAL_UNSUPPORTED_ALGORITHM"


@pytest.mark.parametrize("junk", [b"", b"not asn1", b"\x30\x03\x02\x01\x01",
                                  b"\x30\x06\x02\x01\x01\x02\x01\x02", b"\x30\x05\x30\x00\x30\x01"])
def test_garbage_rejected(junk):
    with pytest.raises(SealFormatError) as exc:
        parse_seal(junk)
    assert exc.value.code == "SEAL_FORMAT_INVALID"
    with pytest.raises(SealFormatError):
        parse_ses_signature(junk)


@pytest.mark.parametrize("version", [4, 1])
def test_ses_signature_roundtrip(maker, sm2_identity, event_identity_sm2, version):
    seal = make_seal(name="测试章", picture=_png(), maker=maker, signer_certs=[sm2_identity.cert],
                     version=version)
    digest = sm3_digest(b"<Signature>...</Signature>")
    sig = make_ses_signature(seal, digest, sm2_identity)
    info = parse_ses_signature(sig)
    assert info.family == ("v4" if version == 4 else "v1") and info.data_hash == digest
    assert info.time_info is not None
    assert abs((info.time_info - datetime.now(timezone.utc)).total_seconds()) < 120
    result = verify_ses_signature(sig, digest)
    assert result.valid, result.problems
    assert gmssl_verify_cert(info.signer_cert, info.signature, info.signed_bytes)
    assert verify_ses_signature(sig, sm3_digest(b"other")).codes == ("SES_DATA_HASH_MISMATCH",)
    # a signer whose certificate is not in the seal
    stranger = verify_ses_signature(make_ses_signature(seal, digest, event_identity_sm2))
    assert stranger.signature_ok and not stranger.valid and stranger.codes == ("SES_SIGNER_NOT_IN_SEAL",)
    tampered = bytearray(sig)
    tampered[tampered.index(digest) + 3] ^= 0xFF
    assert "SES_SIGNATURE_INVALID" in verify_ses_signature(bytes(tampered)).codes


def test_appearance_png_and_vector_refused(maker):
    assert Image.open(io.BytesIO(seal_appearance_png(make_seal(name="x章", picture=_png(), maker=maker)))).mode == "RGBA"
    ofd = make_seal(name="x章", picture=b"<ofd:Page/>", picture_type="OFD", maker=maker)
    with pytest.raises(SealUnsupported) as exc:
        seal_appearance_png(ofd)
    assert exc.value.code == "SEAL_PICTURE_NOT_RASTER"


# ------------------------------------------------------------------------------ real files (ofdrw)

SEALS = {  # file: (family, header version, name, scope)
    "UserV1.esl": ("v1", 1, "OFDRW测试用印章", SCOPE_SEQUENCE),
    "UserV4.esl": ("v4", 4, "OFD R&W 测试用印章", SCOPE_SEAL_INFO),
    "UserV5.esl": ("v4", 5, "OFD R&W V5测试用印章", SCOPE_SEAL_INFO),
}


@pytest.mark.parametrize("name", sorted(SEALS))
def test_corpus_seal(corpus_dir, name):
    family, version, seal_name, scope = SEALS[name]
    der = (corpus_dir / "ofdrw" / name).read_bytes()
    info = parse_seal(der)
    assert (info.family, info.version, info.name) == (family, version, seal_name)
    assert info.picture_type == "PNG" and (info.picture_width_mm, info.picture_height_mm) == (40, 40)
    assert info.signature_algorithm == "1.2.156.10197.1.501"
    assert len(info.signer_certs) == 1
    result = verify_seal(info, at=info.valid_start + timedelta(days=1))
    assert result.valid and result.signed_scope == scope, result.problems
    assert verify_seal(info, at=info.valid_end + timedelta(seconds=1)).codes == ("SEAL_EXPIRED",)
    assert gmssl_verify_cert(info.maker_cert, info.signature, info.signed_bytes)
    png = Image.open(io.BytesIO(seal_appearance_png(info)))
    assert png.size == (400, 400) and png.mode == "RGBA"


@pytest.mark.parametrize("name,version", [("SignedValueV4.dat", 4), ("SignedValueV5.dat", 5)])
def test_corpus_ses_signature(corpus_dir, name, version):
    info = parse_ses_signature((corpus_dir / "ofdrw" / name).read_bytes())
    assert info.family == "v4" and info.version == version
    assert info.property_info == "/Doc_0/Signs/Sign_0/Signature.xml"
    assert info.data_hash == bytes(32)  # ofdrw's unit test signs an all-zero dataHash
    result = verify_ses_signature(info, bytes(32))
    assert result.valid, result.problems
    assert result.signer_cert_in_seal and result.seal.signed_scope == SCOPE_SEAL_INFO
    assert gmssl_verify_cert(info.signer_cert, info.signature, info.signed_bytes)
    assert gmssl_verify_cert(info.seal.maker_cert, info.seal.signature, info.seal.signed_bytes)
    assert not verify_ses_signature(info, b"\x01" * 32).valid
    # ofdrw's V5 sample (2026) was signed with its 2020-2022 test certificates: reported, not fatal
    assert result.signer_cert_valid_at_signing is (version == 4)
    assert ("SES_SIGNER_CERT_OUT_OF_PERIOD" in {w.code for w in result.warnings}) is (version == 5)


def _tlv(data: bytes) -> tuple[bytes, bytes, bytes]:
    """(header, contents, rest) of the first DER TLV in ``data``."""
    n = data[1]
    if n & 0x80:
        k = n & 0x7F
        hl, length = 2 + k, int.from_bytes(data[2:2 + k], "big")
    else:
        hl, length = 2, n
    return data[:hl], data[hl:hl + length], data[hl + length:]


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def test_ber_encoded_seal_and_ext_datas(maker, sm2_identity):
    """A producer writing indefinite lengths (BouncyCastle BERSequence) over a DER signature."""
    der = make_seal(name="扩展数据章", picture=_png(), maker=maker, signer_certs=[sm2_identity.cert],
                    ext_datas=[("1.2.156.112562.1.1", True, b"\x01\x02")])
    info = parse_seal(der)
    assert [(e.oid, e.critical, e.value) for e in info.ext_datas] == [("1.2.156.112562.1.1", True, b"\x01\x02")]
    _h, outer, _ = _tlv(der)
    _h, seal_info, rest = _tlv(outer)
    body = b"\x30\x80" + seal_info + b"\x00\x00" + rest
    ber = b"\x30" + _der_len(len(body)) + body
    ber_info = parse_seal(ber)
    assert ber != der and ber_info.name == "扩展数据章"
    assert ber_info.signed_bytes == info.signed_bytes  # signed bytes are the DER form
    assert verify_seal(ber_info).valid


def test_nonstandard_scope_reported(maker):
    """A V4 seal signed GM/T 0031-style (over SEQUENCE{info, cert, alg}) verifies with a warning."""
    from sign.crypto import _der
    from sign.seals.gbt38540 import SESealV4

    seal = SESealV4.load(make_seal(name="范围章", picture=_png(), maker=maker))
    alt = _der.encode_sequence(seal["seal_info"].dump(), seal["cert"].dump(), seal["sign_alg_id"].dump())
    forged = SESealV4({"seal_info": seal["seal_info"], "cert": seal["cert"], "sign_alg_id": seal["sign_alg_id"],
                       "signed_value": maker.key.sign(alt)}).dump()
    result = verify_seal(forged)
    assert result.valid and result.signed_scope == SCOPE_SEQUENCE
    assert [w.code for w in result.warnings] == ["SEAL_NONSTANDARD_SCOPE"]
    assert not verify_seal(forged, strict_scope=True).valid
