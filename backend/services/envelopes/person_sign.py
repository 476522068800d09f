"""A person signs [个人签署]: identity check (skipped when recently passed), exemption clauses
acknowledged one by one [保险法第十七条], materials, intent bound to the document shown, then a
handwritten signature placed at the signer's position and signed with a per-event SM2
certificate issued for this signature by the platform CA.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import ValidationFailed
from backend.ids import parse_uuid
from backend.models.document import DocumentRevision
from backend.models.envelope import Envelope, EnvelopeSigner
from backend.models.identity import IdentityCheck, Person
from backend.models.tenant import Tenant
from backend.services import evidence, identity_checks, intent, metering
from backend.services.envelopes.errors import (ClausesNotAcknowledged, IdentityCheckRequired,
                                               MaterialsMissing, SignerAlreadyDone,
                                               SignerKindInvalid)
from backend.services.envelopes.sign_step import (check_open, check_turn, commit_signature,
                                                  current_pdf, placement_for, signing_turn)
from backend.services.envelopes.state import now

PASSED = ("match", "passed")


class IdentityMismatch(ValidationFailed):
    code, message = "IDENTITY_MISMATCH", "the identity check did not pass"


class ClauseUnknown(ValidationFailed):
    code, message = "CLAUSE_UNKNOWN", "the envelope has no such clause"


def _person_signer(signer: EnvelopeSigner) -> None:
    if signer.kind != "person":
        raise SignerKindInvalid(f"this step is for persons; the signer is a {signer.kind}")
    if signer.status == "signed":  # said first: the signature may have completed the envelope
        raise SignerAlreadyDone()


async def _locked(envelope: Envelope, signer: EnvelopeSigner) -> EnvelopeSigner:
    return await EnvelopeSigner.filter(id=signer.id).select_for_update().first()


# -- identity --------------------------------------------------------------------------------
async def recent_check(runtime, signer: EnvelopeSigner, kind: str) -> IdentityCheck | None:
    """A passed check of this kind for this person within IDENTITY_CACHE_SECONDS."""
    since = now() - dt.timedelta(seconds=runtime.settings.identity_cache_seconds)
    return await IdentityCheck.filter(person_id=signer.person_id, kind=kind,
                                      outcome__in=PASSED, created_at__gte=since) \
        .order_by("-created_at").first()


async def check_identity(tenant: Tenant, runtime, envelope: Envelope, signer: EnvelopeSigner, *,
                         face_session: str = "", ip: str = "", device: str = "") -> dict[str, Any]:
    """Run the signer's identity methods in order; returns what is done and, for face, the
    liveness session to open. A recent passed check of the same kind counts. Checks are billed
    to the envelope's unit and business line."""
    _person_signer(signer)
    check_open(envelope)
    person = await Person.get(id=signer.person_id)
    done: list[dict[str, Any]] = []
    with metering.billing_scope(envelope.unit_ref, envelope.business_line):
        for method in signer.identity_methods:
            check = await recent_check(runtime, signer, method)
            if check is None and method == "face":
                if not face_session:
                    return {"done": done,
                            "face_session": await _start_face(runtime, person, signer)}
                check = await _finish_face(tenant, runtime, person, face_session)
            elif check is None:
                check = await _factor_check(tenant, runtime, person, method)
            if check.outcome not in PASSED:
                raise IdentityMismatch(details={"method": method, "outcome": check.outcome})
            done.append(identity_checks.present_check(check))
    async with in_transaction("default"):
        row = await _locked(envelope, signer)
        row.identity_checked_at = now()
        row.identity_check_id = done[-1]["check_id"] if done else None
        await row.save(update_fields=["identity_checked_at", "identity_check_id"])
        await evidence.append(envelope.document_id, "identity_check", actor=_actor(signer),
                              ip=ip, device=device,
                              payload={"signer_id": str(signer.id), "checks": done})
    return {"done": done, "identity_checked": True}


async def _factor_check(tenant, runtime, person: Person, method: str) -> IdentityCheck:
    from backend.services.verify_person import verify_person

    await metering.check_quota(tenant, f"identity.{method}")
    id_number = runtime.cipher.decrypt(person.id_number_enc, "person.id_number")
    mobile = runtime.cipher.decrypt(person.mobile_enc, "person.mobile") \
        if method == "three_factor" and person.mobile_enc else None
    if method == "three_factor" and not mobile:
        raise IdentityCheckRequired("a three-factor check needs the signer's mobile")
    result = await verify_person(tenant, runtime, runtime.identity().identity, name=person.name,
                                 id_number=id_number, mobile=mobile)
    return await IdentityCheck.get(id=result["check_id"])


