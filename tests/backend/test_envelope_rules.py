"""Signing rules and bad input [签署规则]: idempotent issuance (also concurrent), order, signing
twice, deadlines and expiry, a revoked seal and a lapsed grant, refusals, voiding with both
parties and its signed statement, reminders, blank signatures, other tenants."""
from __future__ import annotations

import concurrent.futures
import datetime as dt

from backend.models.envelope import Envelope
from backend.models.billing import UsageEvent
from backend.services.envelopes import reminders
from sign.verify import verify
from tests.backend.envelope_testkit import (ADMIN, PASSWORD, company, create, document,
                                            make_seal, path, person, set_password, sign_as,
                                            signer_of, strokes)
from tests.backend.files_testkit import OP, import_examples, sample


def receipt(business_no: str, **extra) -> dict:
    return {"template": "receipt", "params": sample("receipt"), "business_no": business_no,
            "signers": [person("policyholder", "刘洋", 501, identity=())], **extra}


async def test_the_same_business_number_returns_the_first_envelope_even_concurrently(fapi):
    import_examples(fapi)
    first = create(fapi, receipt("DUP-1"))
    again = create(fapi, receipt("DUP-1"), expect=200)
    assert again["id"] == first["id"] and again["created"] is False

    def issue(_):
        return fapi.post("/api/v1/envelopes", receipt("DUP-2"), headers=OP)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(issue, range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert await Envelope.filter(business_no="DUP-2").count() == 1
    assert await UsageEvent.filter(kind="envelope.created").count() == 2  # metered once each


def test_bad_specs_are_refused_with_clear_codes(fapi):
    import_examples(fapi)
    cases = [
        ({"signers": []}, "VALIDATION_FAILED"),
        ({"signers": [{"kind": "person", "role": "x", "name": "张三"}]}, "ENVELOPE_SPEC_INVALID"),
        ({"signers": [person("a", "张三", 1, stage=2)]}, "ENVELOPE_SPEC_INVALID"),
        ({"signers": [person("a", "张三", 1)], "template": ""}, "ENVELOPE_SPEC_INVALID"),
        ({"signers": [{**person("a", "张三", 1), "id_number": "110105198001010000"}]},
         "ID_NUMBER_INVALID"),
        ({"deadline_at": "2000-01-01T00:00:00Z"}, "ENVELOPE_SPEC_INVALID"),
    ]
    for change, code in cases:
        body = {**receipt("BAD-1"), **change}
        response = fapi.post("/api/v1/envelopes", body, headers=OP)
        assert response.status_code == 422, (change, response.text)
        assert response.json()["code"] == code, (change, response.json())
    assert fapi.post("/api/v1/envelopes", receipt("X"), headers={}).status_code == 422


def test_a_malformed_search_filter_is_a_clear_422(fapi):
    for query in ({"batch_id": "not-a-uuid"}, {"status": "lost"}):
        response = fapi.get("/api/v1/envelopes", params=query, headers=OP)
        assert response.status_code == 422, (query, response.text)
        assert response.json()["code"] == "QUERY_INVALID"
    empty = fapi.get("/api/v1/envelopes", params={"batch_id": "6f1c2b0e-0000-4000-8000-000000000000"},
                     headers=OP)
    assert empty.status_code == 200 and empty.json()["total"] == 0


def test_order_twice_and_blank_signatures_are_refused(fapi):
    import_examples(fapi)
    envelope = create(fapi, {"template": "application", "params": sample("application"),
                             "business_no": "ORD-1",
                             "signers": [person("policyholder", "陈晨", 511, identity=()),
                                         person("insured", "陈小晨", 512, stage=2,
                                                identity=())]})
    insured = signer_of(envelope, "insured")
    assert fapi.post(path(envelope, insured, "/intent"), {}).json()["code"] == "SIGNER_NOT_READY"
    holder = signer_of(envelope, "policyholder")
    set_password(fapi, holder)
    started = fapi.post(path(envelope, holder, "/intent"), {}).json()
    blank = fapi.post(path(envelope, holder, "/sign"),
                      {"intent_id": started["id"], "signature": {"strokes": [[{"x": 1, "y": 1}]]}})
    assert blank.status_code == 422 and blank.json()["code"] == "SIGNATURE_BLANK"
    unconfirmed = fapi.post(path(envelope, holder, "/sign"),
                            {"intent_id": started["id"], "signature": {"strokes": strokes()}})
    assert unconfirmed.status_code == 404 and unconfirmed.json()["code"] == "INTENT_NOT_FOUND"
    fapi.post(f"/api/v1/identity/intents/{started['id']}/confirm", {"password": PASSWORD})
    signed = fapi.post(path(envelope, holder, "/sign"),
                       {"intent_id": started["id"], "signature": {"strokes": strokes()}})
    assert signed.status_code == 201, signed.text
    twice = fapi.post(path(envelope, holder, "/sign"),
                      {"intent_id": started["id"], "signature": {"strokes": strokes()}})
    assert twice.status_code == 409 and twice.json()["code"] == "SIGNER_ALREADY_SIGNED"
    after = fapi.get(f"/api/v1/envelopes/{envelope['id']}").json()
    assert after["status"] == "signing" and signer_of(after, "insured")["status"] == "ready"
    reused = fapi.post(path(after, signer_of(after, "insured"), "/sign"),
                       {"intent_id": started["id"], "signature": {"strokes": strokes()}})
    assert reused.json()["code"] == "INTENT_NOT_FOUND"  # another signer's intent
    assert len(verify(document(fapi, after)).signatures) == 1


def test_clauses_and_identity_must_come_before_signing(fapi):
    import_examples(fapi)
    clauses = [{"id": "c1", "title": "免责", "text": "不赔。"}]
    envelope = create(fapi, {**receipt("CL-1"), "clauses": clauses,
                             "signers": [person("policyholder", "何静", 521)]})
    holder = signer_of(envelope, "policyholder")
    set_password(fapi, holder)
    started = fapi.post(path(envelope, holder, "/intent"), {}).json()
    fapi.post(f"/api/v1/identity/intents/{started['id']}/confirm", {"password": PASSWORD})
    body = {"intent_id": started["id"], "signature": {"strokes": strokes()}}
    assert fapi.post(path(envelope, holder, "/sign"), body).json()["code"] == \
        "IDENTITY_CHECK_REQUIRED"
    fapi.post(path(envelope, holder, "/identity"), {})
    assert fapi.post(path(envelope, holder, "/sign"), body).json()["code"] == \
        "CLAUSES_NOT_ACKNOWLEDGED"
    assert fapi.post(path(envelope, holder, "/clauses/zz/ack"),
                     {"shown_seconds": 3}).json()["code"] == "CLAUSE_UNKNOWN"
    fapi.post(path(envelope, holder, "/clauses/c1/ack"), {"shown_seconds": 3})
    assert fapi.post(path(envelope, holder, "/sign"), body).status_code == 201


def test_a_failed_identity_check_stops_the_signer(fapi):
    import_examples(fapi)
    envelope = create(fapi, {**receipt("ID-1"),
                             "signers": [person("policyholder", "王不符", 531)]})
    response = fapi.post(path(envelope, signer_of(envelope, "policyholder"), "/identity"), {})
    assert response.status_code == 422 and response.json()["code"] == "IDENTITY_MISMATCH"


async def test_past_the_deadline_nothing_is_signed_and_the_envelope_expires(fapi, runtime):
    import_examples(fapi)
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2)).isoformat()
    envelope = create(fapi, {**receipt("DL-1"), "deadline_at": soon})
    holder = signer_of(envelope, "policyholder")
    set_password(fapi, holder)
    started = fapi.post(path(envelope, holder, "/intent"), {}).json()
    fapi.post(f"/api/v1/identity/intents/{started['id']}/confirm", {"password": PASSWORD})
    import asyncio
    await asyncio.sleep(2.5)
    late = fapi.post(path(envelope, holder, "/sign"),
                     {"intent_id": started["id"], "signature": {"strokes": strokes()}})
    assert late.status_code == 410 and late.json()["code"] == "ENVELOPE_EXPIRED"
    assert await reminders.expire_overdue(runtime) == 1
    final = fapi.get(f"/api/v1/envelopes/{envelope['id']}").json()
    assert final["status"] == "expired" and signer_of(final, "policyholder")["status"] == "stopped"
    assert fapi.post(f"/api/v1/envelopes/{envelope['id']}/remind", {},
                     headers=OP).json()["code"] == "ENVELOPE_STATE_INVALID"


