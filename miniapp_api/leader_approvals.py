"""Leaders approve on mobile [移动审批]: after DingTalk login (``POST /sso/dingtalk``, authCode →
userid → our user) or any other session, a leader lists the approval steps waiting for them and
approves or rejects with a comment; approval triggers the silent company seal that follows
(``decide.approve`` runs the silent steps).

An approver signer is the leader's when its ``ref`` is the user's org id (``push_id``), DingTalk
id or user id, in the user's tenant: a leader never reaches another leader's step.
"""
from __future__ import annotations

from typing import Any

from backend.models.envelope import Envelope, EnvelopeSigner
from backend.models.org import User
from backend.models.tenant import Tenant
from backend.services.envelopes import decide
from backend.services.envelopes.errors import SignerNotFound

MAX_LISTED = 200


def _refs(user: User) -> list[str]:
    return [r for r in (user.push_id, user.dingtalk_id, str(user.id)) if r]


async def _mine(user: User, signer_id: str) -> EnvelopeSigner:
    from backend.ids import parse_uuid

    signer = await EnvelopeSigner.filter(
        id=parse_uuid(signer_id, SignerNotFound), kind="approver", ref__in=_refs(user),
        envelope__tenant_id=user.tenant_id).first()
    if signer is None:
        raise SignerNotFound()
    return signer


async def pending(user: User) -> list[dict[str, Any]]:
    """Approval steps whose turn it is, newest envelope first."""
    signers = await EnvelopeSigner.filter(
        kind="approver", status="ready", ref__in=_refs(user),
        envelope__tenant_id=user.tenant_id, envelope__status__in=("sent", "signing")) \
        .order_by("-envelope__created_at").limit(MAX_LISTED)
    envelopes = {e.id: e for e in await Envelope.filter(id__in=[s.envelope_id for s in signers])}
    return [present(envelopes[s.envelope_id], s) for s in signers]


def present(envelope: Envelope, signer: EnvelopeSigner) -> dict[str, Any]:
    return {"signer_id": str(signer.id), "role": signer.role, "stage": signer.stage,
            "status": signer.status, "envelope": {
                "id": str(envelope.id), "title": envelope.title, "doc_type": envelope.doc_type,
                "business_no": envelope.business_no, "status": envelope.status,
                "changes": envelope.changes,
                "created_at": envelope.created_at.isoformat() if envelope.created_at else None}}


async def decide_step(runtime, user: User, signer_id: str, *, approve: bool, comment: str,
                      ip: str = "", device: str = "") -> dict[str, Any]:
    signer = await _mine(user, signer_id)
    tenant = await Tenant.get(id=user.tenant_id)
    action = decide.approve if approve else decide.reject
    await action(tenant, runtime, str(signer.envelope_id), str(signer.id), comment=comment,
                 ip=ip, device=device)
    envelope = await Envelope.get(id=signer.envelope_id)
    return present(envelope, await EnvelopeSigner.get(id=signer.id))
