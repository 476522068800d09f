"""RSA PDFs: B-T -> B-LT (DSS) -> B-LTA (document time-stamp), pyHanko's view, expiry, renewal."""
from __future__ import annotations

import asyncio
import datetime as dt
import io

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import ades
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.policy_decl import (PdfSignatureValidationSpec, RevinfoOnlineFetchingRule,
                                                 RevocationInfoGatheringSpec, SignatureValidationSpec)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import (CertRevTrustPolicy, RevocationCheckingPolicy,
                                              RevocationCheckingRule)
from pyhanko_certvalidator.registry import SimpleTrustManager

from sign.certs.validate import validate_chain
from sign.ltv.archive import renew
from sign.ltv.doc_timestamp import add_doc_timestamp
from sign.ltv.dss import add_dss
from sign.ltv.material import pdf_signatures
from sign.ltv.verify_at import verify_at
from sign.verify import verify

from .ltv_testkit import JUST_AFTER, forge_page_update, AFTER_SIGNER, AFTER_TSA1, HORIZON, NOW, RENEWAL_TIME, levels, signed_pdf


@pytest.fixture(scope="module")
def rsa_docs(rsa_pki):
    bt = signed_pdf(rsa_pki)
    lt = io.BytesIO()
    add_dss(bt, lt, rsa_pki.material())
    lta = io.BytesIO()
    add_doc_timestamp(lt.getvalue(), lta, rsa_pki.stamper1())
    return bt, lt.getvalue(), lta.getvalue()


def _pyhanko_lta(data: bytes, root) -> ades.AdESLTAValidationResult:
    """pyHanko's PAdES validation (ETSI EN 319 102-1 §5.6.3), offline, CRLs mandatory."""
    from asn1crypto import x509 as px509
    rule = RevocationCheckingRule.CRL_REQUIRED
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[px509.Certificate.load(root.dump())]),
        revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(ee_certificate_rule=rule,
                                                                   intermediate_ca_cert_rule=rule)))
    spec = PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY)))
    reader = PdfFileReader(io.BytesIO(data))
    return asyncio.run(ades.ades_lta_validation(reader.embedded_regular_signatures[0], spec))


def test_levels_bt_blt_blta(rsa_pki, rsa_docs):
    bt, lt, lta = rsa_docs
    assert [levels(verify_at(d, trust=[rsa_pki.root], at=JUST_AFTER)) for d in rsa_docs] == \
        [["B-T"], ["B-LT"], ["B-LTA"]]
    # our ordinary verifier accepts the DSS and the document time-stamp as allowed changes
    report = verify(lta, trust=[rsa_pki.root])
    assert report.valid, report.to_dict()
    assert [s.kind for s in report.signatures] == ["signature", "doc_timestamp"]
    assert {c.kind for c in report.signatures[0].changes_after} >= {"DSS_UPDATED", "DOC_TIMESTAMP_ADDED"}


def _pyhanko_dss_only(data: bytes, root):
    """pyHanko's signature validation with *only* the DSS as revocation source, CRLs mandatory,
    no fetching: what B-LT promises (the validation data is in the document)."""
    from asn1crypto import x509 as px509
    from pyhanko.sign.validation import validate_pdf_signature
    reader = PdfFileReader(io.BytesIO(data))
    dss = DocumentSecurityStore.read_dss(reader)
    vc = dss.as_validation_context({"trust_roots": [px509.Certificate.load(root.dump())],
                                    "allow_fetching": False, "revocation_mode": "hard-fail"})
    return validate_pdf_signature(reader.embedded_regular_signatures[0], vc)


def test_pyhanko_recognises_blt_and_blta(rsa_pki, rsa_docs):
    bt, lt, lta = rsa_docs
    without = _pyhanko_lta(bt, rsa_pki.root)        # no revocation data: indeterminate
    assert without.ades_subindic.status.name != "PASSED"
    status = _pyhanko_dss_only(lt, rsa_pki.root)    # B-LT: valid + trusted from the DSS alone
    assert status.bottom_line and status.trusted and status.timestamp_validity.valid
    archived = _pyhanko_lta(lta, rsa_pki.root)      # B-LTA: the document time-stamp is the evidence record
    assert archived.ades_subindic.status.name == "PASSED"
    assert archived.oldest_evidence_record_timestamp is not None
    # the VRI key is pyHanko's (SHA-1 of /Contents, upper-case hex)
    reader = PdfFileReader(io.BytesIO(lta))
    dss = DocumentSecurityStore.read_dss(reader)
    sig = reader.embedded_regular_signatures[0]
    key = DocumentSecurityStore.sig_content_identifier(sig.sig_object["/Contents"])
    assert key in dss.vri_entries
    assert len(dss.crls) == 2 and len(dss.certs) >= 4


def test_valid_after_signer_expiry(rsa_pki, rsa_docs):
    lta = rsa_docs[2]
    assert not validate_chain(rsa_pki.signer.cert, rsa_pki.signer.chain, trust=[rsa_pki.root],
                              at=AFTER_SIGNER).ok
    report = verify_at(lta, trust=[rsa_pki.root], at=AFTER_SIGNER)
    assert report.valid and levels(report) == ["B-LTA"], report.to_dict()
    sig = report.signatures[0]
    # the archive time-stamp was taken while this session ran (NOW is taken at import)
    assert sig.existence_time is not None
    assert NOW - dt.timedelta(minutes=1) <= sig.existence_time <= \
        dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1)
    assert sig.validated_at == sig.existence_time