def test_a_revoked_seal_or_lapsed_grant_seals_nothing_until_fixed(fapi):
    import_examples(fapi)
    seal_id = make_seal(fapi)
    suspended = fapi.post(f"/api/v1/seals/{seal_id}/transitions",
                          {"action": "suspend", "reason": "印章遗失"}, headers=ADMIN)
    assert suspended.status_code == 200, suspended.text
    envelope = create(fapi, {"template": "endorsement", "params": sample("endorsement"),
                             "business_no": "RV-1",
                             "signers": [person("policyholder", "林峰", 541, identity=()),
                                         company("insurer", seal_id, stage=2)]})
    after = sign_as(fapi, envelope, "policyholder")["envelope"]  # the person's signature stands
    insurer = signer_of(after, "insurer")
    assert after["status"] == "signing" and insurer["status"] == "ready"
    assert insurer["comment"].startswith("SEAL_")
    resumed = fapi.post(f"/api/v1/envelopes/{envelope['id']}/resume", {})
    assert resumed.status_code in (403, 409, 422) and resumed.json()["code"].startswith("SEAL_")
    fapi.post(f"/api/v1/seals/{seal_id}/transitions", {"action": "resume", "reason": "找回"},
              headers=ADMIN)
    grants = fapi.get(f"/api/v1/seals/{seal_id}/grants", headers=ADMIN).json()["items"]
    fapi.post(f"/api/v1/seal-grants/{grants[0]['id']}/revoke", {"reason": "调岗"}, headers=ADMIN)
    lapsed = fapi.post(f"/api/v1/envelopes/{envelope['id']}/resume", {})
    assert lapsed.status_code >= 400 and lapsed.json()["code"].startswith("SEAL_")
    assert len(verify(document(fapi, after)).signatures) == 1  # nothing sealed meanwhile
    make_seal(fapi)  # a new grant for u-sealer (another seal) does not cover this seal
    new_grant = fapi.post(f"/api/v1/seals/{seal_id}/grants", {
        "grantee_type": "user", "grantee_ref": "u-sealer", "reason": "恢复",
        "valid_from": dt.datetime.now(dt.timezone.utc).isoformat(),
        "valid_until": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).isoformat()},
        headers=ADMIN)
    assert new_grant.status_code == 201, new_grant.text
    fixed = fapi.post(f"/api/v1/envelopes/{envelope['id']}/resume", {})
    assert fixed.status_code == 200 and fixed.json()["status"] == "completed"
    assert len(verify(document(fapi, fixed.json())).signatures) == 3


