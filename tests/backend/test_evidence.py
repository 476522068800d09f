"""Evidence [数据存证]: the per-document hash chain (every step in order, clause display times),
tamper detection, and the evidence report PDF signed by the platform (SM2 + RSA)."""
from __future__ import annotations

import io

from backend.models.document import EvidenceEvent
from backend.services import evidence
from sign.verify import verify
from tests.backend.files_testkit import OP, fill, import_examples, pdftotext, sealed_document

FLOW = [
    {"kind": "identity_check", "actor": "p-zhangwei", "ip": "10.1.2.3", "device": "iPhone 15 WeChat",
     "payload": {"method": "three_factor", "result": "match", "name": "张*"}},
    {"kind": "clause_shown", "actor": "p-zhangwei", "ip": "10.1.2.3",
     "payload": {"clause": "免责条款第一条", "shown_ms": 15200}},
    {"kind": "clause_shown", "actor": "p-zhangwei", "ip": "10.1.2.3",
     "payload": {"clause": "免责条款第二条", "shown_from": "2026-11-25T10:00:00+08:00",
                 "shown_until": "2026-11-25T10:00:12.500000+08:00"}},
    {"kind": "clause_ack", "actor": "p-zhangwei", "ip": "10.1.2.3",
     "payload": {"text": "本人已阅读并理解免责条款"}},
    {"kind": "intent", "actor": "p-zhangwei", "ip": "10.1.2.3",
     "payload": {"method": "sms_code", "result": "confirmed"}},
]


def _record_flow(api, doc_id: str) -> None:
    for step in FLOW:
        response = api.post(f"/api/v1/documents/{doc_id}/evidence", step, headers=OP)
        assert response.status_code == 201, response.text


def test_the_evidence_package_lists_every_step_in_order_with_clause_times(fapi):
    import_examples(fapi)
    before, doc = sealed_document(fapi)
    _record_flow(fapi, doc["id"])
    fapi.get(f"/api/v1/documents/{doc['id']}/desensitised", headers=OP)
    package = fapi.get(f"/api/v1/documents/{doc['id']}/evidence", headers=OP).json()
    kinds = [e["kind"] for e in package["events"]]
    assert kinds == ["created", "seal_use", "signature", "identity_check", "clause_shown",
                     "clause_shown", "clause_ack", "intent", "download"]
    assert [e["seq"] for e in package["events"]] == list(range(1, 10))
    assert all(a["hash"] == b["prev_hash"] for a, b in zip(package["events"], package["events"][1:]))
    assert package["chain"]["ok"] and package["chain"]["head"] == package["events"][-1]["hash"]
    assert package["clauses"] == [
        {"seq": 5, "clause": "免责条款第一条", "shown_ms": 15200, "signer": "p-zhangwei"},
        {"seq": 6, "clause": "免责条款第二条", "shown_ms": 12500, "signer": "p-zhangwei"}]
    identity = package["events"][3]
    assert identity["ip"] == "10.1.2.3" and identity["device"] == "iPhone 15 WeChat"
    assert package["document"]["current"]["sha256"] == doc["current"]["sha256"]
    assert package["document"]["original"]["sha256"] == before["original"]["sha256"]
    unknown = fapi.post(f"/api/v1/documents/{doc['id']}/evidence", {"kind": "created"}, headers=OP)
    assert unknown.status_code == 422


async def test_an_edited_deleted_or_reordered_event_breaks_the_chain(api):
    import_examples(api)
    doc = fill(api, "e_policy")
    _record_flow(api, doc["id"])
    assert (await evidence.verify_chain(doc["id"])).ok
    row = await EvidenceEvent.get(document_id=doc["id"], seq=5)
    row.payload = {**row.payload, "shown_ms": 60000}   # pretend the clause was read longer
    await row.save()
    report = await evidence.verify_chain(doc["id"])
    assert not report.ok and report.broken_at == 5 and "edited" in report.reason
    package = api.get(f"/api/v1/documents/{doc['id']}/evidence", headers=OP).json()
    assert package["chain"]["ok"] is False and package["chain"]["broken_at"] == 5
    await EvidenceEvent.filter(document_id=doc["id"], seq=5).delete()
    report = await evidence.verify_chain(doc["id"])
    assert not report.ok and report.broken_at == 5 and "deleted" in report.reason