def test_renewal_keeps_the_signature_valid(rsa_pki, rsa_docs):
    lta = rsa_docs[2]
    early = renew(lta, rsa_pki.stamper2(NOW), horizon=HORIZON, now=NOW)
    assert not early.renewed and early.reason == "not_due"
    res = renew(lta, rsa_pki.stamper2(), material=rsa_pki.material(RENEWAL_TIME), horizon=HORIZON,
                now=RENEWAL_TIME)
    assert res.renewed and res.reason == "expires_soon" and res.new_time == RENEWAL_TIME
    report = verify_at(res.data, trust=[rsa_pki.root], at=AFTER_TSA1)
    assert report.valid and levels(report) == ["B-LTA"], report.to_dict()
    ts = {t.name: t for t in report.timestamps}
    assert ts["DocTimeStamp2"].proven_by == "verification time"
    assert ts["DocTimeStamp1"].trusted and ts["DocTimeStamp1"].proven_by == "DocTimeStamp2"
    # renewing again at the same moment is a no-op (TSA-2 is good for years)
    assert not renew(res.data, rsa_pki.stamper2(), horizon=HORIZON, now=RENEWAL_TIME).renewed
    # pyHanko still validates the renewed file (now; both time-stamps in the evidence record)
    assert _pyhanko_lta(res.data, rsa_pki.root).ades_subindic.status.name == "PASSED"


def test_without_renewal_the_expired_timestamp_is_named(rsa_pki, rsa_docs):
    report = verify_at(rsa_docs[2], trust=[rsa_pki.root], at=AFTER_TSA1)
    assert not report.valid and levels(report) == [None]
    ts = {t.name: t for t in report.timestamps}
    assert not ts["DocTimeStamp1"].trusted
    assert "EXPIRED" in ts["DocTimeStamp1"].problems[0].message
    reasons = " ".join(report.signatures[0].reasons)
    assert "DocTimeStamp1" in reasons and "can no longer be trusted" in reasons


def test_tampering_after_archiving_is_detected(rsa_pki, rsa_docs):
    lta = rsa_docs[2]
    sigs_end = len(lta)
    # 1. a byte inside the signed ranges
    pos = lta.index(b"/Type /Page") + 1
    bad = lta[:pos] + b"t" + lta[pos + 1:]
    report = verify_at(bad, trust=[rsa_pki.root], at=AFTER_SIGNER)
    assert not report.valid
    # 2. an incremental update after the archive time-stamp changing the page content
    forged = lta + forge_page_update(lta)
    assert len(forged) > sigs_end
    report = verify_at(forged, trust=[rsa_pki.root], at=AFTER_SIGNER)
    assert not report.valid
    assert any(p.code == "PAGE_CONTENT_CHANGED" for s in report.signatures for p in s.problems)


def test_dss_has_vri_for_every_signature(rsa_pki, rsa_docs):
    import pikepdf
    with pikepdf.open(io.BytesIO(rsa_docs[2])) as pdf:
        keys = {str(k)[1:] for k in pdf.Root.DSS.VRI.keys()}
        assert {s.vri_key for s in pdf_signatures(pdf) if not s.is_doc_timestamp} <= keys


def test_revocation_after_existence_does_not_invalidate():
    """A revocation dated after the proven existence time keeps the signature valid; one dated
    before makes it invalid (embedded CRLs, offline)."""
    from .ltv_testkit import DAY, make_pki
    from sign.ltv.archive import add_pdf_archive
    from sign.ltv.material import Material
    pki = make_pki("rsa2048")
    doc = add_pdf_archive(signed_pdf(pki), pki.stamper1(), pki.material()).data
    pki.h.issuing.revoke(pki.signer.cert, reason="key_compromise", date=NOW + 10 * DAY)
    later_crls = Material((), (pki.h.issuing.crl(this_update=RENEWAL_TIME),))
    res = renew(doc, pki.stamper2(), material=later_crls, horizon=HORIZON, now=RENEWAL_TIME)
    report = verify_at(res.data, trust=[pki.root], at=AFTER_TSA1)
    assert report.valid and levels(report) == ["B-LTA"], report.to_dict()
    # revoked *before* the signature existed: not valid
    pki2 = make_pki("rsa2048")
    doc2 = signed_pdf(pki2)
    pki2.h.issuing.revoke(pki2.signer.cert, date=NOW - DAY / 24)
    doc2 = add_pdf_archive(doc2, pki2.stamper1(), pki2.material()).data
    report = verify_at(doc2, trust=[pki2.root], at=AFTER_SIGNER)
    assert not report.valid
    assert any(p.code == "CHAIN_REVOKED" for p in report.signatures[0].problems)


def test_as_of_a_date_before_the_renewal(rsa_pki, rsa_docs):
    """As of a date before the renewal, the renewal's time-stamp is not evidence yet."""
    res = renew(rsa_docs[2], rsa_pki.stamper2(), material=rsa_pki.material(RENEWAL_TIME), horizon=HORIZON,
                now=RENEWAL_TIME)
    report = verify_at(res.data, trust=[rsa_pki.root], at=AFTER_SIGNER)
    assert report.valid and levels(report) == ["B-LTA"]
    ts = {t.name: t for t in report.timestamps}
    assert not ts["DocTimeStamp2"].trusted and ts["DocTimeStamp2"].problems[0].code == "TIMESTAMP_AFTER_AT"
    assert ts["DocTimeStamp1"].proven_by == "verification time"
