"""Intent confirmation before every personal signature [意愿认证].

A challenge binds a person, a method and the hash of the document they were shown. SMS codes
(6 digits) and signing passwords are checked against keyed hashes / scrypt; a challenge expires
(``INTENT_CODE_SECONDS``), is single-use, locks after ``INTENT_MAX_ATTEMPTS`` wrong answers, and
starting one is rate-limited per person, per mobile and per client address. The confirmed
challenge (method, time, document hash, address) is the evidence the signing step requires.
"""
from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import AppError, Conflict, NotFound, TooManyRequests, ValidationFailed
from backend.ids import parse_uuid
from backend.models.identity import IntentChallenge, Person
from backend.models.tenant import Tenant
from backend.services import passwords
from backend.services.persons import get_person

METHODS = ("sms", "password", "face")
LEGAL_REP_PURPOSE = "legal_rep_auth:"
LIMITS = {  # key kind -> (max starts, window seconds)
    "person": (5, 600), "mobile": (5, 3600), "ip": (30, 600),
}


class IntentNotFound(NotFound):
    code, message = "INTENT_NOT_FOUND", "no such intent confirmation"


class IntentExpired(AppError):
    code, status, message = "INTENT_EXPIRED", 410, "the confirmation expired; start a new one"


class IntentUsed(Conflict):
    code, message = "INTENT_ALREADY_USED", "this confirmation was already used"


class IntentLocked(AppError):
    code, status, message = "INTENT_LOCKED", 423, "too many wrong answers; start a new confirmation"


class IntentWrongAnswer(ValidationFailed):
    code, message = "INTENT_WRONG_ANSWER", "the code or password is wrong"


class IntentRateLimited(TooManyRequests):
    code, message = "INTENT_RATE_LIMITED", "too many confirmations requested; retry later"


class IntentMethodUnavailable(Conflict):
    code = "INTENT_METHOD_UNAVAILABLE"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _code_hash(runtime, challenge_id: str, code: str) -> str:
    return runtime.cipher.blind_index(f"{challenge_id}:{code}", "intent-code")


async def _rate_limit(runtime, person: Person, method: str, client_ip: str) -> None:
    keys = {"person": str(person.id), "ip": client_ip or "-"}
    if method == "sms":
        keys["mobile"] = person.mobile_index or "-"
    for kind, value in keys.items():
        limit, window = LIMITS[kind]
        if await runtime.cache.hit_rate_limit(f"intent:{kind}:{value}", limit, window):
            await audit.record("intent.rate_limited", f"person:{person.id}", result="refused",
                               details={"by": kind})
            raise IntentRateLimited()


