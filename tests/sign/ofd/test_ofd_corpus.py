"""The real OFDs of ../shared/corpus/ofdrw (signed by ofdrw and by vendors' seal systems)."""
from __future__ import annotations

import zipfile

import pytest
from asn1crypto import x509

from sign.crypto.sm3 import sm3_digest
from sign.ofd import find_keyword, read_ofd, verify_ofd
from sign.seals import parse_ses_signature

from .ofd_testkit import add, entries, flip, gmssl_verify, modify, remove

SES_FILES = ["SESV4SignDoc.ofd", "signedFile.ofd", "v4signed.ofd", "allprotected.ofd"]
SIGNED = SES_FILES + ["DigitalSign.ofd"]
# SESV4SignDoc.ofd was signed on 2026-08-04 with a seal and a certificate that expired in 2022:
# its digests and signatures are intact, but it is (rightly) not valid.
EXPECTED_PROBLEMS = {"SESV4SignDoc.ofd": {"SEAL_EXPIRED", "CERT_EXPIRED_AT_SIGNING"}}


def _path(corpus_dir, name):
    return corpus_dir / "ofdrw" / name


@pytest.fixture(scope="module")
def test_cert(corpus_dir) -> x509.Certificate:
    """ofdrw's "Test Certificate" (USER.p12), the key that also signed DigitalSign.ofd (a bare
    SM2 signature without a certificate): taken from SESV4SignDoc's SES_Signature."""
    with zipfile.ZipFile(_path(corpus_dir, "SESV4SignDoc.ofd")) as zf:
        return parse_ses_signature(zf.read("Doc_0/Signs/Sign_0/SignedValue.dat")).signer_cert


@pytest.mark.parametrize("name", SIGNED)
def test_signed_corpus_verifies(corpus_dir, test_cert, name):
    report = verify_ofd(_path(corpus_dir, name).read_bytes(), signer_certs=[test_cert])
    assert report.readable and report.signatures
    for sig in report.signatures:
        assert sig.intact, [(r.path, r.status) for r in sig.references if r.status != "ok"] + list(sig.added_files)
        assert sig.crypto_valid, sig.codes
        assert all(r.status == "ok" for r in sig.references) and sig.references
        assert sig.codes == EXPECTED_PROBLEMS.get(name, set())
        assert sig.signer is not None
    assert report.valid == (name not in EXPECTED_PROBLEMS)


@pytest.mark.parametrize("name", SES_FILES)
def test_corpus_ses_structure_and_gmssl(corpus_dir, name):
    files = entries(_path(corpus_dir, name).read_bytes())
    report = verify_ofd(_path(corpus_dir, name).read_bytes())
    (sig,) = report.signatures
    assert sig.format == "SES_V4" and sig.seal.signature_ok
    info = parse_ses_signature(files[sig.signed_value_path])
    assert info.data_hash == sm3_digest(files[sig.path])  # dataHash = SM3(Signature.xml)
    assert gmssl_verify(info.signer_cert, info.signature, info.signed_bytes)  # over DER(TBS_Sign)
    assert sig.stamps and sig.stamps[0].page == 1


def test_digital_sign_needs_the_certificate(corpus_dir, test_cert):
    data = _path(corpus_dir, "DigitalSign.ofd").read_bytes()
    report = verify_ofd(data)
    assert report.signatures[0].format == "SM2" and "NO_SIGNER_CERT" in report.codes
    other = parse_ses_signature(entries(_path(corpus_dir, "signedFile.ofd").read_bytes())[
        "Doc_0/Signs/Sign_0/SignedValue.dat"]).signer_cert
    assert "SIGNATURE_INVALID" in verify_ofd(data, signer_certs=[other]).codes
    assert verify_ofd(data, signer_certs=[test_cert]).valid


@pytest.mark.parametrize("name", SIGNED)
def test_corpus_byte_flip_in_every_signed_part(corpus_dir, test_cert, name):
    data = _path(corpus_dir, name).read_bytes()
    base = verify_ofd(data, signer_certs=[test_cert])
    sig = base.signatures[0]
    parts = [r.path for r in sig.references] + [sig.path, sig.signed_value_path]
    for part in parts:
        report = verify_ofd(modify(data, part, flip), signer_certs=[test_cert])
        assert not report.valid, part
        codes = report.codes
        if part in (sig.path, sig.signed_value_path):
            assert codes & {"SES_DATA_HASH_MISMATCH", "SES_SIGNATURE_INVALID", "SIGNED_VALUE_MALFORMED",
                            "SIGNATURE_XML_MALFORMED", "SIGNATURE_INVALID", "SEAL_SIGNATURE_INVALID"}, (part, codes)
        else:
            assert "REF_CHANGED" in codes, (part, codes)


@pytest.mark.parametrize("name", SIGNED)
def test_corpus_file_removed_or_added(corpus_dir, test_cert, name):
    data = _path(corpus_dir, name).read_bytes()
    assert "REF_MISSING" in verify_ofd(remove(data, "Doc_0/Pages/Page_0/Content.xml"), signer_certs=[test_cert]).codes
    assert "FILE_ADDED" in verify_ofd(add(data, "Doc_0/Res/new.png", b"\x89PNG"), signer_certs=[test_cert]).codes


def test_keyword_corpus(corpus_dir):
    pkg = read_ofd(_path(corpus_dir, "keyword.ofd").read_bytes())
    hits = find_keyword(pkg, "不动产")
    assert len(hits) == 3 and all(h.page == 1 for h in hits)
    (hit,) = find_keyword(pkg, "抵押方式")
    assert hit.box[2] > 10 and hit.box[3] > 3
    assert find_keyword(pkg, "不存在的词") == []


def test_keyword_corpus_signatures_report_the_later_edits(corpus_dir):
    """keyword.ofd carries two vendor signatures (SES V4 seal + GM/T 0010 SignedData) from before
    its content was edited for the keyword demo: the SES signature itself verifies, the edits show."""
    report = verify_ofd(_path(corpus_dir, "keyword.ofd").read_bytes())
    seal_sig, sign_sig = report.signatures
    assert seal_sig.format == "SES_V4" and seal_sig.crypto_valid
    # Type="Sign": GM/T 0010 SignedData (GB/T 35275) over SM3(Signature.xml), raw r||s SM2 value
    assert sign_sig.format == "CMS" and sign_sig.crypto_valid
    assert sign_sig.codes <= {"REF_CHANGED", "FILE_ADDED"}
    for sig in report.signatures:
        assert {r.path for r in sig.references if r.status == "changed"} == {
            "OFD.xml", "Doc_0/Document.xml", "Doc_0/Pages/Page_0/Content.xml"}
    assert not report.valid


def test_keyword_corpus_cms_tampering(corpus_dir):
    data = _path(corpus_dir, "keyword.ofd").read_bytes()
    value = "Doc_0/Signs/Sign_3/SignedValue.dat"
    report = verify_ofd(modify(data, value, lambda b: flip(b, len(b) - 10)))
    assert not report.signatures[1].crypto_valid
    report = verify_ofd(modify(data, "Doc_0/Signs/Sign_3/Signature.xml",
                               lambda b: b.replace(b"oesplugin", b"oesplugix", 1)))
    assert "CMS_CONTENT_MISMATCH" in report.signatures[1].codes and not report.signatures[1].crypto_valid
