"""Generate -> sign (GB/T 38540 SES_Signature V4) -> verify, and every kind of tampering."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest

from sign.certs.profiles import CompanySubject
from sign.crypto.sm3 import sm3_digest
from sign.ofd import OfdError, StampPlacement, find_keyword, read_ofd, sign_ofd, verify_ofd
from sign.seals import make_seal, parse_ses_signature
from sign.signers import SoftwareSigner

from .ofd_testkit import KEYWORD, add, entries, flip, gmssl_verify, modify, policy_ofd, remove, seal_png

SIG = "Doc_0/Signs/Sign_0/Signature.xml"
VALUE = "Doc_0/Signs/Sign_0/SignedValue.dat"
SEAL = "Doc_0/Signs/Sign_0/Seal.esl"
CONTENT = "Doc_0/Pages/Page_0/Content.xml"


@pytest.fixture(scope="module")
def maker(ca):
    return ca.sm2.issuing.new_identity(CompanySubject("测试电子印章制作中心", credit_code="91110000100000001X"))


@pytest.fixture(scope="module")
def seal(maker, sm2_identity):
    return make_seal(name="测试保险股份有限公司合同专用章", picture=seal_png(), maker=maker,
                     signer_certs=[sm2_identity.cert])


@pytest.fixture(scope="module")
def trust(ca):
    return [ca.sm2.root.cert]


@pytest.fixture(scope="module")
def chain(ca):
    return [ca.sm2.issuing.cert]


@pytest.fixture(scope="module")
def signed(sm2_identity, seal):
    return sign_ofd(policy_ofd(), sm2_identity, seal, StampPlacement(page=1, box=(120, 230, 40, 40)))


def _codes(data: bytes, **kw) -> set[str]:
    report = verify_ofd(data, **kw)
    assert report.readable
    assert not report.valid
    return report.codes


def test_signed_verifies(signed, trust, chain, sm2_identity):
    report = verify_ofd(signed.data, trust=trust, intermediates=chain)
    assert report.valid, report.codes
    (sig,) = report.signatures
    assert sig.type == "Seal" and sig.format == "SES_V4" and sig.intact and sig.crypto_valid
    assert sig.trust.checked and sig.trust.trusted
    assert sig.seal.name == "测试保险股份有限公司合同专用章" and sig.seal.signature_ok and sig.seal.within_validity
    assert sig.signer.subject == sm2_identity.cert.subject.human_friendly
    assert [(s.page, s.box) for s in sig.stamps] == [(1, (120.0, 230.0, 40.0, 40.0))]
    assert sig.method == "1.2.156.10197.1.501"
    files = entries(signed.data)
    protected = {r.path for r in sig.references}
    assert protected == set(files) - {SIG, VALUE, "Doc_0/Signs/Signatures.xml"}
    assert SEAL in protected and "OFD.xml" in protected


def test_signature_xml_layout(signed):
    files = entries(signed.data)
    sig = files[SIG].decode()
    assert 'CheckMethod="1.2.156.10197.1.401"' in sig
    assert "<ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>" in sig
    assert '<ofd:StampAnnot ID="1" PageRef=' in sig and 'Boundary="120 230 40 40"' in sig
    digest = base64.b64encode(sm3_digest(files[CONTENT])).decode()
    assert f'FileRef="/{CONTENT}"><ofd:CheckValue>{digest}</ofd:CheckValue>' in sig
    assert b"<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures>" in files["OFD.xml"]
    assert b'Type="Seal" BaseLoc="/Doc_0/Signs/Sign_0/Signature.xml"' in files["Doc_0/Signs/Signatures.xml"]


def test_ses_signature_content_and_gmssl(signed, seal, sm2_identity):
    """dataHash = SM3(Signature.xml); the SM2 signature over DER(TBS_Sign) verifies with gmssl."""
    files = entries(signed.data)
    info = parse_ses_signature(files[VALUE])
    assert info.family == "v4" and info.version == 4
    assert info.data_hash == sm3_digest(files[SIG])
    assert info.property_info == "/" + SIG
    assert info.seal.der == seal == files[SEAL]
    assert info.signer_cert.dump() == sm2_identity.cert.dump()
    assert gmssl_verify(info.signer_cert, info.signature, info.signed_bytes)


def test_tamper_content(signed):
    codes = _codes(modify(signed.data, CONTENT, lambda b: b.replace("张三".encode(), "王五".encode())))
    assert "REF_CHANGED" in codes


def test_tamper_byte_in_every_signed_file(signed):
    report = verify_ofd(signed.data)
    for ref in report.signatures[0].references:
        tampered = modify(signed.data, ref.path, flip)
        codes = _codes(tampered)
        assert "REF_CHANGED" in codes, ref.path


def test_add_file(signed):
    assert "FILE_ADDED" in _codes(add(signed.data, "Doc_0/Res/extra.png", seal_png()))
    assert "FILE_ADDED" in _codes(add(signed.data, "Doc_0/Signs/Sign_0/note.txt", b"x"))


def test_remove_file(signed):
    codes = _codes(remove(signed.data, "Doc_0/Res/font_1.ttf"))
    assert "REF_MISSING" in codes


def test_change_signature_xml(signed):
    # still well-formed: move the stamp
    codes = _codes(modify(signed.data, SIG, lambda b: b.replace(b'Boundary="120 230', b'Boundary="20 30')))
    assert "SES_DATA_HASH_MISMATCH" in codes
    report = verify_ofd(modify(signed.data, SIG, lambda b: b.replace(b'Boundary="120 230', b'Boundary="20 30')))
    assert not report.signatures[0].crypto_valid


def test_change_signed_value(signed):
    files = entries(signed.data)
    value = files[VALUE]
    # the last bytes are the signature value (BIT STRING) of SES_Signature
    codes = _codes(modify(signed.data, VALUE, lambda b: flip(b, len(b) - 5)))
    assert "SES_SIGNATURE_INVALID" in codes
    codes = _codes(modify(signed.data, VALUE, lambda b: b[: len(value) // 2]))
    assert "SIGNED_VALUE_MALFORMED" in codes


def test_change_seal_file(signed):
    codes = _codes(modify(signed.data, SEAL, lambda b: flip(b, len(b) - 3)))
    assert {"REF_CHANGED", "SEAL_FILE_MISMATCH"} <= codes


def test_broken_xml_part_still_reported_as_changed(signed):
    codes = _codes(modify(signed.data, "Doc_0/Document.xml", lambda b: b[:-20]))
    assert {"STRUCTURE_BROKEN", "REF_CHANGED"} <= codes


def test_remove_signature_parts(signed):
    assert "SIGNED_VALUE_MISSING" in _codes(remove(signed.data, VALUE))
    assert "SIGNATURE_XML_MISSING" in _codes(remove(signed.data, SIG))


def test_unsigned_document():
    report = verify_ofd(policy_ofd())
    assert report.readable and not report.valid and report.codes == {"NOT_SIGNED"}


def test_untrusted_root(signed, rsa_identity):
    codes = _codes(signed.data, trust=[rsa_identity.root])
    assert "CHAIN_UNTRUSTED_ROOT" in codes


def test_second_signature_keeps_first_valid(signed, sm2_identity, seal, trust, chain):
    twice = sign_ofd(signed.data, sm2_identity, seal, StampPlacement(keyword=KEYWORD))
    assert twice.signature_path == "Doc_0/Signs/Sign_1/Signature.xml" and twice.signature_id == "2"
    report = verify_ofd(twice.data, trust=trust, intermediates=chain)
    assert report.valid, report.codes
    assert len(report.signatures) == 2
    second = {r.path for r in report.signatures[1].references}
    assert {SIG, VALUE, SEAL} <= second  # the later signature protects the earlier one
    # tampering the first signature's value now breaks both
    report = verify_ofd(modify(twice.data, VALUE, lambda b: flip(b, len(b) - 5)))
    assert not report.signatures[0].valid and "REF_CHANGED" in report.signatures[1].codes


def test_keyword_placement(sm2_identity, seal):
    data = policy_ofd(pages=2)
    (hit,) = find_keyword(read_ofd(data), KEYWORD)
    assert hit.page == 2
    signed = sign_ofd(data, sm2_identity, seal, StampPlacement(keyword=KEYWORD, size=(40, 40), offset=(5, 0)))
    (stamp,) = signed.stamps
    assert stamp.page == 2
    cx, cy = stamp.box[0] + 20, stamp.box[1] + 20
    assert abs(cx - (hit.box[0] + hit.box[2] / 2 + 5)) < 0.01 and abs(cy - (hit.box[1] + hit.box[3] / 2)) < 0.01
    # the keyword line starts at x=120, y=200 (top of the line), 5 mm high: 5 characters of 5 mm
    assert 120 <= hit.box[0] < 121 and 199 < hit.box[1] < 202 and 24 < hit.box[2] < 26
    report = verify_ofd(signed.data)
    assert report.signatures[0].stamps[0].page == 2


def test_placement_errors(sm2_identity, seal):
    data = policy_ofd()
    with pytest.raises(OfdError) as info:
        sign_ofd(data, sm2_identity, seal, StampPlacement(keyword="不存在的关键字"))
    assert info.value.code == "keyword_not_found"
    with pytest.raises(OfdError) as info:
        sign_ofd(data, sm2_identity, seal, StampPlacement(page=3, box=(0, 0, 10, 10)))
    assert info.value.code == "page_out_of_range"
    with pytest.raises(OfdError) as info:
        sign_ofd(data, sm2_identity, seal, StampPlacement(page=1, box=(0, 0, 0, 10)))
    assert info.value.code == "bad_placement"


def test_signer_not_in_seal(maker, seal, ca):
    other = ca.sm2.issuing.new_identity(CompanySubject("另一家公司", credit_code="91110000100000002X"))
    with pytest.raises(OfdError) as info:
        sign_ofd(policy_ofd(), other, seal, None)
    assert info.value.code == "bad_seal"
    with pytest.raises(OfdError) as info:
        sign_ofd(policy_ofd(), other, b"not a seal", None)
    assert info.value.code == "bad_seal"


def test_rsa_signer_refused(rsa_identity, seal):
    with pytest.raises(OfdError) as info:
        sign_ofd(policy_ofd(), rsa_identity, seal, None)
    assert info.value.code == "signer_error"


def test_external_signer_hook(sm2_identity, seal, trust, chain):
    """A sign.signers.Signer (sign_raw only, as an HSM) produces the same verifiable structure."""
    signer = SoftwareSigner(sm2_identity.key, sm2_identity.cert, sm2_identity.chain)
    signed = sign_ofd(policy_ofd(), signer, seal, None)
    report = verify_ofd(signed.data, trust=trust, intermediates=chain)
    assert report.valid, report.codes
    assert report.signatures[0].stamps == ()


def test_expired_seal_at_signing(maker, ca):
    now = datetime.now(timezone.utc)
    signer = ca.sm2.issuing.new_identity(CompanySubject("测试保险股份有限公司", credit_code="91110000100000000X"),
                                         not_before=now - timedelta(days=25))
    old = make_seal(name="过期章", picture=seal_png(), maker=maker, signer_certs=[signer.cert],
                    valid_start=now - timedelta(days=20), valid_end=now - timedelta(days=10))
    signed = sign_ofd(policy_ofd(), signer, old, None)
    assert "SEAL_EXPIRED" in _codes(signed.data)
    # signed while the seal was valid (time given): fine
    ok = sign_ofd(policy_ofd(), signer, old, None, time=now - timedelta(days=15))
    report = verify_ofd(ok.data)
    assert report.valid, report.codes


def test_certificate_not_yet_valid_at_signing(sm2_identity, seal):
    """A signing time (TBS_Sign timeInfo) before the signer certificate existed is refused."""
    early = sign_ofd(policy_ofd(), sm2_identity, seal, None, time=datetime.now(timezone.utc) - timedelta(days=15))
    assert {"CERT_NOT_YET_VALID_AT_SIGNING", "SEAL_NOT_YET_VALID"} <= _codes(early.data)