def _check_document_hash(document_hash: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", document_hash or ""):
        raise ValidationFailed("document_hash must be the hex SHA-256 of the document shown",
                               code="DOCUMENT_HASH_INVALID")
    return document_hash.lower()


async def start_intent(tenant: Tenant, runtime, *, person_id: str, method: str,
                       document_hash: str, purpose: str = "", client_ip: str = "",
                       face=None) -> dict[str, Any]:
    if method not in METHODS:
        raise ValidationFailed(f"method must be one of {', '.join(METHODS)}", code="INTENT_METHOD_INVALID")
    document_hash = _check_document_hash(document_hash)
    person = await get_person(tenant, person_id)
    _require_method(person, method, face)
    await _rate_limit(runtime, person, method, client_ip)
    settings = runtime.settings
    async with in_transaction("default"):
        challenge = await IntentChallenge.create(
            tenant=tenant, person=person, method=method, document_hash=document_hash,
            purpose=purpose[:200], max_attempts=settings.intent_max_attempts, client_ip=client_ip,
            expires_at=_now() + dt.timedelta(seconds=settings.intent_code_seconds))
        extra = await _deliver(runtime, tenant, person, challenge, face)
        await audit.record("intent.start", f"intent:{challenge.id}",
                           details={"method": method, "person": str(person.id),
                                    "document_hash": document_hash})
    return {**present_intent(challenge), **extra}


def _require_method(person: Person, method: str, face) -> None:
    if method == "sms" and not person.mobile_enc:
        raise IntentMethodUnavailable("this person has no verified mobile number")
    if method == "password" and not person.signing_password_hash:
        raise IntentMethodUnavailable("this person has not set a signing password")
    if method == "face" and face is None:
        raise IntentMethodUnavailable("face verification is not configured")


async def _attribution(tenant: Tenant, purpose: str) -> tuple[str, str]:
    """An envelope signer's intent (purpose ``envelope:<id>:<signer>``) is billed to the
    envelope's unit and business line."""
    from backend.services import metering

    if purpose.startswith("envelope:"):
        return await metering.envelope_attribution(tenant.id, purpose.split(":")[1])
    return "", ""


async def _deliver(runtime, tenant: Tenant, person: Person, challenge: IntentChallenge,
                   face) -> dict[str, Any]:
    if challenge.method == "sms":
        from backend.services.messages import queue_message

        code = f"{secrets.randbelow(10**6):06d}"
        challenge.code_hash = _code_hash(runtime, str(challenge.id), code)
        await challenge.save(update_fields=["code_hash"])
        mobile = runtime.cipher.decrypt(person.mobile_enc, "person.mobile")
        minutes = max(1, runtime.settings.intent_code_seconds // 60)
        unit_ref, business_line = await _attribution(tenant, challenge.purpose)
        message = await queue_message(tenant, runtime, channel="sms", recipient=mobile,
                                      template="OTP_CODE",
                                      params={"code": code, "minutes": str(minutes)},
                                      idempotency_key=f"intent:{challenge.id}",
                                      unit_ref=unit_ref or None,
                                      business_line=business_line or None)
        return {"message_id": str(message.id), "sent_to": person.mobile_masked}
    if challenge.method == "face":
        id_number = runtime.cipher.decrypt(person.id_number_enc, "person.id_number")
        session = await face.create_liveness_session("silent", name=person.name,
                                                     id_number=id_number)
        challenge.evidence = {"face_session": session.session_id}
        await challenge.save(update_fields=["evidence"])
        return {"face_session": {"id": session.session_id, "url": session.url,
                                 "token": session.token}}
    return {}


async def confirm_intent(tenant: Tenant, runtime, *, intent_id: str, code: str | None = None,
                         password: str | None = None, face=None,
                         client_ip: str = "") -> dict[str, Any]:
    """Check the answer. A wrong answer is counted (and committed) before the error is raised."""
    async with in_transaction("default"):
        challenge = await IntentChallenge.select_for_update().get_or_none(
            id=parse_uuid(intent_id, IntentNotFound), tenant_id=tenant.id)
        if challenge is None:
            raise IntentNotFound()
        _check_usable(challenge)
        passed, evidence = await _check_answer(runtime, challenge, code, password, face)
        if passed:
            challenge.confirmed_at = _now()
            challenge.evidence = {**challenge.evidence, **evidence, "method": challenge.method,
                                  "confirmed_at": challenge.confirmed_at.isoformat(),
                                  "document_hash": challenge.document_hash, "ip": client_ip}
            await challenge.save()
            await audit.record("intent.confirm", f"intent:{challenge.id}",
                               details={"method": challenge.method})
            if challenge.purpose.startswith(LEGAL_REP_PURPOSE):
                await _record_legal_rep_authorization(tenant, challenge)
            return present_intent(challenge)
        challenge.attempts += 1
        locked = challenge.attempts >= challenge.max_attempts
        if locked:
            challenge.locked_at = _now()
        await challenge.save()
        await audit.record("intent.lockout" if locked else "intent.wrong_answer",
                           f"intent:{challenge.id}", result="refused",
                           details={"attempts": challenge.attempts})
    if locked:
        raise IntentLocked()
    raise IntentWrongAnswer(details={"attempts_left": challenge.max_attempts - challenge.attempts})


async def _record_legal_rep_authorization(tenant: Tenant, challenge: IntentChallenge) -> None:
    from backend.models.identity import Enterprise
    from backend.services import identity_checks

    _, enterprise_id, operator_id = challenge.purpose.split(":")
    enterprise = await Enterprise.get(id=enterprise_id)
    await identity_checks.record_check(
        tenant, kind="legal_rep_auth", provider=f"intent:{challenge.method}", outcome="passed",
        digest=challenge.document_hash, enterprise=enterprise,
        provider_request_id=str(challenge.id), message=f"operator {operator_id}")


def _check_usable(challenge: IntentChallenge) -> None:
    if challenge.confirmed_at is not None:
        raise IntentUsed()
    if challenge.locked_at is not None:
        raise IntentLocked()
    if challenge.expires_at <= _now():
        raise IntentExpired()


async def _check_answer(runtime, challenge: IntentChallenge, code: str | None,
                        password: str | None, face) -> tuple[bool, dict[str, Any]]:
    if challenge.method == "sms":
        given = _code_hash(runtime, str(challenge.id), (code or "").strip())
        return hmac.compare_digest(given, challenge.code_hash), {}
    if challenge.method == "password":
        person = await Person.get(id=challenge.person_id)
        return passwords.verify(password or "", person.signing_password_hash), {}
    session_id = challenge.evidence.get("face_session", "")
    result = await face.verify(session_id)
    return result.passed, {"face": result.to_record()}


async def confirmed_intent(tenant: Tenant, intent_id: str, document_hash: str) -> IntentChallenge:
    """For the signing step: the confirmed challenge for exactly this document, or an error."""
    challenge = await IntentChallenge.get_or_none(id=parse_uuid(intent_id, IntentNotFound),
                                                  tenant_id=tenant.id)
    if challenge is None or challenge.confirmed_at is None:
        raise IntentNotFound("no confirmed intent with this id")
    if challenge.document_hash != document_hash.lower():
        raise Conflict("the intent was confirmed for another document", code="INTENT_DOCUMENT_MISMATCH")
    return challenge


def present_intent(challenge: IntentChallenge) -> dict[str, Any]:
    return {"id": str(challenge.id), "method": challenge.method,
            "document_hash": challenge.document_hash,
            "expires_at": challenge.expires_at.isoformat(),
            "confirmed": challenge.confirmed_at is not None,
            "confirmed_at": challenge.confirmed_at.isoformat() if challenge.confirmed_at else None,
            "attempts": challenge.attempts, "max_attempts": challenge.max_attempts}
