"""Identity checks through the real adapters against the fake Aliyun market gateway."""
from __future__ import annotations

import hashlib

from backend.models.audit import AuditEntry
from backend.models.identity import Enterprise, IdentityCheck, Person

ZHANG = {"name": "张三", "id_number": "11010519491231002X", "mobile": "13800138000"}
LI = {"name": "李四", "id_number": "110101199003071233"}
USCC = "91350100M000100Y43"


def verify(papi, **body):
    return papi.post("/api/v1/identity/persons/verify", body)


async def test_three_factor_match_is_recorded_without_clear_numbers(papi, market):
    response = verify(papi, **ZHANG)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] == "match" and body["kind"] == "three_factor"
    assert body["provider"] and body["from_cache"] is False
    assert body["person"]["id_number"] == "1101**********002X"
    assert body["person"]["mobile"] == "138****8000"
    person = await Person.get(id=body["person"]["id"])
    for clear in (ZHANG["id_number"], ZHANG["mobile"]):
        assert clear not in person.id_number_enc + (person.mobile_enc or "")
    check = await IdentityCheck.get(id=body["check_id"])
    assert len(check.request_digest) == 64 and check.provider_request_id
    assert await AuditEntry.filter(action="identity.three_factor").count() == 1
    assert market.count("/mobile/verify_real_name") == 1


async def test_two_factor_and_definite_negative_answers(papi, market):
    assert verify(papi, **LI).json()["kind"] == "two_factor"
    market.scenario = "mismatch"
    assert verify(papi, **{**ZHANG, "mobile": "13900139000"}).json()["outcome"] == "mismatch"
    market.scenario = "unknown"
    assert verify(papi, name="王五", id_number="440304198510214560").json()["outcome"] == "unknown"


async def test_a_positive_answer_is_reused_within_the_flow(papi, market):
    verify(papi, **ZHANG)
    again = verify(papi, **ZHANG).json()
    assert again["from_cache"] is True and again["outcome"] == "match"
    assert market.count() == 1
    assert await IdentityCheck.filter(from_cache=True).count() == 1


async def test_a_negative_answer_is_not_cached(papi, market):
    market.scenario = "mismatch"
    verify(papi, **ZHANG)
    market.scenario = "match"
    assert verify(papi, **ZHANG).json()["outcome"] == "match"
    assert market.count() == 2


async def test_provider_timeout_is_a_clear_error_and_recorded(papi, market):
    market.scenario = "timeout"
    response = verify(papi, **ZHANG)
    assert response.status_code == 504
    assert response.json()["code"] == "IDENTITY_PROVIDER_TIMEOUT"
    assert await IdentityCheck.filter(outcome="error").count() == 1


async def test_provider_error_then_success_is_retried(papi, market):
    market.script("error500")
    assert verify(papi, **ZHANG).json()["outcome"] == "match"
    assert market.count() == 2


async def test_bad_numbers_and_names_are_refused_and_nothing_is_stored(papi, market):
    cases = [({**ZHANG, "id_number": "110105194912310021"}, "ID_NUMBER_INVALID"),
             ({**ZHANG, "id_number": "110105209912310028"}, "ID_NUMBER_INVALID"),
             ({**ZHANG, "name": "张3"}, "NAME_INVALID"),
             ({**ZHANG, "mobile": "12345"}, "MOBILE_INVALID")]
    for body, code in cases:
        response = verify(papi, **body)
        assert response.status_code == 422 and response.json()["code"] == code, body
    assert await Person.all().count() == 0 and market.count() == 0


async def test_enterprise_check(papi, market):
    body = {"company_name": "福建某某保险代理有限公司", "uscc": USCC, "legal_rep_name": "王五"}
    response = papi.post("/api/v1/identity/enterprises/verify", body)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "match"
    assert (await Enterprise.get(uscc=USCC)).verified_at is not None
    bad = papi.post("/api/v1/identity/enterprises/verify", {**body, "uscc": USCC[:-1] + "0"})
    assert bad.status_code == 422 and bad.json()["code"] == "USCC_INVALID"


async def test_legal_representative_authorises_an_operator_by_face(papi, market):
    papi.post("/api/v1/identity/enterprises/verify",
              {"company_name": "某某保险代理有限公司", "uscc": USCC, "legal_rep_name": "张三"})
    enterprise = await Enterprise.get(uscc=USCC)
    legal_rep = verify(papi, **ZHANG).json()["person"]["id"]
    operator = verify(papi, **LI).json()["person"]["id"]
    started = papi.post(f"/api/v1/identity/enterprises/{enterprise.id}/authorizations",
                        {"legal_rep_person_id": operator, "operator_person_id": operator,
                         "method": "face"})
    assert started.status_code == 422 and started.json()["code"] == "LEGAL_REP_MISMATCH"
    started = papi.post(f"/api/v1/identity/enterprises/{enterprise.id}/authorizations",
                        {"legal_rep_person_id": legal_rep, "operator_person_id": operator,
                         "method": "face"}).json()
    assert "授权李四" in started["statement"]
    assert started["document_hash"] == hashlib.sha256(started["statement"].encode()).hexdigest()
    confirmed = papi.post(f"/api/v1/identity/intents/{started['id']}/confirm", {})
    assert confirmed.status_code == 200 and confirmed.json()["confirmed"] is True
    assert await IdentityCheck.filter(kind="legal_rep_auth", enterprise_id=enterprise.id).count() == 1
