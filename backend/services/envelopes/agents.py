"""Agents [代理人]: when an agent's licence [执业证] lapses or the agreement ends, the agent's seal
grants are revoked and the envelopes still waiting for the agent are stopped (voided with the
reason), at once and in the operation log. Agreements past their ``valid_until`` lapse by
themselves (the scheduled housekeeping)."""
from __future__ import annotations

import datetime as dt
from typing import Any


from backend.models.envelope import Envelope, EnvelopeSigner
from backend.models.seal import SealGrant
from backend.models.tenant import Tenant
from backend.services.seals.grants import revoke_grant

AGREEMENT_TYPE = "agent_agreement"


async def lapse_agent(tenant: Tenant, runtime, agent_ref: str, *, reason: str,
                      actor: str) -> dict[str, Any]:
    from backend.services.envelopes.decide import OPEN, end_open

    grants = await SealGrant.filter(seal__tenant_id=tenant.id, grantee_type="user",
                                    grantee_ref=agent_ref, revoked_at=None)
    for grant in grants:
        await revoke_grant(tenant, str(grant.id), reason=f"代理人资格终止：{reason}"[:200],
                           actor=actor)
    pending = await EnvelopeSigner.filter(
        ref=agent_ref, status__in=("waiting", "ready"), envelope__tenant_id=tenant.id,
        envelope__status__in=OPEN).values_list("envelope_id", flat=True)
    stopped = [str(envelope_id) for envelope_id in sorted(set(pending))
               if await end_open(runtime, envelope_id, "voided", actor=actor,
                                 reason=f"agent {agent_ref} lapsed: {reason}")]
    return {"agent_ref": agent_ref, "grants_revoked": [str(g.id) for g in grants],
            "envelopes_stopped": stopped}


async def lapse_ended_agreements(runtime, today: dt.date | None = None) -> int:
    """Completed agent agreements whose validity ended: lapse their agents (idempotent)."""
    today = today or dt.date.today()
    ended = await Envelope.filter(doc_type=AGREEMENT_TYPE, status="completed",
                                  valid_until__lt=today)
    count = 0
    for envelope in ended:
        agents = await EnvelopeSigner.filter(envelope_id=envelope.id, kind="person",
                                             role="agent").exclude(ref="")
        for agent in agents:
            live = await SealGrant.filter(grantee_type="user", grantee_ref=agent.ref,
                                          revoked_at=None, seal__tenant_id=envelope.tenant_id)
            open_signers = await EnvelopeSigner.filter(
                ref=agent.ref, status__in=("waiting", "ready"),
                envelope__status__in=("sent", "signing"),
                envelope__tenant_id=envelope.tenant_id).exists()
            if live or open_signers:
                tenant = await Tenant.get(id=envelope.tenant_id)
                await lapse_agent(tenant, runtime, agent.ref, reason="代理协议到期",
                                  actor="system:agreement-expiry")
                count += 1
    return count
