"""The security administrator's console [安全保密管理员]: seals and their grants.

Thin over the seal module (``backend.services.seals``): listing, life-cycle transitions and grant
revocation go through its audited functions, with the administrator as the actor.
"""
from __future__ import annotations

from typing import Any

from backend.db import replica
from backend.errors import ValidationFailed
from backend.models.seal import SEAL_STATES, Seal, SealGrant
from backend.models.tenant import Tenant
from backend.services.seals import grants, lifecycle

ADMIN_TRANSITIONS = ("approve", "suspend", "resume", "revoke")


async def list_seals(tenant_id: str, *, status: str | None, unit: str | None, limit: int,
                     offset: int) -> dict[str, Any]:
    if status is not None and status not in SEAL_STATES:
        raise ValidationFailed(f"status must be one of {', '.join(SEAL_STATES)}",
                               code="QUERY_INVALID")
    query = Seal.filter(tenant_id=tenant_id).using_db(replica())
    if status:
        query = query.filter(status=status)
    if unit:
        query = query.filter(unit_ref=unit[:64])
    total = await query.count()
    rows = await query.order_by("created_at", "id").offset(offset).limit(limit)
    return {"items": [lifecycle.present_seal(s) for s in rows], "total": total}


async def transition(tenant_id: str, seal_id: str, action: str, *, actor: str,
                     reason: str) -> dict[str, Any]:
    if action not in ADMIN_TRANSITIONS:
        raise ValidationFailed(f"action must be one of {', '.join(ADMIN_TRANSITIONS)}",
                               code="SEAL_TRANSITION_INVALID")
    tenant = await Tenant.get(id=tenant_id)
    seal = await lifecycle.transition(tenant, seal_id, action, actor=actor, reason=reason)
    return lifecycle.present_seal(seal)


async def list_grants(tenant_id: str, seal_id: str) -> dict[str, Any]:
    tenant = await Tenant.get(id=tenant_id)
    seal = await lifecycle.get_seal(tenant, seal_id)
    rows = await SealGrant.filter(seal_id=seal.id).using_db(replica()).order_by("created_at")
    return {"items": [grants.present_grant(g) for g in rows]}


async def revoke_grant(tenant_id: str, grant_id: str, *, actor: str,
                       reason: str) -> dict[str, Any]:
    tenant = await Tenant.get(id=tenant_id)
    return grants.present_grant(await grants.revoke_grant(tenant, grant_id, actor=actor,
                                                          reason=reason))