def test_the_evidence_report_is_a_pdf_signed_by_the_platform_that_verifies(fapi, test_settings):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from backend.pki import PlatformPKI

    import_examples(fapi)
    _, doc = sealed_document(fapi)
    _record_flow(fapi, doc["id"])
    response = fapi.get(f"/api/v1/documents/{doc['id']}/evidence/report", headers=OP)
    assert response.status_code == 200, response.text
    assert response.headers["X-Evidence-Chain-OK"] == "true"
    pdf = response.content
    text = "".join(pdftotext(pdf).split())
    assert "电子数据存证报告" in text and doc["current"]["sha256"] in text
    assert "免责条款第一条" in text and "15.2秒" in text and "identity_check" in text
    roots = PlatformPKI.for_settings(test_settings).roots()
    report = verify(pdf, trust=roots)
    assert report.valid, report.to_dict()
    assert [s.algorithm for s in report.signatures] == ["sm2", "rsa"]
    assert all("数据存证" in s.signer.subject for s in report.signatures)
    stamp = report.signatures[1].timestamp
    assert stamp is not None and stamp.valid and stamp.trusted, report.to_dict()
    # pyHanko, independently, for the RSA signature
    reader = PdfFileReader(io.BytesIO(pdf))
    rsa = [s for s in reader.embedded_signatures
           if s.signer_cert.public_key.algorithm == "rsa"]
    assert len(rsa) == 1
    status = validate_pdf_signature(rsa[0], ValidationContext(
        trust_roots=[r for r in roots if r.public_key.algorithm == "rsa"]))
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.timestamp_validity is not None and status.timestamp_validity.intact


async def test_identity_checks_and_intents_are_taken_from_the_platforms_records(api, tenant):
    import datetime as dt

    from backend.models.identity import IdentityCheck, IntentChallenge, Person

    import_examples(api)
    doc = fill(api, "e_policy")
    person = await Person.create(tenant_id=tenant.tenant_id, name="张伟", id_number_enc="x",
                                 id_number_index="idx-1", id_number_masked="1101**********1234")
    check = await IdentityCheck.create(tenant_id=tenant.tenant_id, person=person,
                                       kind="three_factor", provider="aliyun", outcome="match",
                                       request_digest="ab" * 32)
    now = dt.datetime.now(dt.timezone.utc)
    intent = await IntentChallenge.create(
        tenant_id=tenant.tenant_id, person=person, method="sms",
        document_hash=doc["current"]["sha256"], expires_at=now + dt.timedelta(minutes=5),
        confirmed_at=now, client_ip="10.9.8.7")
    other = await IntentChallenge.create(
        tenant_id=tenant.tenant_id, person=person, method="sms", document_hash="0" * 64,
        expires_at=now + dt.timedelta(minutes=5), confirmed_at=now)
    path = f"/api/v1/documents/{doc['id']}/evidence"
    checked = api.post(path, {"kind": "identity_check",
                              "payload": {"identity_check_id": str(check.id),
                                          "outcome": "forged"}}, headers=OP)
    assert checked.status_code == 201, checked.text
    payload = checked.json()["payload"]
    assert payload["outcome"] == "match" and payload["provider"] == "aliyun"
    assert payload["from_platform_record"] is True
    confirmed = api.post(path, {"kind": "intent", "payload": {"intent_id": str(intent.id)}},
                         headers=OP)
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["ip"] == "10.9.8.7" and confirmed.json()["payload"]["method"] == "sms"
    mismatch = api.post(path, {"kind": "intent", "payload": {"intent_id": str(other.id)}},
                        headers=OP)
    assert mismatch.status_code == 422 and mismatch.json()["code"] == "INTENT_DOCUMENT_MISMATCH"
    unknown = api.post(path, {"kind": "identity_check",
                              "payload": {"identity_check_id": "nope"}}, headers=OP)
    assert unknown.status_code == 422 and unknown.json()["code"] == "EVIDENCE_REFERENCE_INVALID"
    assert (await evidence.verify_chain(doc["id"])).ok


async def test_concurrent_appends_keep_one_gapless_chain(api):
    import asyncio

    import_examples(api)
    doc = fill(api, "receipt")
    await asyncio.gather(*(evidence.append(doc["id"], "clause_shown", actor=f"p-{i}",
                                           payload={"clause": f"第{i}条", "shown_ms": 1000 + i})
                           for i in range(12)))
    events = await evidence.events_of(doc["id"])
    assert [e.seq for e in events] == list(range(1, 14))
    assert (await evidence.verify_chain(doc["id"])).ok
