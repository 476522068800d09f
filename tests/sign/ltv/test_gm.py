"""SM2 PDFs and OFDs: GM-T -> GM-LTA with SM2/SM3 archive time-stamps, expiry, renewal, tampering."""
from __future__ import annotations

import io

import pytest

from sign.crypto.sm3 import sm3_digest
from sign.ltv.archive import add_pdf_archive, renew
from sign.ltv.material import Material, pdf_signatures
from sign.ltv.ofd import add_archive, read_archives
from sign.ltv.verify_at import verify_at
from sign.ofd.package import read_zip, write_zip
from sign.ofd.verify import verify_ofd
from sign.timestamps import tst_info
from tests.gmssl_check import gmssl_verify_cert

from .ltv_testkit import (JUST_AFTER, AFTER_SIGNER, AFTER_TSA1, HORIZON, NOW, RENEWAL_TIME, forge_page_update, levels,
                          signed_ofd, signed_pdf)


def _gmssl_verify_token(token, cert) -> bool:
    """gmssl (independent SM2/SM3 code) verifies the TSA's SM2 signature over the signed attributes."""
    si = token["content"]["signer_infos"][0]
    return gmssl_verify_cert(cert, si["signature"].native, si["signed_attrs"].untag().dump())


@pytest.fixture(scope="module")
def sm2_pdf_docs(sm2_pki):
    gmt = signed_pdf(sm2_pki)
    res = add_pdf_archive(gmt, sm2_pki.stamper1(), sm2_pki.material())
    return gmt, res.data


def test_sm2_pdf_levels_and_gm_archive_token(sm2_pki, sm2_pdf_docs):
    gmt, lta = sm2_pdf_docs
    assert levels(verify_at(gmt, trust=[sm2_pki.root], at=JUST_AFTER)) == ["GM-T"]
    report = verify_at(lta, trust=[sm2_pki.root], at=JUST_AFTER)
    assert report.valid and levels(report) == ["GM-LTA"], report.to_dict()
    doc_ts = next(t for t in report.timestamps if t.kind == "doc_timestamp")
    assert doc_ts.gm and doc_ts.algorithm == "sm2" and doc_ts.hash_alg == "sm3"
    import pikepdf
    with pikepdf.open(io.BytesIO(lta)) as pdf:
        ts = [s for s in pdf_signatures(pdf) if s.is_doc_timestamp][0]
    # independent checks: gmssl verifies the TST's SM2 signature; SM3 of the byte range (gmssl)
    from gmssl import sm3, func
    cert = [c for c in ts.certs if c.subject.human_friendly.startswith("Common Name: TSA-1")][0]
    assert _gmssl_verify_token(ts.token, cert)
    br = ts.byte_range
    covered = lta[br[0]:br[0] + br[1]] + lta[br[2]:br[2] + br[3]]
    imprint = tst_info(ts.token)["message_imprint"]["hashed_message"].native
    assert imprint == sm3_digest(covered)
    small = covered[:4096]
    assert sm3.sm3_hash(func.bytes_to_list(small)) == sm3_digest(small).hex()


def test_sm2_pdf_expiry_renewal_and_tampering(sm2_pki, sm2_pdf_docs):
    lta = sm2_pdf_docs[1]
    assert levels(verify_at(lta, trust=[sm2_pki.root], at=AFTER_SIGNER)) == ["GM-LTA"]
    stale = verify_at(lta, trust=[sm2_pki.root], at=AFTER_TSA1)
    assert not stale.valid and any(p.code == "TIMESTAMP_UNTRUSTED" for t in stale.timestamps for p in t.problems)
    res = renew(lta, sm2_pki.stamper2(), material=sm2_pki.material(RENEWAL_TIME), horizon=HORIZON,
                now=RENEWAL_TIME)
    assert res.renewed
    report = verify_at(res.data, trust=[sm2_pki.root], at=AFTER_TSA1)
    assert report.valid and levels(report) == ["GM-LTA"], report.to_dict()
    assert [t.gm for t in report.timestamps if t.kind == "doc_timestamp"] == [True, True]
    forged = res.data + forge_page_update(res.data)
    assert not verify_at(forged, trust=[sm2_pki.root], at=AFTER_TSA1).valid


def test_sm2_pdf_rsa_archive_stays_gm_lt(sm2_pki, rsa_pki):
    """An RSA/SHA-256 archive time-stamp is not a GM archive: the SM2 signature reaches GM-LT."""
    gmt = signed_pdf(sm2_pki)
    res = add_pdf_archive(gmt, rsa_pki.stamper1(), sm2_pki.material(), hash_alg="sha256")
    report = verify_at(res.data, trust=[sm2_pki.root, rsa_pki.root], at=JUST_AFTER)
    assert levels(report) == ["GM-LT"], report.to_dict()
    assert any("not a GM archive" in r for r in report.signatures[0].reasons)


