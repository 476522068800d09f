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
from backend.db import insert_with_ids
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
    async with in_transaction("default"):
        seal = await get_seal(tenant, seal_id)
        problem = usable_problem(seal)
        grant = None if problem else await _claim_grant(seal, request)
        if not problem and grant is None:
            problem = "NO_VALID_GRANT"
        (use,) = await _log_uses(tenant, seal, grant, [request], problem, risk_settings, runtime)
    if problem:
        raise SealUseRefused(f"this seal cannot be used: {problem}", details={"reason": problem})
    return seal, use


async def use_seal_many(tenant: Tenant, seal_id: str, requests: list[UseRequest], *,
                        risk_settings: risk.RiskSettings | None = None, runtime=None,
                        log: list[audit.Entry] | None = None) -> tuple[Seal, list[SealUse]]:
    """Check and log one use per request (bulk issuance), in the caller's transaction: the
    grant is counted once by ``len(requests)``; refused, nothing is written and
    ``SealUseRefused`` is raised (the caller rolls back, then ``log_refused``).

    ``log``: the ``seal.use`` operation-log entries are added to it for the caller to append
    last, just before its commit — the audit chain's lock is held from the first append to the
    commit, so appending late keeps the batch's other writes out of that serial section."""
    seal = await get_seal(tenant, seal_id)
    problem = usable_problem(seal)
    grant = None if problem else await _claim_grant(seal, requests[0], quantity=len(requests))
    if problem or grant is None:
        problem = problem or "NO_VALID_GRANT"
        raise SealUseRefused(f"this seal cannot be used: {problem}", details={"reason": problem})
    return seal, await _log_uses(tenant, seal, grant, requests, "", risk_settings, runtime, log)


async def log_refused(tenant: Tenant, seal_id: str, requests: list[UseRequest], problem: str, *,
                      risk_settings: risk.RiskSettings | None = None, runtime=None) -> None:
    """Log refused attempts (and their alerts) in their own transaction."""
    async with in_transaction("default"):
        seal = await get_seal(tenant, seal_id)
        await _log_uses(tenant, seal, None, requests, problem, risk_settings, runtime)


async def _log_uses(tenant: Tenant, seal: Seal, grant: SealGrant | None,
                    requests: list[UseRequest], problem: str,
                    risk_settings: risk.RiskSettings | None, runtime,
                    log: list[audit.Entry] | None = None) -> list[SealUse]:
    """One use row and one ``seal.use`` entry per request (appended now, or added to ``log``);
    the risk rules on the first use."""
    risk_settings = risk_settings or risk.RiskSettings()
    at = now()
    uses = [SealUse(tenant=tenant, seal=seal, grant=grant, user_ref=r.user_ref,
                    document_ref=r.document_ref, document_type=r.document_type, flow=r.flow,
                    ip=r.ip, device=r.device[:200], region=r.region, created_at=at,
                    result="refused" if problem else "allowed", reason=problem)
            for r in requests]
    await insert_with_ids(SealUse, uses)
    entries = [
        audit.Entry("seal.use", f"seal:{seal.id}", actor=f"user:{r.user_ref}", result=u.result,
                    details={"document": r.document_ref, "reason": problem,
                             "grant": str(grant.id) if grant else None})
        for r, u in zip(requests, uses)]
    if log is not None:
        log.extend(entries)
    else:
        await audit.record_many(entries)
    alerts = await risk.evaluate(tenant, seal, uses[0], grant, risk_settings, count=len(uses))
    if runtime is not None:
        await risk.notify(tenant, runtime, seal, alerts, risk_settings)
    return uses


def _grantee_filter(request: UseRequest) -> Q:
    query = Q(grantee_type="user", grantee_ref=request.user_ref)
    if request.roles:
        query |= Q(grantee_type="role", grantee_ref__in=list(request.roles))
    if request.unit_ref:
        query |= Q(grantee_type="unit", grantee_ref=request.unit_ref)
    return query


async def _claim_grant(seal: Seal, request: UseRequest, at: dt.datetime | None = None,
                       quantity: int = 1) -> SealGrant | None:
    """The first grant that covers this use (``quantity`` uses), counted atomically (max_uses
    holds even under concurrent uses)."""
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
            claimed = claimed.filter(used_count__lte=grant.max_uses - quantity)
        if await claimed.update(used_count=F("used_count") + quantity):
            await grant.refresh_from_db()
            return grant
    return None