async def _start_face(runtime, person: Person, signer: EnvelopeSigner) -> dict[str, Any]:
    id_number = runtime.cipher.decrypt(person.id_number_enc, "person.id_number")
    session = await runtime.identity().face.create_liveness_session(
        "silent", name=person.name, id_number=id_number, reference=str(signer.id))
    return {"id": session.session_id, "url": session.url, "token": session.token}


async def _finish_face(tenant, runtime, person: Person, session_id: str) -> IdentityCheck:
    result = await runtime.identity().face.verify(session_id)
    record = result.to_record()
    return await identity_checks.record_check(
        tenant, kind="face", provider=record.get("provider", "face"),
        outcome="passed" if result.passed else "failed",
        digest=hashlib.sha256(session_id.encode()).hexdigest(), person=person,
        provider_request_id=session_id, scores={k: v for k, v in record.items()
                                                if isinstance(v, (int, float))})


# -- clauses and materials -------------------------------------------------------------------
async def acknowledge_clause(envelope: Envelope, signer: EnvelopeSigner, clause_id: str, *,
                             shown_seconds: float, ip: str = "", device: str = "") -> list[str]:
    """The clause was shown for ``shown_seconds`` and acknowledged: two evidence events."""
    _person_signer(signer)
    check_open(envelope)
    clause = next((c for c in envelope.clauses if c.get("id") == clause_id), None)
    if clause is None:
        raise ClauseUnknown(details={"clause_id": clause_id})
    async with in_transaction("default"):
        row = await _locked(envelope, signer)
        if clause_id not in row.clauses_acked:
            text_hash = hashlib.sha256(str(clause.get("text", "")).encode()).hexdigest()
            common = {"signer_id": str(signer.id), "clause_id": clause_id,
                      "title": clause.get("title", ""), "text_sha256": text_hash}
            shown_at = now() - dt.timedelta(seconds=max(0.0, shown_seconds))
            await evidence.append(envelope.document_id, "clause_shown", actor=_actor(signer),
                                  ip=ip, device=device, occurred_at=shown_at,
                                  payload={**common, "shown_seconds": round(shown_seconds, 1)})
            await evidence.append(envelope.document_id, "clause_ack", actor=_actor(signer),
                                  ip=ip, device=device, payload=common)
            row.clauses_acked = [*row.clauses_acked, clause_id]
            await row.save(update_fields=["clauses_acked"])
    return row.clauses_acked


# -- intent ----------------------------------------------------------------------------------
def intent_purpose(envelope: Envelope, signer: EnvelopeSigner) -> str:
    return f"envelope:{envelope.id}:{signer.id}"


async def start_intent(tenant: Tenant, runtime, envelope: Envelope, signer: EnvelopeSigner, *,
                       client_ip: str = "") -> dict[str, Any]:
    _person_signer(signer)
    check_open(envelope)
    check_turn(signer)
    doc, _ = await current_pdf(runtime, envelope)
    method = signer.intent_method if signer.intent_method != "none" else "sms"
    return await intent.start_intent(
        tenant, runtime, person_id=str(signer.person_id), method=method,
        document_hash=doc.current_sha256, purpose=intent_purpose(envelope, signer),
        client_ip=client_ip, face=runtime.identity().face if method == "face" else None)


async def _check_intent(tenant: Tenant, envelope: Envelope, signer: EnvelopeSigner,
                        intent_id: str | None, purpose: str | None = None):
    if signer.intent_method == "none":
        return None
    if not intent_id:
        raise intent.IntentNotFound("confirm the intent first (intent_id)")
    challenge = await intent.IntentChallenge.get_or_none(
        id=parse_uuid(intent_id, intent.IntentNotFound), tenant_id=tenant.id)
    if challenge is None or challenge.confirmed_at is None:
        raise intent.IntentNotFound("no confirmed intent with this id")
    if challenge.person_id != signer.person_id or \
            challenge.purpose != (purpose or intent_purpose(envelope, signer)):
        raise intent.IntentNotFound("the intent was confirmed for another signing")
    if purpose is None:
        shown = set(await DocumentRevision.filter(document_id=envelope.document_id)
                    .values_list("sha256", flat=True))
        if challenge.document_hash not in shown:
            raise ValidationFailed("the intent confirmed another document",
                                   code="INTENT_DOCUMENT_MISMATCH")
    return challenge