def test_a_refusal_ends_the_envelope(fapi):
    import_examples(fapi)
    envelope = create(fapi, receipt("RJ-1"))
    holder = signer_of(envelope, "policyholder")
    refused = fapi.post(path(envelope, holder, "/reject"), {"comment": "信息有误"})
    assert refused.status_code == 200 and refused.json()["status"] == "rejected"
    assert refused.json()["end_reason"] == "信息有误"
    assert fapi.post(path(envelope, holder, "/intent"), {}).json()["code"] == \
        "ENVELOPE_STATE_INVALID"


def test_voiding_needs_both_parties_and_yields_a_signed_statement(fapi):
    import_examples(fapi)
    unsigned = create(fapi, receipt("VD-0"))
    alone = fapi.post(f"/api/v1/envelopes/{unsigned['id']}/void", {"reason": "录入错误"},
                      headers=OP)
    assert alone.status_code == 200, alone.text
    assert alone.json()["status"] == "voided"  # nobody signed yet: the initiator decides
    envelope = create(fapi, receipt("VD-1"))
    final = sign_as(fapi, envelope, "policyholder")["envelope"]
    asked = fapi.post(f"/api/v1/envelopes/{final['id']}/void", {"reason": "客户退保"}, headers=OP)
    holder = signer_of(final, "policyholder")
    assert asked.json() == {"status": "completed", "void_pending": [holder["id"]]}
    confirmed = fapi.post(path(final, holder, "/void-confirm"), {})
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "voided"
    statement_id = confirmed.json()["void_statement_id"]
    pdf = fapi.get(f"/api/v1/documents/{statement_id}/current", headers=OP)
    assert pdf.status_code == 200, pdf.text
    report = verify(pdf.content)
    assert len(report.signatures) == 2 and all(s.intact and s.crypto_valid
                                               for s in report.signatures)
    doc = fapi.get(f"/api/v1/documents/{final['document_id']}", headers=OP).json()
    assert doc["status"] == "voided" and doc["void_reason"] == "客户退保"
    again = fapi.post(f"/api/v1/envelopes/{final['id']}/void", {"reason": "x"}, headers=OP)
    assert again.json()["code"] == "ENVELOPE_STATE_INVALID"


