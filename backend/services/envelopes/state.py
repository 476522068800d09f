"""Envelope states and their guarded transitions, and how envelopes are shown.

``transition`` runs inside the caller's transaction with the envelope row locked: the new state,
its timestamp, the evidence event, the operation-log entry and the status callback commit together
or not at all.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from backend import audit
from backend.ids import parse_uuid
from backend.models.envelope import Envelope, EnvelopeSigner
from backend.models.tenant import Tenant
from backend.services import callbacks_outbox as outbox
from backend.services import evidence
from backend.services.envelopes.errors import (EnvelopeNotFound, EnvelopeStateInvalid,
                                               SignerNotFound)

TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"sent", "voided"}),
    "sent": frozenset({"signing", "completed", "rejected", "expired", "voided"}),
    "signing": frozenset({"completed", "rejected", "expired", "voided"}),
    "completed": frozenset({"voided"}),  # cancelled by agreement [解约], with a statement
}
STAMP = {"sent": "sent_at", "completed": "completed_at", "rejected": "rejected_at",
         "expired": "expired_at", "voided": "voided_at"}
#: The document's status once the envelope reaches a state.
DOCUMENT_STATUS = {"signing": "signing", "completed": "signed", "voided": "voided"}


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value else None


async def get_envelope(tenant: Tenant | str, envelope_id: str, *, lock: bool = False) -> Envelope:
    tenant_id = tenant if isinstance(tenant, str) else tenant.id
    query = Envelope.filter(id=parse_uuid(envelope_id, EnvelopeNotFound), tenant_id=tenant_id)
    envelope = await (query.select_for_update() if lock else query).first()
    if envelope is None:
        raise EnvelopeNotFound()
    return envelope


async def get_signer(envelope: Envelope, signer_id: str, *, lock: bool = False) -> EnvelopeSigner:
    query = EnvelopeSigner.filter(id=parse_uuid(signer_id, SignerNotFound),
                                  envelope_id=envelope.id)
    signer = await (query.select_for_update() if lock else query).first()
    if signer is None:
        raise SignerNotFound()
    return signer


async def search(tenant: Tenant, filters: dict[str, str], *, limit: int,
                 offset: int) -> dict[str, Any]:
    """Envelopes of ``tenant`` by business_no, doc_type, batch_id and status, newest first."""
    from backend.errors import ValidationFailed
    from backend.models.envelope import ENVELOPE_STATES

    if filters.get("status") and filters["status"] not in ENVELOPE_STATES:
        raise ValidationFailed("unknown status", code="QUERY_INVALID")
    if filters.get("batch_id"):
        try:
            filters = {**filters, "batch_id": uuid.UUID(filters["batch_id"])}
        except ValueError:
            raise ValidationFailed("batch_id must be a UUID", code="QUERY_INVALID",
                                   details={"field": "batch_id"}) from None
    query = Envelope.filter(tenant_id=tenant.id, **filters)
    total = await query.count()
    rows = await query.order_by("-created_at").offset(offset).limit(limit)
    return {"total": total, "items": [
        {"id": str(e.id), "business_no": e.business_no, "doc_type": e.doc_type,
         "title": e.title, "status": e.status, "created_at": _iso(e.created_at)} for e in rows]}


async def transition(envelope: Envelope, runtime, to: str, *, actor: str, reason: str = "",
                     data: dict[str, Any] | None = None) -> None:
    """Move ``envelope`` (locked by the caller) to ``to``; raises ``ENVELOPE_STATE_INVALID``."""
    if to not in TRANSITIONS.get(envelope.status, frozenset()):
        raise EnvelopeStateInvalid(f"an envelope that is {envelope.status} cannot become {to}",
                                   details={"status": envelope.status, "wanted": to})
    before, envelope.status = envelope.status, to
    fields = ["status", "updated_at"]
    if to in STAMP:
        setattr(envelope, STAMP[to], now())
        fields.append(STAMP[to])
    if reason:
        envelope.end_reason = reason[:300]
        fields.append("end_reason")
    await envelope.save(update_fields=fields)
    if to in DOCUMENT_STATUS:
        from backend.models.document import Document
        await Document.filter(id=envelope.document_id).update(status=DOCUMENT_STATUS[to],
                                                              updated_at=now())
    payload = {"envelope_id": str(envelope.id), "from": before, "to": to, **(data or {})}
    if reason:
        payload["reason"] = reason[:300]
    await evidence.append(envelope.document_id, "envelope_state", actor=actor, payload=payload)
    await audit.record(f"envelope.{to}", f"envelope:{envelope.id}", actor=actor,
                       tenant_id=str(envelope.tenant_id),
                       details={"from": before, "reason": reason[:200], "unit_id": envelope.unit_ref})
    await outbox.emit(str(envelope.tenant_id), runtime, f"envelope.{to}",
                      event_data(envelope, **(data or {})))


def event_data(envelope: Envelope, **extra: Any) -> dict[str, Any]:
    return {"envelope_id": str(envelope.id), "business_no": envelope.business_no or "",
            "doc_type": envelope.doc_type, "status": envelope.status,
            "document_id": str(envelope.document_id), **extra}


def present_signer(signer: EnvelopeSigner) -> dict[str, Any]:
    return {"id": str(signer.id), "stage": signer.stage, "kind": signer.kind, "role": signer.role,
            "ref": signer.ref, "name": signer.name_masked, "status": signer.status,
            "person_id": str(signer.person_id) if signer.person_id else None,
            "company_name": signer.company_name or None, "seal_id": signer.seal_id or None,
            "identity_methods": signer.identity_methods, "intent_method": signer.intent_method,
            "identity_checked": signer.identity_checked_at is not None,
            "clauses_acknowledged": signer.clauses_acked,
            "materials_required": signer.materials_required,
            "materials": sorted(signer.materials), "signed_at": _iso(signer.signed_at),
            "rejected_at": _iso(signer.rejected_at), "comment": signer.comment}


def present_envelope(envelope: Envelope, signers: list[EnvelopeSigner],
                     document=None) -> dict[str, Any]:
    out = {"id": str(envelope.id), "doc_type": envelope.doc_type,
           "business_no": envelope.business_no, "title": envelope.title,
           "status": envelope.status, "unit": envelope.unit_ref,
           "business_line": envelope.business_line,
           "document_id": str(envelope.document_id),
           "batch_id": str(envelope.batch_id) if envelope.batch_id else None,
           "clauses": envelope.clauses, "changes": envelope.changes,
           "deadline_at": _iso(envelope.deadline_at), "valid_until": _iso(envelope.valid_until),
           "created_by": envelope.created_by, "created_at": _iso(envelope.created_at),
           "sent_at": _iso(envelope.sent_at), "completed_at": _iso(envelope.completed_at),
           "rejected_at": _iso(envelope.rejected_at), "expired_at": _iso(envelope.expired_at),
           "voided_at": _iso(envelope.voided_at), "end_reason": envelope.end_reason,
           "void_request": envelope.void_request,
           "void_statement_id": str(envelope.void_statement_id)
           if envelope.void_statement_id else None,
           "signers": [present_signer(s) for s in sorted(signers, key=lambda s: (s.stage, s.role))]}
    if document is not None:
        out["document"] = {"sha256": document.current_sha256, "status": document.status}
    return out


async def show(envelope: Envelope) -> dict[str, Any]:
    from backend.models.document import Document

    signers = await EnvelopeSigner.filter(envelope_id=envelope.id)
    document = await Document.get(id=envelope.document_id)
    return present_envelope(envelope, signers, document)
