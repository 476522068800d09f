"""SM2 (GM/T 0010) signatures, checked with gmssl (independent of our crypto code), and dual."""
from __future__ import annotations

import pikepdf
from asn1crypto import cms

from sign.pdf import sign_pdf, sign_pdf_dual
from sign.specs import SignatureSpec
from tests.gmssl_check import gmssl_verify_cert

from .pdf_testkit import pdfsig, pdfsig_validations, pyhanko_status


def _signatures(path):
    """(field name, /SubFilter, /ByteRange, CMS DER) of each signature, in field order."""
    out = []
    with pikepdf.open(path) as pdf:
        for f in pdf.Root.AcroForm.Fields:
            v = f.V
            out.append((str(f.T), str(v.SubFilter), [int(x) for x in v.ByteRange],
                        bytes(v.Contents)))
    return out


def _signed_bytes(path, br):
    data = path.read_bytes()
    return data[br[0]:br[0] + br[1]] + data[br[2]:br[2] + br[3]]


def _gmssl_verify(cert, signed_attrs_der: bytes, signature_der: bytes) -> bool:
    return gmssl_verify_cert(cert, signature_der, signed_attrs_der)


def _check_sm2_signature(path, name_sub_br_der, cert):
    from gmssl import sm3 as gm_sm3

    _, sub, br, der = name_sub_br_der
    assert sub == "/adbe.pkcs7.detached"
    info = cms.ContentInfo.load(der, strict=False)
    assert info["content_type"].dotted == "1.2.840.113549.1.7.2"  # standard id-signedData
    sd = info["content"]
    assert [a["algorithm"].dotted for a in sd["digest_algorithms"]] == ["1.2.156.10197.1.401"]
    si = sd["signer_infos"][0]
    assert si["digest_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.401"  # SM3
    assert si["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"  # SM2-SM3
    attrs = si["signed_attrs"]
    md = next(a["values"][0].native for a in attrs if a["type"].native == "message_digest")
    # the message digest is SM3 over the byte range (gmssl's pure-Python SM3)
    expected = gm_sm3.sm3_hash(list(_signed_bytes(path, br)))
    assert md.hex() == expected
    # the signature: SM2 over SM3(Z || DER(signed attributes as SET OF)) with the default uid
    signed_attrs_der = b"\x31" + attrs.dump()[1:]
    assert _gmssl_verify(cert, signed_attrs_der, si["signature"].native)
    # and it must fail for other bytes
    assert not _gmssl_verify(cert, signed_attrs_der + b"x", si["signature"].native)


def test_sm2_signature_verifies_with_gmssl(tmp_path, simple_pdf, sm2_signer, sm2_identity):
    out = tmp_path / "sm2.pdf"
    res = sign_pdf(simple_pdf, out, sm2_signer, SignatureSpec(reason="国密签名"))
    assert res.algorithm == "sm2"
    assert out.read_bytes().startswith(simple_pdf.read_bytes())
    [sig] = _signatures(out)
    _check_sm2_signature(out, sig, sm2_identity.cert)
    info = cms.ContentInfo.load(sig[3], strict=False)
    certs = [c.chosen.dump() for c in info["content"]["certificates"]]
    assert sm2_identity.cert.dump() in certs
    # poppler parses the blob and lists the signer (it cannot verify SM2 itself)
    report = pdfsig(out)
    assert "Signature Field Name: Signature1" in report and "adbe.pkcs7.detached" in report


def test_dual_sm2_then_rsa(tmp_path, simple_pdf, sm2_signer, rsa_signer, sm2_identity,
                           rsa_identity):
    out = tmp_path / "dual.pdf"
    results = sign_pdf_dual(simple_pdf, out, sm2_signer, rsa_signer,
                            SignatureSpec(field_name="SM2"), SignatureSpec(field_name="RSA"))
    assert [r.algorithm for r in results] == ["sm2", "rsa"]
    sigs = _signatures(out)
    assert [s[0] for s in sigs] == ["SM2", "RSA"]
    # two incremental updates: the SM2 revision ends where the second update starts
    data = out.read_bytes()
    sm2_end = sigs[0][2][2] + sigs[0][2][3]
    assert data[:sm2_end].rstrip().endswith(b"%%EOF")
    assert data.startswith(simple_pdf.read_bytes())
    # SM2 signature (covers its revision) verifies with gmssl
    sm2_rev = tmp_path / "sm2_rev.pdf"
    sm2_rev.write_bytes(data[:sm2_end])
    _check_sm2_signature(sm2_rev, sigs[0], sm2_identity.cert)
    # RSA signature valid for pyHanko and poppler
    statuses = dict(pyhanko_status(out, [rsa_identity.root], fields=["RSA"]))
    assert statuses["RSA"].intact and statuses["RSA"].valid and statuses["RSA"].trusted
    assert pdfsig_validations(out)[-1] == "Signature is Valid."


def test_sm2_with_timestamp(tmp_path, simple_pdf, sm2_signer, sm2_identity, tsa_server_url):
    import hashlib

    from asn1crypto import tsp

    from sign.timestamps import TimeStamper

    out = tmp_path / "sm2-ts.pdf"
    sign_pdf(simple_pdf, out, sm2_signer, SignatureSpec(timestamper=TimeStamper(tsa_server_url)))
    [sig] = _signatures(out)
    _check_sm2_signature(out, sig, sm2_identity.cert)
    si = cms.ContentInfo.load(sig[3], strict=False)["content"]["signer_infos"][0]
    [attr] = [a for a in si["unsigned_attrs"] if a["type"].dotted == "1.2.840.113549.1.9.16.2.14"]
    token = attr["values"][0]
    tst = tsp.TSTInfo.load(token["content"]["encap_content_info"]["content"].parsed.dump())
    imprint = tst["message_imprint"]
    assert imprint["hash_algorithm"]["algorithm"].native == "sha256"
    assert imprint["hashed_message"].native == hashlib.sha256(si["signature"].native).digest()
