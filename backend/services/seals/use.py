"""Using a seal [用印]: the grant is checked at the moment of use, every attempt is logged,
and risk rules run on it. A refused attempt is committed (with its alerts) before the error."""
from __future__ import annotations

import dataclasses
import datetime as dt

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import Forbidden
from backend.models.seal import Seal, SealGrant, SealUse
from backend.models.tenant import Tenant
from backend.services.seals import risk
from backend.services.seals.lifecycle import get_seal, now, usable_problem


class SealUseRefused(Forbidden):
    code = "SEAL_USE_REFUSED"


@dataclasses.dataclass(frozen=True)
class UseRequest:
    """Who wants to seal what, from where."""
    user_ref: str
    document_ref: str
    document_type: str = ""
    flow: str = ""
    roles: tuple[str, ...] = ()
    unit_ref: str = ""
    ip: str = ""
    device: str = ""
    region: str = ""


async def use_seal(tenant: Tenant, seal_id: str, request: UseRequest, *,
                   risk_settings: risk.RiskSettings | None = None,
                   runtime=None) -> tuple[Seal, SealUse]:
    """Check and log one use. With a ``runtime``, alerts are also sent per RISK_ALERT_NOTIFY."""
    risk_settings = risk_settings or risk.RiskSettings()
    async with in_transaction("default"):
        seal = await get_seal(tenant, seal_id)
        problem = usable_problem(seal)
        grant = None if problem else await _claim_grant(seal, request)
        if not problem and grant is None:
            problem = "NO_VALID_GRANT"
        use = await SealUse.create(
            tenant=tenant, seal=seal, grant=grant, user_ref=request.user_ref,
            document_ref=request.document_ref, document_type=request.document_type,
            flow=request.flow, ip=request.ip, device=request.device[:200], region=request.region,
            result="refused" if problem else "allowed", reason=problem)
        await audit.record("seal.use", f"seal:{seal.id}", actor=f"user:{request.user_ref}",
                           result=use.result,
                           details={"document": request.document_ref, "reason": problem,
                                    "grant": str(grant.id) if grant else None})
        alerts = await risk.evaluate(tenant, seal, use, grant, risk_settings)
        if runtime is not None:
            await risk.notify(tenant, runtime, seal, alerts, risk_settings)
    if problem:
        raise SealUseRefused(f"this seal cannot be used: {problem}", details={"reason": problem})
    return seal, use


def _grantee_filter(request: UseRequest) -> Q:
    query = Q(grantee_type="user", grantee_ref=request.user_ref)
    if request.roles:
        query |= Q(grantee_type="role", grantee_ref__in=list(request.roles))
    if request.unit_ref:
        query |= Q(grantee_type="unit", grantee_ref=request.unit_ref)
    return query


async def _claim_grant(seal: Seal, request: UseRequest, at: dt.datetime | None = None) -> SealGrant | None:
    """The first grant that covers this use, its use counted atomically (max_uses holds
    even under concurrent uses)."""
    at = at or now()
    candidates = await SealGrant.filter(
        _grantee_filter(request), seal_id=seal.id, revoked_at=None,
        valid_from__lte=at, valid_until__gt=at).order_by("valid_until")
    for grant in candidates:
        if grant.document_types and request.document_type not in grant.document_types:
            continue
        if grant.flows and request.flow not in grant.flows:
            continue
        claimed = SealGrant.filter(id=grant.id)
        if grant.max_uses is not None:
            claimed = claimed.filter(used_count__lt=grant.max_uses)
        if await claimed.update(used_count=F("used_count") + 1):
            await grant.refresh_from_db()
            return grant
    return None
