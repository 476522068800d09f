"""Approvals and refusals: a leader approves (optionally choosing, at a pre-seal node
[预盖章节点], the seal and its position for the company signers that follow) or rejects with a
comment; a person may refuse to sign. A rejection ends the envelope: the signers still waiting
are stopped and their links revoked."""
from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.models.envelope import Envelope, EnvelopeSigner
from backend.models.signing_link import SigningLink
from backend.models.tenant import Tenant
from backend.services import callbacks_outbox as outbox
from backend.services import evidence
from backend.services.envelopes.errors import SignerKindInvalid
from backend.services.envelopes.flow import mark_signing, open_next_stage, run_silent_steps
from backend.services.envelopes.sign_step import check_open, check_turn
from backend.services.envelopes.state import event_data, now, transition


async def approve(tenant: Tenant, runtime, envelope_id: str, signer_id: str, *, comment: str,
                  seal_id: str = "", position: dict[str, Any] | None = None,
                  ip: str = "", device: str = "") -> None:
    from backend.services.envelopes.state import get_envelope, get_signer

    async with in_transaction("default"):
        envelope = await get_envelope(tenant, envelope_id, lock=True)
        signer = await get_signer(envelope, signer_id, lock=True)
        if signer.kind != "approver":
            raise SignerKindInvalid("only an approver approves")
        check_open(envelope)
        check_turn(signer)
        chosen = await _choose_seal(envelope, signer, seal_id, position)
        signer.status, signer.signed_at, signer.comment = "signed", now(), comment[:300]
        await signer.save(update_fields=["status", "signed_at", "comment"])
        actor = f"user:{signer.ref}"
        await evidence.append(envelope.document_id, "approval", actor=actor, ip=ip,
                              device=device,
                              payload={"signer_id": str(signer.id), "decision": "approved",
                                       "comment": comment[:300], "pre_seal": chosen})
        await audit.record("envelope.approve", f"envelope:{envelope.id}", actor=actor,
                           tenant_id=str(tenant.id), details={"signer": str(signer.id)})
        await mark_signing(envelope, runtime, actor=actor)
        await outbox.emit(tenant, runtime, "signer.approved",
                          event_data(envelope, signer_id=str(signer.id), comment=comment[:300]))
        await open_next_stage(envelope, runtime, actor=actor)
    await run_silent_steps(tenant, runtime, str(envelope.id))


async def _choose_seal(envelope: Envelope, approver: EnvelopeSigner, seal_id: str,
                       position: dict[str, Any] | None) -> list[str]:
    """At a pre-seal node the approver's choice goes to the next stage's company signers."""
    if not seal_id and not position:
        return []
    following = await EnvelopeSigner.filter(envelope_id=envelope.id, kind="company",
                                            stage=approver.stage + 1)
    for company in following:
        company.seal_id = seal_id or company.seal_id
        company.position = position or company.position
        await company.save(update_fields=["seal_id", "position"])
    return [str(c.id) for c in following]


async def reject(tenant: Tenant, runtime, envelope_id: str, signer_id: str, *, comment: str,
                 ip: str = "", device: str = "") -> None:
    from backend.services.envelopes.state import get_envelope, get_signer

    async with in_transaction("default"):
        envelope = await get_envelope(tenant, envelope_id, lock=True)
        signer = await get_signer(envelope, signer_id, lock=True)
        if signer.kind == "company":
            raise SignerKindInvalid("a company signer does not reject; revoke its grant")
        check_open(envelope)
        check_turn(signer)
        signer.status, signer.rejected_at, signer.comment = "rejected", now(), comment[:300]
        await signer.save(update_fields=["status", "rejected_at", "comment"])
        actor = f"signer:{signer.ref or signer.id}"
        await evidence.append(envelope.document_id, "approval", actor=actor, ip=ip,
                              device=device,
                              payload={"signer_id": str(signer.id), "decision": "rejected",
                                       "comment": comment[:300]})
        await stop_pending(envelope)
        await transition(envelope, runtime, "rejected", actor=actor, reason=comment,
                         data={"signer_id": str(signer.id), "role": signer.role})


OPEN = ("draft", "sent", "signing")


async def end_open(runtime, envelope_id, to: str, *, actor: str, reason: str,
                   still=lambda envelope: True) -> bool:
    """In its own transaction: lock the envelope and, when it is still open (and ``still``
    holds), stop its pending signers and move it to ``to``; False when it ended meanwhile."""
    async with in_transaction("default"):
        envelope = await Envelope.filter(id=envelope_id).select_for_update().first()
        if envelope.status not in OPEN or not still(envelope):
            return False
        await stop_pending(envelope)
        await transition(envelope, runtime, to, actor=actor, reason=reason[:300])
        return True


async def stop_pending(envelope: Envelope) -> None:
    """Signers not yet done are stopped and their links revoked (caller's transaction)."""
    await EnvelopeSigner.filter(envelope_id=envelope.id,
                                status__in=("waiting", "ready", "signing")).update(status="stopped")
    await SigningLink.filter(tenant_id=envelope.tenant_id, envelope_ref=str(envelope.id),
                             revoked_at=None).update(revoked_at=now())
