"""Seals and grants follow the organisation [印章/授权随机构变更], as ``org_events`` listeners.

* a unit disabled (by a sync or because a full sync no longer lists it): its active seals are
  suspended and the grants made to the unit are revoked. Seals and grants name units by any of
  their ids (our uuid, the business-system id, the DingTalk id). Re-enabling a unit does not
  resume its seals: a security administrator decides;
* a user disabled: the grants made to that user are revoked.

Moves and renames need nothing: seals keep naming the same unit. Everything happens through the
seal module's own transitions (audited) inside the sync transaction.
"""
from __future__ import annotations

from backend.models.org import Unit
from backend.models.seal import Seal, SealGrant
from backend.models.tenant import Tenant
from backend.services import org_events

ACTOR = "system:org-sync"


def unit_refs(unit: Unit) -> list[str]:
    return [r for r in (str(unit.id), unit.push_id, unit.dingtalk_id) if r]


async def _revoke_grants(tenant: Tenant, grantee_type: str, refs: list[str], reason: str) -> int:
    from backend.services.seals.grants import revoke_grant

    grants = await SealGrant.filter(seal__tenant_id=tenant.id, grantee_type=grantee_type,
                                    grantee_ref__in=refs, revoked_at=None)
    for grant in grants:
        await revoke_grant(tenant, str(grant.id), actor=ACTOR, reason=reason)
    return len(grants)


async def follow_unit(change: org_events.UnitChange) -> None:
    if change.change != "disabled":
        return
    from backend.services.seals.lifecycle import transition

    unit = await Unit.get(id=change.unit_id)
    tenant = await Tenant.get(id=change.tenant_id)
    refs = unit_refs(unit)
    reason = f"unit {unit.name} disabled by the organisation sync"[:300]
    for seal in await Seal.filter(tenant_id=tenant.id, unit_ref__in=refs, status="active"):
        await transition(tenant, str(seal.id), "suspend", actor=ACTOR, reason=reason)
    await _revoke_grants(tenant, "unit", refs, reason)


async def follow_user(event: org_events.UserDisabled) -> None:
    tenant = await Tenant.get(id=event.tenant_id)
    await _revoke_grants(tenant, "user", list(event.refs),
                         f"user disabled ({event.reason})"[:300])


org_events.register_unit_listener(follow_unit)
org_events.register_user_listener(follow_user)