def test_reminders_send_fresh_links_to_pending_persons(fapi):
    import_examples(fapi)
    envelope = create(fapi, receipt("RM-1"))
    sent = fapi.post(f"/api/v1/envelopes/{envelope['id']}/remind", {}, headers=OP)
    assert sent.status_code == 200 and len(sent.json()["message_ids"]) == 1


def test_other_tenants_see_no_envelope(fapi, files_server, other_tenant):
    from backend.client import ApiClient

    import_examples(fapi)
    envelope = create(fapi, receipt("OT-1"))
    with ApiClient(files_server, other_tenant.app_key, other_tenant.app_secret) as other:
        assert other.get(f"/api/v1/envelopes/{envelope['id']}").json()["code"] == \
            "ENVELOPE_NOT_FOUND"
        assert other.get("/api/v1/envelopes").json()["total"] == 0
        holder = envelope["signers"][0]
        assert other.post(path(envelope, holder, "/reject"), {"comment": "x"}).status_code == 404


def test_face_identity_runs_a_liveness_session_then_passes(fapi):
    import_examples(fapi)
    envelope = create(fapi, {**receipt("FACE-1"),
                             "signers": [person("policyholder", "冯青", 551, identity=("face",))]})
    holder = signer_of(envelope, "policyholder")
    first = fapi.post(path(envelope, holder, "/identity"), {})
    assert first.status_code == 200, first.text
    session = first.json()["face_session"]
    assert session["id"] and session["url"] and "identity_checked" not in first.json()
    forged = fapi.post(path(envelope, holder, "/identity"), {"face_session": "not-a-session"})
    assert forged.status_code == 422 and forged.json()["code"] == "IDENTITY_MISMATCH"
    done = fapi.post(path(envelope, holder, "/identity"), {"face_session": session["id"]})
    assert done.status_code == 200 and done.json()["identity_checked"] is True
    assert done.json()["done"][0]["kind"] == "face"
    again = fapi.post(path(envelope, holder, "/identity"), {})  # recently passed: not asked again
    assert again.json()["identity_checked"] is True


async def test_identity_checks_in_an_envelope_are_billed_to_its_unit_and_line(fapi):
    import_examples(fapi)
    envelope = create(fapi, {**receipt("UNIT-1"), "business_line": "renewal",
                             "signers": [person("policyholder", "高远", 561)]})
    fapi.post(path(envelope, signer_of(envelope, "policyholder"), "/identity"), {})
    event = await UsageEvent.get(kind="identity.three_factor")
    assert (event.unit_ref, event.business_line) == ("branch-sh", "renewal")


def test_a_hard_quota_refuses_the_signature_and_the_issue_beyond_it(fapi):
    import_examples(fapi)
    plan = fapi.request("PUT", "/api/v1/billing/plan", json={"name": "x", "items": {
        "signature.sm2": {"unit_price": 50, "quota": 1},
        "envelope.created": {"unit_price": 10, "quota": 2}}})
    assert plan.status_code == 200, plan.text
    first = create(fapi, receipt("Q-1"))
    second = create(fapi, receipt("Q-2"))
    refused = fapi.post("/api/v1/envelopes", receipt("Q-3"), headers=OP)
    assert refused.status_code == 402 and refused.json()["code"] == "QUOTA_EXCEEDED"
    sign_as(fapi, first, "policyholder")
    holder = signer_of(second, "policyholder")
    set_password(fapi, holder)
    started = fapi.post(path(second, holder, "/intent"), {}).json()
    fapi.post(f"/api/v1/identity/intents/{started['id']}/confirm", {"password": PASSWORD})
    over = fapi.post(path(second, holder, "/sign"),
                     {"intent_id": started["id"], "signature": {"strokes": strokes()}})
    assert over.status_code == 402 and over.json()["code"] == "QUOTA_EXCEEDED"
    assert signer_of(fapi.get(f"/api/v1/envelopes/{second['id']}").json(),
                     "policyholder")["status"] == "ready"  # nothing signed, turn kept
