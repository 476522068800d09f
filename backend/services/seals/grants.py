"""Seal grants [分级分权, 赋权]: who may use which seal, for what, when, how many times."""
from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.ids import parse_uuid
from backend.models.seal import SealGrant
from backend.models.tenant import Tenant
from backend.services.seals.lifecycle import check_reason, get_seal, now
from backend.services.seals.operators import SealOperator

GRANTEE_TYPES = ("user", "role", "unit")


class GrantNotFound(NotFound):
    code, message = "GRANT_NOT_FOUND", "no such grant"


class GrantInvalid(ValidationFailed):
    code = "GRANT_INVALID"


class GrantOverlaps(Conflict):
    code, message = "GRANT_OVERLAPS", "an active grant for this grantee overlaps that period"


async def grant_seal(tenant: Tenant, seal_id: str, *, grantee_type: str, grantee_ref: str,
                     valid_from: dt.datetime, valid_until: dt.datetime,
                     document_types: list[str], flows: list[str], max_uses: int | None,
                     operator: SealOperator, reason: str) -> SealGrant:
    reason = check_reason(reason)
    _check_window(grantee_type, valid_from, valid_until, max_uses)
    async with in_transaction("default"):
        seal = await get_seal(tenant, seal_id, for_update=True)
        operator.check_unit(seal.unit_ref)
        actor = operator.actor
        if seal.status == "revoked":
            raise Conflict("a revoked seal cannot be granted", code="SEAL_REVOKED")
        if valid_until > seal.valid_until:
            raise GrantInvalid("the grant cannot outlive the seal's validity")
        overlapping = await SealGrant.filter(
            seal_id=seal.id, grantee_type=grantee_type, grantee_ref=grantee_ref, revoked_at=None,
            valid_from__lt=valid_until, valid_until__gt=valid_from).exists()
        if overlapping:
            raise GrantOverlaps()
        grant = await SealGrant.create(
            seal=seal, grantee_type=grantee_type, grantee_ref=grantee_ref,
            document_types=sorted(set(document_types)), flows=sorted(set(flows)),
            valid_from=valid_from, valid_until=valid_until, max_uses=max_uses,
            granted_by=actor, reason=reason)
        await audit.record("seal.grant", f"grant:{grant.id}", actor=actor,
                           details={"seal": str(seal.id), "grantee": f"{grantee_type}:{grantee_ref}",
                                    "until": valid_until.isoformat(), "reason": reason})
    return grant


def _check_window(grantee_type: str, valid_from: dt.datetime, valid_until: dt.datetime,
                  max_uses: int | None) -> None:
    if grantee_type not in GRANTEE_TYPES:
        raise GrantInvalid(f"grantee_type must be one of {', '.join(GRANTEE_TYPES)}")
    if valid_from.tzinfo is None or valid_until.tzinfo is None:
        raise GrantInvalid("times need a timezone (ISO 8601 with offset)")
    if valid_until <= valid_from:
        raise GrantInvalid("valid_until must be after valid_from")
    if valid_until <= now():
        raise GrantInvalid("the grant would already be expired")
    if max_uses is not None and max_uses < 1:
        raise GrantInvalid("max_uses must be at least 1")


async def revoke_grant(tenant: Tenant, grant_id: str, *, operator: SealOperator | None = None,
                       reason: str, actor: str | None = None) -> SealGrant:
    operator = operator or SealOperator.system(actor or "system")
    reason = check_reason(reason)
    async with in_transaction("default"):
        grant = await SealGrant.select_for_update().get_or_none(
            id=parse_uuid(grant_id, GrantNotFound), seal__tenant_id=tenant.id)
        if grant is None:
            raise GrantNotFound()
        operator.check_unit((await grant.seal).unit_ref)
        actor = operator.actor
        if grant.revoked_at is None:
            grant.revoked_at = now()
            await grant.save(update_fields=["revoked_at"])
            await audit.record("seal.grant.revoke", f"grant:{grant.id}", actor=actor,
                               details={"reason": reason})
    return grant


def present_grant(grant: SealGrant) -> dict[str, Any]:
    return {
        "id": str(grant.id), "seal_id": str(grant.seal_id), "grantee_type": grant.grantee_type,
        "grantee_ref": grant.grantee_ref, "document_types": grant.document_types,
        "flows": grant.flows, "valid_from": grant.valid_from.isoformat(),
        "valid_until": grant.valid_until.isoformat(), "max_uses": grant.max_uses,
        "used_count": grant.used_count, "revoked": grant.revoked_at is not None,
        "granted_by": grant.granted_by,
    }
