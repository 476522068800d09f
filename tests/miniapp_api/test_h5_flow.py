"""The H5 signing API behind the mobile page (/h5/api/links/<id>/...): a person walks every step
through their link's cookie session, and every bad input is a clear, stable error with nothing
signed twice."""
from __future__ import annotations

import datetime as dt

import httpx

from backend.models.envelope import EnvelopeSigner
from backend.models.signing_link import SigningLink
from sign.verify import verify
from tests.backend.envelope_testkit import PASSWORD, person, set_password, signer_of, strokes
from tests.backend.files_testkit import OP
from tests.miniapp_api.h5_testkit import (CHANGES, CLAUSES, Phone, expect, issue_envelope,
                                          issue_link, last_sms_code)


def _walk_to_intent(phone: Phone) -> None:
    expect(phone.post("/identity"), 200)
    for clause in CLAUSES:
        expect(phone.post(f"/clauses/{clause['id']}/ack", {"shown_seconds": 4.2}), 200)


def _confirmed_password_intent(phone: Phone) -> str:
    started = expect(phone.post("/intent"), 201)
    assert started["method"] == "password"
    expect(phone.post("/intent/confirm", {"intent_id": started["id"], "password": PASSWORD}), 200)
    return started["id"]


async def test_a_person_signs_through_the_link_and_downloads_a_verifying_pdf(fapi, files_server):
    envelope = issue_envelope(fapi)
    link = issue_link(fapi, envelope)
    set_password(fapi, link["signer"])
    phone = Phone(files_server, link)

    before = expect(phone.get("/state"), 200)
    assert before["step"] == "identity" and before["signer"]["name"] == "张*"
    assert before["signer"]["identity_methods"] == ["three_factor"]
    assert before["signer"]["intent_method"] == "password"
    assert before["clauses"] == [] and before["changes"] == [] and before["page_count"] is None
    assert "张伟" not in phone.get("/state").text  # masked only
    expect(phone.get("/pages/1.png"), 409, "IDENTITY_CHECK_REQUIRED")
    expect(phone.get("/document.pdf"), 409, "IDENTITY_CHECK_REQUIRED")
    expect(phone.post("/clauses/c1/ack", {"shown_seconds": 3}), 409, "IDENTITY_CHECK_REQUIRED")
    expect(phone.post("/intent"), 409, "IDENTITY_CHECK_REQUIRED")

    identity = expect(phone.post("/identity"), 200)
    assert identity["identity_checked"] is True and identity["methods"] == ["three_factor"]
    after = expect(phone.get("/state"), 200)
    assert after["step"] == "clauses" and after["page_count"] >= 1
    assert [c["id"] for c in after["clauses"]] == ["c1", "c2"]
    assert after["changes"] == [{**CHANGES[0]}]
    page = phone.get("/pages/1.png")
    assert page.status_code == 200 and page.content[:8] == b"\x89PNG\r\n\x1a\n"
    expect(phone.get("/pages/99.png"), 422, "PAGE_OUT_OF_RANGE")
    expect(phone.get("/pages/abc"), 422, "PAGE_OUT_OF_RANGE")

    expect(phone.post("/clauses/nope/ack", {"shown_seconds": 3}), 422, "CLAUSE_UNKNOWN")
    expect(phone.post("/clauses/c1/ack", {"shown_seconds": -1}), 422, "VALIDATION_FAILED")
    expect(phone.post("/sign", {"strokes": strokes()}), 409, "CLAUSES_NOT_ACKNOWLEDGED")
    for clause in CLAUSES:
        acked = expect(phone.post(f"/clauses/{clause['id']}/ack", {"shown_seconds": 5.5}), 200)
    assert acked["clauses_acknowledged"] == ["c1", "c2"]
    assert expect(phone.get("/state"), 200)["step"] == "intent"

    expect(phone.post("/sign", {"strokes": strokes()}), 404, "INTENT_NOT_FOUND")
    started = expect(phone.post("/intent"), 201)
    wrong = expect(phone.post("/intent/confirm", {"intent_id": started["id"], "password": "x"}),
                   422, "INTENT_WRONG_ANSWER")
    assert wrong["details"]["attempts_left"] == 4
    expect(phone.post("/sign", {"intent_id": started["id"], "strokes": strokes()}), 404,
           "INTENT_NOT_FOUND")  # not confirmed yet
    expect(phone.post("/intent/confirm", {"intent_id": started["id"], "password": PASSWORD}), 200)

    expect(phone.post("/sign", {"intent_id": started["id"], "strokes": []}), 422,
           "SIGNATURE_BLANK")
    dot = [[{"x": 10, "y": 10, "t": 0}, {"x": 12, "y": 11, "t": 16}]]
    expect(phone.post("/sign", {"intent_id": started["id"], "strokes": dot}), 422,
           "SIGNATURE_BLANK")
    expect(phone.post("/sign", {"intent_id": started["id"]}), 422, "SIGNATURE_BLANK")
    many = [[{"x": 1, "y": 1}] for _ in range(101)]
    expect(phone.post("/sign", {"intent_id": started["id"], "strokes": many}), 413,
           "SIGNATURE_TOO_LARGE")
    huge = [[{"x": i % 300, "y": 50, "t": i, "p": 0.5} for i in range(5000)]]
    assert phone.post("/sign", {"intent_id": started["id"], "strokes": huge}).status_code == 413
    expect(phone.post("/sign", {"intent_id": started["id"], "strokes": [[{"x": "a"}]]}), 422,
           "SIGNATURE_INVALID")
    assert (await EnvelopeSigner.get(id=link["signer"]["id"])).status == "ready"

    done = expect(phone.post("/sign", {"intent_id": started["id"], "strokes": strokes()}), 201)
    assert done["signer_status"] == "signed" and done["envelope_status"] == "completed"
    assert done["download_url"] == f"/h5/api/links/{link['id']}/document.pdf"
    pdf = phone.client.get(done["download_url"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    report = verify(pdf.content)
    assert len(report.signatures) == 1
    assert all(s.intact and s.crypto_valid for s in report.signatures)

    expect(phone.post("/sign", {"intent_id": started["id"], "strokes": strokes()}), 409,
           "SIGNER_ALREADY_SIGNED")
    expect(phone.post("/identity"), 409, "SIGNER_ALREADY_SIGNED")
    expect(phone.post("/intent"), 409, "SIGNER_ALREADY_SIGNED")
    final = expect(phone.get("/state"), 200)
    assert final["step"] == "done" and final["signer"]["status"] == "signed"
    assert final["envelope"]["status"] == "completed"
    events = fapi.get(f"/api/v1/documents/{envelope['document_id']}/evidence", headers=OP).json()
    kinds = [e["kind"] for e in events["events"]]
    assert kinds.count("signature") == 1 and kinds.count("clause_ack") == 2
    shown = [e for e in events["events"] if e["kind"] == "clause_shown"]
    assert {e["payload"]["shown_seconds"] for e in shown} == {5.5}
    phone.close()


def test_the_api_needs_the_session_of_that_very_link(fapi, files_server):
    envelope = issue_envelope(fapi, signers=[
        person("policyholder", "张伟", 311, intent="password"),
        person("insured", "李娜", 312, intent="password")])
    mine, theirs = issue_link(fapi, envelope), issue_link(fapi, envelope, "insured")
    phone = Phone(files_server, mine)
    expect(phone.get("/state"), 200)
    # another person's link id (their document) with my cookie
    for call in (phone.get("/state", link_id=theirs["id"]),
                 phone.post("/identity", link_id=theirs["id"]),
                 phone.get("/document.pdf", link_id=theirs["id"]),
                 phone.post("/sign", {"strokes": strokes()}, link_id=theirs["id"])):
        expect(call, 403, "H5_SESSION_REQUIRED")
    # no cookie, a forged cookie
    bare = httpx.get(f"{files_server}/h5/api/links/{mine['id']}/state")
    expect(bare, 403, "H5_SESSION_REQUIRED")
    forged = httpx.get(f"{files_server}/h5/api/links/{mine['id']}/state",
                       cookies={"esign_h5": f"{mine['id']}.9999999999.00"})
    expect(forged, 403, "H5_SESSION_REQUIRED")
    phone.close()


async def test_an_intent_of_another_signer_cannot_be_answered_through_my_link(fapi,
                                                                              files_server):
    envelope = issue_envelope(fapi, signers=[
        person("policyholder", "张伟", 321, intent="password"),
        person("insured", "李娜", 322, intent="password")])
    mine, theirs = issue_link(fapi, envelope), issue_link(fapi, envelope, "insured")
    for link in (mine, theirs):
        set_password(fapi, link["signer"])
    me, them = Phone(files_server, mine), Phone(files_server, theirs)
    _walk_to_intent(me)
    _walk_to_intent(them)
    their_intent = expect(them.post("/intent"), 201)
    expect(me.post("/intent/confirm", {"intent_id": their_intent["id"], "password": PASSWORD}),
           404, "INTENT_NOT_FOUND")
    expect(me.post("/intent/confirm", {"intent_id": "not-a-uuid", "password": PASSWORD}),
           404, "INTENT_NOT_FOUND")
    expect(them.post("/intent/confirm", {"intent_id": their_intent["id"], "password": PASSWORD}),
           200)
    expect(me.post("/sign", {"intent_id": their_intent["id"], "strokes": strokes()}), 404,
           "INTENT_NOT_FOUND")
    assert (await EnvelopeSigner.get(id=mine["signer"]["id"])).status == "ready"
    me.close()
    them.close()


def test_not_my_turn_yet(fapi, files_server):
    envelope = issue_envelope(fapi, signers=[
        person("policyholder", "张伟", 331, intent="password"),
        person("insured", "李娜", 332, intent="password", stage=2)])
    later = issue_link(fapi, envelope, "insured")
    set_password(fapi, later["signer"])
    phone = Phone(files_server, later)
    assert expect(phone.get("/state"), 200)["step"] == "waiting"
    _walk_to_intent(phone)
    expect(phone.post("/intent"), 409, "SIGNER_NOT_READY")
    expect(phone.post("/sign", {"strokes": strokes()}), 409, "SIGNER_NOT_READY")
    expect(phone.post("/reject", {"comment": "不同意"}), 409, "SIGNER_NOT_READY")
    phone.close()


async def test_expired_and_revoked_links_are_refused(fapi, files_server):
    envelope = issue_envelope(fapi)
    first = issue_link(fapi, envelope)
    phone = Phone(files_server, first)
    expect(phone.get("/state"), 200)
    second = issue_link(fapi, envelope)  # a new link for the same signer revokes the first
    expect(phone.get("/state"), 410, "LINK_REVOKED")
    expect(phone.post("/identity"), 410, "LINK_REVOKED")
    fresh = Phone(files_server, second)
    expect(fresh.get("/state"), 200)
    await SigningLink.filter(id=second["id"]).update(
        expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    expect(fresh.get("/state"), 410, "LINK_EXPIRED")
    expect(fresh.get("/document.pdf"), 410, "LINK_EXPIRED")
    phone.close()
    fresh.close()


async def test_sms_intent_wrong_code_then_the_right_one(fapi, files_server, runtime):
    envelope = issue_envelope(fapi, signers=[person("policyholder", "张伟", 341, intent="sms")],
                              changes=[])
    phone = Phone(files_server, issue_link(fapi, envelope))
    _walk_to_intent(phone)
    state = expect(phone.get("/state"), 200)
    assert state["signer"]["intent_method"] == "sms" and state["changes"] == []
    started = expect(phone.post("/intent"), 201)
    assert started["method"] == "sms" and started["sent_to"].startswith("139")
    assert "*" in started["sent_to"]
    code = await last_sms_code(runtime)
    wrong = "000000" if code != "000000" else "111111"
    expect(phone.post("/intent/confirm", {"intent_id": started["id"], "code": wrong}), 422,
           "INTENT_WRONG_ANSWER")
    expect(phone.post("/intent/confirm", {"intent_id": started["id"], "code": code}), 200)
    expect(phone.post("/intent/confirm", {"intent_id": started["id"], "code": code}), 409,
           "INTENT_ALREADY_USED")
    done = expect(phone.post("/sign", {"intent_id": started["id"], "strokes": strokes()}), 201)
    assert done["signer_status"] == "signed"
    phone.close()


async def test_a_person_refuses_with_a_comment_and_the_link_ends(fapi, files_server):
    envelope = issue_envelope(fapi)
    link = issue_link(fapi, envelope)
    phone = Phone(files_server, link)
    expect(phone.post("/reject", {"comment": "保额不对"}), 409, "IDENTITY_CHECK_REQUIRED")
    expect(phone.post("/identity"), 200)
    refused = expect(phone.post("/reject", {"comment": "保额不对"}), 200)
    assert refused["envelope_status"] == "rejected"
    signer = await EnvelopeSigner.get(id=link["signer"]["id"])
    assert signer.status == "rejected" and signer.comment == "保额不对"
    expect(phone.get("/state"), 410, "LINK_REVOKED")
    read = fapi.get(f"/api/v1/envelopes/{envelope['id']}").json()
    assert read["status"] == "rejected" and signer_of(read, "policyholder")["status"] == "rejected"
    phone.close()


def test_the_page_and_its_assets_are_served(fapi, files_server):
    envelope = issue_envelope(fapi)
    link = issue_link(fapi, envelope)
    phone = Phone(files_server, link)
    page = phone.client.get(f"/h5/links/{link['id']}/start")
    assert page.status_code == 200 and "身份核验" in page.text and "张*" in page.text
    assert 'name="viewport"' in page.text and "/h5/static/h5_sign.js" in page.text
    assert f"data-link='{link['id']}'" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    js = httpx.get(f"{files_server}/h5/static/h5_sign.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "pointerdown" in js.text
    assert httpx.get(f"{files_server}/h5/static/h5_sign.css").status_code == 200
    assert httpx.get(f"{files_server}/h5/static/..%2Fh5.py").status_code == 404
    assert httpx.get(f"{files_server}/h5/static/app.py").status_code == 404
    phone.close()