# -- signing ---------------------------------------------------------------------------------
async def check_ready_to_sign(runtime, envelope: Envelope, signer: EnvelopeSigner) -> None:
    _person_signer(signer)
    check_open(envelope)
    check_turn(signer)
    if signer.identity_methods and signer.identity_checked_at is None:
        for method in signer.identity_methods:
            if await recent_check(runtime, signer, method) is None:
                raise IdentityCheckRequired(details={"methods": signer.identity_methods})
    missing_clauses = [c["id"] for c in envelope.clauses if c["id"] not in signer.clauses_acked]
    if missing_clauses:
        raise ClausesNotAcknowledged(details={"missing": missing_clauses})
    missing = [m for m in signer.materials_required if m not in signer.materials]
    if missing:
        raise MaterialsMissing(details={"missing": missing})


def event_key(runtime) -> bytes:
    return hmac.new(runtime.settings.resolved_data_keys()[0][1], b"event-certificate-id",
                    hashlib.sha256).digest()


def _sign_pdf(pdf: bytes, runtime, person_name: str, id_number: str, event_id: str,
              signature_png: bytes, placement, reason: str) -> tuple[bytes, str]:
    from sign.certs.profiles import EventSubject
    from sign.pdf import sign_pdf
    from sign.signers import SoftwareSigner
    from sign.specs import AppearanceSpec, SignatureSpec

    subject = EventSubject.from_id_number(person_name, id_number, event_key(runtime),
                                          event_id=event_id)
    identity = runtime.pki().issuing_ca("sm2").new_identity(subject, alg="sm2")
    signer = SoftwareSigner(identity.key, identity.cert, identity.chain)
    w = placement.rect[2] if placement.rect else placement.size
    h = placement.rect[3] if placement.rect else placement.size / 2
    spec = SignatureSpec(reason=reason, name=person_name, appearance=AppearanceSpec(
        image=signature_png, page=placement.page, rect=placement.rect,
        keyword=placement.keyword, size=(w, h)))
    out = io.BytesIO()
    sign_pdf(pdf, out, signer, spec)
    return out.getvalue(), f"{identity.cert.serial_number:x}"


async def sign(tenant: Tenant, runtime, envelope: Envelope, signer: EnvelopeSigner, *,
               intent_id: str | None, signature_png: bytes, ip: str = "", device: str = "",
               batch_purpose: str | None = None) -> dict[str, Any]:
    await check_ready_to_sign(runtime, envelope, signer)
    challenge = await _check_intent(tenant, envelope, signer, intent_id, batch_purpose)
    await metering.check_quota(tenant, "signature.sm2")  # a hard quota refuses with 402
    person = await Person.get(id=signer.person_id)
    id_number = runtime.cipher.decrypt(person.id_number_enc, "person.id_number")
    async with signing_turn(runtime, envelope, signer):
        doc, pdf = await current_pdf(runtime, envelope)
        placement = await placement_for(doc, pdf, signer.position, signer.role)
        from backend.services import file_store
        signed, serial = await file_store.run(
            _sign_pdf, pdf, runtime, person.name, id_number, str(signer.id), signature_png,
            placement, f"{person.name} 签署《{envelope.title}》")

        async def meter() -> None:
            await metering.meter("signature.sm2", tenant_id=tenant.id,
                                 key=f"sig:signer:{signer.id}:sm2", unit_ref=envelope.unit_ref,
                                 business_line=envelope.business_line)
            await audit.record("envelope.signer.sign", f"envelope:{envelope.id}",
                               actor=_actor(signer), tenant_id=str(tenant.id),
                               details={"signer": str(signer.id), "role": signer.role,
                                        "certificate_serial": serial})

        updated = await commit_signature(
            tenant, runtime, envelope, signer, doc, signed, kind="signed", actor=_actor(signer),
            ip=ip, device=device, meter=meter,
            events=[("intent", {"signer_id": str(signer.id),
                                "intent_id": str(challenge.id) if challenge else None,
                                "method": challenge.method if challenge else "none",
                                "document_hash": challenge.document_hash if challenge else None}),
                    ("signature", {"signer_id": str(signer.id), "role": signer.role,
                                   "algorithm": "sm2", "certificate_serial": serial,
                                   "signature_png_sha256":
                                       hashlib.sha256(signature_png).hexdigest()})])
    return {"signer_id": str(signer.id), "sha256": updated.current_sha256,
            "certificate_serial": serial}


def _actor(signer: EnvelopeSigner) -> str:
    return f"signer:{signer.ref or signer.id}"
