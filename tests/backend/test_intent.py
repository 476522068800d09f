"""Intent confirmation before a personal signature: password and face here, SMS in test_messages."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from backend.models.audit import AuditEntry
from backend.models.identity import IntentChallenge, Person

DOC = hashlib.sha256(b"e-policy PDF bytes").hexdigest()
ZHANG = {"name": "张三", "id_number": "11010519491231002X", "mobile": "13800138000"}


@pytest.fixture
def person_id(papi, market) -> str:
    return papi.post("/api/v1/identity/persons/verify", ZHANG).json()["person"]["id"]


def set_password(papi, person_id: str, password: str = "q1w2e3r4"):
    return papi.request("PUT", f"/api/v1/identity/persons/{person_id}/signing-password",
                        json={"password": password})


def start(papi, person_id: str, method: str = "password", document_hash: str = DOC):
    return papi.post("/api/v1/identity/intents",
                     {"person_id": person_id, "method": method, "document_hash": document_hash})


def confirm(papi, intent_id: str, **answer):
    return papi.post(f"/api/v1/identity/intents/{intent_id}/confirm", answer)


async def test_the_signing_password_is_stored_as_a_slow_hash(papi, person_id):
    assert set_password(papi, person_id).json()["has_signing_password"] is True
    stored = (await Person.get(id=person_id)).signing_password_hash
    assert stored.startswith("scrypt$16384$") and "q1w2e3r4" not in stored


@pytest.mark.parametrize("weak", ["12345", "111111", "123456", "x" * 65])
def test_weak_passwords_are_refused(papi, person_id, weak):
    response = set_password(papi, person_id, weak)
    assert response.status_code == 422


def test_password_not_set_means_method_unavailable(papi, person_id):
    response = start(papi, person_id)
    assert response.status_code == 409 and response.json()["code"] == "INTENT_METHOD_UNAVAILABLE"


async def test_a_right_password_confirms_once_with_evidence(papi, person_id):
    set_password(papi, person_id)
    intent = start(papi, person_id).json()
    assert intent["document_hash"] == DOC and intent["confirmed"] is False
    done = confirm(papi, intent["id"], password="q1w2e3r4")
    assert done.status_code == 200 and done.json()["confirmed"] is True
    row = await IntentChallenge.get(id=intent["id"])
    assert row.evidence["document_hash"] == DOC and row.evidence["method"] == "password"
    again = confirm(papi, intent["id"], password="q1w2e3r4")
    assert again.status_code == 409 and again.json()["code"] == "INTENT_ALREADY_USED"


async def test_five_wrong_answers_lock_the_challenge(papi, person_id):
    set_password(papi, person_id)
    intent = start(papi, person_id).json()
    for left in (4, 3, 2, 1):
        wrong = confirm(papi, intent["id"], password="wrong-one")
        assert wrong.status_code == 422
        assert wrong.json()["details"]["attempts_left"] == left
    locked = confirm(papi, intent["id"], password="wrong-one")
    assert locked.status_code == 423 and locked.json()["code"] == "INTENT_LOCKED"
    assert confirm(papi, intent["id"], password="q1w2e3r4").status_code == 423
    assert await AuditEntry.filter(action="intent.lockout").count() == 1


async def test_an_expired_challenge_is_refused(papi, person_id):
    set_password(papi, person_id)
    intent = start(papi, person_id).json()
    await IntentChallenge.filter(id=intent["id"]).update(
        expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    response = confirm(papi, intent["id"], password="q1w2e3r4")
    assert response.status_code == 410 and response.json()["code"] == "INTENT_EXPIRED"


def test_starting_is_rate_limited_per_person(papi, person_id):
    set_password(papi, person_id)
    codes = [start(papi, person_id).status_code for _ in range(6)]
    assert codes[:5] == [201] * 5 and codes[5] == 429


def test_the_document_hash_must_be_a_sha256(papi, person_id):
    set_password(papi, person_id)
    response = start(papi, person_id, document_hash="not-a-hash")
    assert response.status_code == 422 and response.json()["code"] == "DOCUMENT_HASH_INVALID"


def test_face_intent_uses_the_face_provider(papi, person_id):
    intent = start(papi, person_id, method="face").json()
    assert intent["face_session"]["url"]
    done = confirm(papi, intent["id"])
    assert done.json()["confirmed"] is True


def test_another_tenants_person_and_intent_are_invisible(papi, person_id, provider_server,
                                                        other_tenant):
    from backend.client import ApiClient

    set_password(papi, person_id)
    intent = start(papi, person_id).json()
    with ApiClient(provider_server, other_tenant.app_key, other_tenant.app_secret) as other:
        assert other.get(f"/api/v1/identity/persons/{person_id}").status_code == 404
        assert start(other, person_id).status_code == 404
        assert confirm(other, intent["id"], password="q1w2e3r4").status_code == 404
