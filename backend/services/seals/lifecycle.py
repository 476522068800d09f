"""Seal life cycle [制作/审批/变更/停用/恢复/废除]: a guarded state machine, every step audited.

    pending --approve--> active --suspend--> suspended --resume--> active
    pending | active | suspended --revoke--> revoked   (final)
    active | suspended --change--> same state, version + 1 (old version kept)

Only an active seal inside its validity period can sign (``check_usable``).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.ids import parse_uuid
from backend.models.seal import Seal
from backend.models.tenant import Tenant
from backend.services.seals.operators import SealOperator

TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "approve": (("pending",), "active"),
    "suspend": (("active",), "suspended"),
    "resume": (("suspended",), "active"),
    "revoke": (("pending", "active", "suspended"), "revoked"),
}


class SealNotFound(NotFound):
    code, message = "SEAL_NOT_FOUND", "no such seal"


class SealTransitionInvalid(Conflict):
    code = "SEAL_TRANSITION_INVALID"


class ReasonRequired(ValidationFailed):
    code, message = "REASON_REQUIRED", "say why (reason, 2 to 300 characters)"


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


async def get_seal(tenant: Tenant, seal_id: str, *, for_update: bool = False) -> Seal:
    query = Seal.select_for_update() if for_update else Seal
    seal = await query.get_or_none(id=parse_uuid(seal_id, SealNotFound), tenant_id=tenant.id)
    if seal is None:
        raise SealNotFound()
    return seal


def check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not (2 <= len(reason) <= 300):
        raise ReasonRequired()
    return reason


async def transition(tenant: Tenant, seal_id: str, action: str, *,
                     operator: SealOperator | None = None, reason: str,
                     actor: str | None = None) -> Seal:
    """``operator`` acts (unit-checked); ``actor`` alone names a system actor."""
    operator = operator or SealOperator.system(actor or "system")
    if action not in TRANSITIONS:
        raise SealTransitionInvalid(f"unknown action {action!r}")
    reason = check_reason(reason)
    allowed_from, target = TRANSITIONS[action]
    async with in_transaction("default"):
        seal = await get_seal(tenant, seal_id, for_update=True)
        operator.check_unit(seal.unit_ref)
        actor = operator.actor
        if seal.status not in allowed_from:
            raise SealTransitionInvalid(f"cannot {action} a {seal.status} seal")
        previous, seal.status = seal.status, target
        stamp = now()
        if action == "approve":
            seal.approved_by, seal.approved_at = actor, stamp
        elif action == "suspend":
            seal.suspended_at = stamp
        elif action == "resume":
            seal.suspended_at = None
        elif action == "revoke":
            seal.revoked_at = stamp
        await seal.save()
        await audit.record(f"seal.{action}", f"seal:{seal.id}", actor=actor,
                           details={"from": previous, "to": target, "reason": reason})
    return seal


def usable_problem(seal: Seal, at: dt.datetime | None = None) -> str:
    """Why this seal cannot sign now ('' when it can)."""
    at = at or now()
    if seal.status != "active":
        return f"SEAL_{seal.status.upper()}"
    if not (seal.valid_from <= at < seal.valid_until):
        return "SEAL_OUTSIDE_VALIDITY"
    return ""


def present_seal(seal: Seal) -> dict[str, Any]:
    return {
        "id": str(seal.id), "kind": seal.kind, "name": seal.name, "status": seal.status,
        "version": seal.version, "source": seal.source, "unit": seal.unit_ref, "spec": seal.spec,
        "valid_from": seal.valid_from.isoformat(), "valid_until": seal.valid_until.isoformat(),
        "created_by": seal.created_by, "approved_by": seal.approved_by,
        "usable": usable_problem(seal) == "",
    }