@pytest.fixture(scope="module")
def ofd_docs(sm2_pki):
    signed = signed_ofd(sm2_pki)
    archived = add_archive(signed, sm2_pki.stamper1(), sm2_pki.material())
    return signed, archived


def test_ofd_archive_structure_and_level(sm2_pki, ofd_docs):
    signed, archived = ofd_docs
    # before archiving, the issuing CA certificate must come from outside (SES embeds the signer's only)
    assert levels(verify_at(signed, trust=[sm2_pki.root], at=JUST_AFTER)) == [None]
    chain = Material(tuple(sm2_pki.signer.chain))
    assert levels(verify_at(signed, trust=[sm2_pki.root], at=JUST_AFTER, extra=chain)) == ["GM-B"]
    files = read_zip(archived.data)
    assert archived.xml_path == "Doc_0/Signs/Archive/archive_1.xml"
    assert {"Doc_0/Signs/Archive/archive_1.xml", "Doc_0/Signs/Archive/archive_1.tsr"} <= set(files)
    (arch,) = read_archives(files)
    assert {p for p, _ in arch.references} == set(read_zip(signed))
    assert all(sm3_digest(files[p]) == d for p, d in arch.references)
    from gmssl import func, sm3
    small = [(p, d) for p, d in arch.references if len(files[p]) < 4096]
    assert small and all(sm3.sm3_hash(func.bytes_to_list(files[p])) == d.hex() for p, d in small)
    token = arch.token
    assert tst_info(token)["message_imprint"]["hashed_message"].native == sm3_digest(files[arch.xml_path])
    cert = [c for c in arch.material.certs if c.subject.human_friendly.startswith("Common Name: TSA-1")][0]
    assert _gmssl_verify_token(token, cert)
    # the ordinary OFD verifier sees the archive files as unprotected additions ...
    assert "FILE_ADDED" in verify_ofd(archived.data).codes
    # ... the LTV verifier knows them
    report = verify_at(archived.data, trust=[sm2_pki.root], at=JUST_AFTER)
    assert report.valid and levels(report) == ["GM-LTA"], report.to_dict()


def test_ofd_expiry_and_renewal(sm2_pki, ofd_docs):
    data = ofd_docs[1].data
    assert levels(verify_at(data, trust=[sm2_pki.root], at=AFTER_SIGNER)) == ["GM-LTA"]
    stale = verify_at(data, trust=[sm2_pki.root], at=AFTER_TSA1)
    assert not stale.valid
    assert "archive_1" in " ".join(stale.signatures[0].reasons)
    assert not renew(data, sm2_pki.stamper2(NOW), horizon=HORIZON, now=NOW).renewed
    res = renew(data, sm2_pki.stamper2(), material=sm2_pki.material(RENEWAL_TIME), horizon=HORIZON,
                now=RENEWAL_TIME)
    assert res.renewed
    archives = read_archives(read_zip(res.data))
    assert [a.index for a in archives] == [1, 2]
    covered = {p for p, _ in archives[1].references}
    assert {archives[0].xml_path, archives[0].tsr_path} <= covered     # the renewal covers archive_1
    report = verify_at(res.data, trust=[sm2_pki.root], at=AFTER_TSA1)
    assert report.valid and levels(report) == ["GM-LTA"], report.to_dict()
    ts = {t.name: t for t in report.timestamps}
    assert ts["archive_1"].proven_by == "archive_2"


def test_ofd_tampering_after_archiving(sm2_pki, ofd_docs):
    data = ofd_docs[1].data
    files = dict(read_zip(data))
    page = next(n for n in files if n.endswith("Content.xml"))
    changed = dict(files)
    changed[page] = files[page].replace("长期验证".encode(), "伪造内容".encode())
    report = verify_at(write_zip(changed), trust=[sm2_pki.root], at=AFTER_SIGNER)
    assert not report.valid
    assert {"ARCHIVE_REF_CHANGED"} <= {p.code for p in report.problems}
    added = dict(files)
    added["Doc_0/Res/extra.xml"] = b"<x/>"
    report = verify_at(write_zip(added), trust=[sm2_pki.root], at=AFTER_SIGNER)
    assert not report.valid and "FILE_ADDED_AFTER_ARCHIVE" in {p.code for p in report.problems}
    # a forged archive file (e.g. material swapped) breaks its token
    forged = dict(files)
    forged["Doc_0/Signs/Archive/archive_1.xml"] = files["Doc_0/Signs/Archive/archive_1.xml"].replace(
        b"Version=\"1\"", b"Version=\"1\" ")
    report = verify_at(write_zip(forged), trust=[sm2_pki.root], at=AFTER_SIGNER)
    assert not report.valid and "ARCHIVE_TOKEN_MISMATCH" in {p.code for p in report.problems}
