"""SM2 (GM/T 0010) signatures made by our signer, cross-checked with gmssl (not our code)."""
from __future__ import annotations

import pytest
from asn1crypto import cms

import verify_testkit as pdfedit
from sign.verify import verify
from tests.gmssl_check import gmssl_verify_cert

from gmssl import sm3 as gmssl_sm3


@pytest.fixture(scope="module")
def sm2_root(sm2_identity):
    return sm2_identity.root


def test_our_sm2_signature_is_valid(our_sm2_pdf, sm2_root, sm2_identity):
    report = verify(our_sm2_pdf, trust=[sm2_root])
    assert report.valid, report.to_dict()
    (sig,) = report.signatures
    assert (sig.algorithm, sig.digest_algorithm) == ("sm2", "sm3")
    assert sig.sub_filter == "/adbe.pkcs7.detached"
    assert sig.signer.subject == sm2_identity.cert.subject.human_friendly
    assert sig.trust.trusted


def _sm3(data: bytes) -> bytes:
    return bytes.fromhex(gmssl_sm3.sm3_hash(list(data)))


def test_gmssl_independently_verifies_the_signed_attributes(our_sm2_pdf, sm2_identity):
    data = our_sm2_pdf
    _, _, (a, b, c, d) = pdfedit.byte_range_span(data)
    info = cms.ContentInfo.load(pdfedit.signature_der(data))
    si = info["content"]["signer_infos"][0]
    assert si["digest_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.401"
    md = next(x["values"][0].native for x in si["signed_attrs"] if x["type"].native == "message_digest")
    assert md == _sm3(data[a:a + b] + data[c:c + d])
    tbs = b"\x31" + si["signed_attrs"].dump()[1:]
    assert gmssl_verify_cert(sm2_identity.cert, si["signature"].native, tbs)
    assert verify(data).signatures[0].crypto_valid


def test_tampered_sm2_signature_fails(our_sm2_pdf):
    der = pdfedit.signature_der(our_sm2_pdf)
    info = cms.ContentInfo.load(der)
    value = info["content"]["signer_infos"][0]["signature"].native
    from asn1crypto.algos import DSASignature
    rs = DSASignature.load(value)
    bad = DSASignature({"r": rs["r"].native, "s": rs["s"].native ^ 1}).dump()
    assert len(bad) == len(value)
    forged = pdfedit.set_contents(our_sm2_pdf, der=der.replace(value, bad))
    (sig,) = verify(forged).signatures
    assert sig.intact and not sig.crypto_valid and not sig.valid


def test_dual_signature_sm2_then_rsa(plain_pdf, sm2_soft_signer, rsa_soft_signer, sm2_root, rsa_root):
    import io
    from sign.pdf import sign_pdf_dual

    out = io.BytesIO()
    sign_pdf_dual(plain_pdf, out, sm2_soft_signer, rsa_soft_signer)
    report = verify(out.getvalue(), trust=[sm2_root, rsa_root])
    assert report.valid, report.to_dict()
    assert [s.algorithm for s in report.signatures] == ["sm2", "rsa"]
    assert all(c.allowed for c in report.signatures[0].changes_after)


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    head = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes(
        (n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + head + content


def test_gm_t_0010_content_type_oid_is_accepted(our_sm2_pdf, sm2_root):
    """The same SignedData wrapped with GM/T 0010's signedData OID 1.2.156.10197.6.1.4.2.2."""
    from asn1crypto import core
    info = cms.ContentInfo.load(pdfedit.signature_der(our_sm2_pdf))
    gm_oid = core.ObjectIdentifier("1.2.156.10197.6.1.4.2.2").dump()
    gm = _der(0x30, gm_oid + _der(0xA0, info["content"].dump()))
    report = verify(pdfedit.set_contents(our_sm2_pdf, der=gm), trust=[sm2_root])
    assert report.valid, report.to_dict()
    assert report.signatures[0].algorithm == "sm2"
