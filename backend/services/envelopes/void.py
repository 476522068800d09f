"""Voiding [作废/解约]: the initiator and every person who has signed must confirm; then a voiding
statement naming the document, the reason and each confirmation is made, signed by the platform
(SM2 + RSA), kept as its own document, and the envelope and its document become voided.

Before any person has signed, the initiator alone may void.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.models.document import Document
from backend.models.envelope import Envelope, EnvelopeSigner
from backend.models.tenant import Tenant
from backend.services import evidence, file_store, metering
from backend.services.envelopes.errors import EnvelopeStateInvalid
from backend.services.envelopes.state import get_envelope, now, transition
from backend.errors import Forbidden

INITIATOR = "initiator"
VOIDABLE = ("draft", "sent", "signing", "completed")


class VoidPartyInvalid(Forbidden):
    code, message = "VOID_PARTY_INVALID", "this party is not asked to confirm the voiding"


async def _parties(envelope: Envelope) -> list[str]:
    signed = await EnvelopeSigner.filter(envelope_id=envelope.id, kind="person", status="signed")
    return [INITIATOR, *sorted(str(s.id) for s in signed)]


async def request_void(tenant: Tenant, runtime, envelope_id: str, *, reason: str,
                       actor: str) -> dict[str, Any]:
    async with in_transaction("default"):
        envelope = await get_envelope(tenant, envelope_id, lock=True)
        if envelope.status not in VOIDABLE:
            raise EnvelopeStateInvalid(f"an envelope that is {envelope.status} cannot be voided")
        if envelope.void_request:
            raise EnvelopeStateInvalid("a voiding is already requested",
                                       code="VOID_ALREADY_REQUESTED")
        envelope.void_request = {"reason": reason[:300], "requested_by": actor,
                                 "requested_at": now().isoformat(),
                                 "required": await _parties(envelope),
                                 "confirmed": [{"party": INITIATOR, "actor": actor,
                                                "at": now().isoformat()}]}
        await envelope.save(update_fields=["void_request"])
        await evidence.append(envelope.document_id, "void_confirm", actor=actor,
                              payload={"party": INITIATOR, "reason": reason[:300]})
        await audit.record("envelope.void.request", f"envelope:{envelope.id}", actor=actor,
                           tenant_id=str(tenant.id), details={"reason": reason[:200]})
    return await _maybe_finish(tenant, runtime, envelope)


async def confirm_void(tenant: Tenant, runtime, envelope_id: str, *, signer_id: str,
                       actor: str, ip: str = "") -> dict[str, Any]:
    async with in_transaction("default"):
        envelope = await get_envelope(tenant, envelope_id, lock=True)
        request = envelope.void_request
        if not request or envelope.status not in VOIDABLE:
            raise EnvelopeStateInvalid("no voiding is pending", code="VOID_NOT_REQUESTED")
        if signer_id not in request["required"]:
            raise VoidPartyInvalid()
        if signer_id not in [c["party"] for c in request["confirmed"]]:
            request["confirmed"].append({"party": signer_id, "actor": actor,
                                         "at": now().isoformat()})
            envelope.void_request = request
            await envelope.save(update_fields=["void_request"])
            await evidence.append(envelope.document_id, "void_confirm", actor=actor, ip=ip,
                                  payload={"party": signer_id})
    return await _maybe_finish(tenant, runtime, envelope)


async def _maybe_finish(tenant: Tenant, runtime, envelope: Envelope) -> dict[str, Any]:
    request = envelope.void_request
    confirmed = {c["party"] for c in request["confirmed"]}
    pending = [p for p in request["required"] if p not in confirmed]
    if pending:
        return {"status": envelope.status, "void_pending": pending}
    document = await Document.get(id=envelope.document_id)
    statement = await _statement(tenant, runtime, envelope, document)
    from backend.services.envelopes.decide import stop_pending

    async with in_transaction("default"):
        locked = await get_envelope(tenant, str(envelope.id), lock=True)
        if locked.status == "voided":
            return {"status": "voided", "void_statement_id": str(locked.void_statement_id)}
        await stop_pending(locked)
        locked.void_statement_id = statement.id
        await locked.save(update_fields=["void_statement_id"])
        await transition(locked, runtime, "voided", actor=request["requested_by"],
                         reason=request["reason"],
                         data={"void_statement_id": str(statement.id)})
        await Document.filter(id=document.id).update(voided_at=now(),
                                                     void_reason=request["reason"][:300])
        await evidence.append(document.id, "voided", actor=request["requested_by"],
                              payload={"reason": request["reason"],
                                       "statement_id": str(statement.id),
                                       "statement_sha256": statement.current_sha256})
    return {"status": "voided", "void_statement_id": str(statement.id)}


def _statement_pdf(envelope: Envelope, document: Document, request: dict,
                   made_at: dt.datetime) -> bytes:
    from documents.build import FormSpec, Heading, Paragraph, Title, build_form

    blocks = [Title("作废声明", subtitle="Voiding statement"),
              Paragraph(f"文件名称：《{envelope.title}》"),
              Paragraph(f"业务号：{envelope.business_no or '-'}　签署任务：{envelope.id}"),
              Paragraph(f"文件 SHA-256：{document.current_sha256}", size=8),
              Heading("作废原因"), Paragraph(request["reason"] or "-", boxed=True, title="原因"),
              Heading("各方确认")]
    for c in request["confirmed"]:
        blocks.append(Paragraph(f"{c['party']}　确认人：{c['actor']}　时间：{c['at']}", size=8))
    blocks.append(Paragraph(f"自 {made_at.isoformat()} 起，上述文件作废，不再具有效力。"
                            "本声明由平台以 SM2 与 RSA 数字证书签名。", size=9))
    return build_form(FormSpec(code="void-statement", title="作废声明", blocks=tuple(blocks),
                               issuer="电子签章平台")).pdf


async def _statement(tenant: Tenant, runtime, envelope: Envelope, document: Document) -> Document:
    from backend.services.evidence import _sign_report
    from backend.services.generate_document import create_document

    pdf = await file_store.run(_statement_pdf, envelope, document, envelope.void_request, now())
    signed, tokens = await file_store.run(_sign_report, pdf, runtime.pki())
    async with in_transaction("default"):
        for token in tokens:  # the statement's RFC 3161 time-stamp is billable
            await metering.meter("timestamp", tenant_id=tenant.id, key=f"tsa:{token}",
                                 unit_ref=envelope.unit_ref,
                                 business_line=envelope.business_line)
        return await create_document(
            tenant, runtime, pdf=signed, title=f"作废声明：{envelope.title}"[:200],
            doc_type="void_statement", business_no=envelope.business_no or "",
            policy_no=document.policy_no, unit_ref=envelope.unit_ref, signers=[],
            actor="system:void", kind="generated", status="signed",
            event_payload={"voids_envelope": str(envelope.id),
                           "voids_document": str(document.id)})
