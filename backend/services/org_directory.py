"""Reading the synced organisation (units tree, users) and disabling a user by hand."""
from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.db import replica
from backend.errors import ValidationFailed
from backend.models.org import Department, Unit, User
from backend.services import admin_sessions, org_events, org_seal_follow  # noqa: F401
from backend.services.admin_roles import get_user
from backend.services.query_audit import unit_subtree


def present_unit(unit: Unit) -> dict[str, Any]:
    return {"id": str(unit.id), "name": unit.name, "kind": unit.kind,
            "parent_id": str(unit.parent_id) if unit.parent_id else None,
            "push_id": unit.push_id, "dingtalk_id": unit.dingtalk_id,
            "disabled": unit.disabled_at is not None}


def present_department(dept: Department) -> dict[str, Any]:
    return {"id": str(dept.id), "name": dept.name, "unit_id": str(dept.unit_id),
            "parent_id": str(dept.parent_id) if dept.parent_id else None,
            "push_id": dept.push_id, "dingtalk_id": dept.dingtalk_id,
            "disabled": dept.disabled_at is not None}


async def list_units(tenant_id: str) -> dict[str, Any]:
    units = await Unit.filter(tenant_id=tenant_id).using_db(replica()).order_by("created_at")
    depts = await Department.filter(tenant_id=tenant_id).using_db(replica()).order_by("created_at")
    return {"units": [present_unit(u) for u in units],
            "departments": [present_department(d) for d in depts]}


async def list_users(tenant_id: str, *, unit_id: str | None, status: str | None, limit: int,
                     offset: int) -> dict[str, Any]:
    if status not in (None, "active", "disabled"):
        raise ValidationFailed("status must be active or disabled", code="QUERY_INVALID")
    query = User.filter(tenant_id=tenant_id).using_db(replica())
    if unit_id:
        units = await unit_subtree(tenant_id, unit_id)
        if not units:
            return {"items": [], "total": 0}
        query = query.filter(unit_id__in=units)
    if status:
        query = query.filter(status=status)
    total = await query.count()
    rows = await query.order_by("created_at", "id").offset(offset).limit(limit)
    return {"items": [admin_sessions.present_user(u) for u in rows], "total": total}


async def disable_user(tenant_id: str, user_id: str, reason: str) -> dict[str, Any]:
    async with in_transaction("default"):
        return await _disable(tenant_id, user_id, reason)


async def _disable(tenant_id: str, user_id: str, reason: str) -> dict[str, Any]:
    user = await get_user(tenant_id, user_id)
    if user.status != "disabled":
        user.status, user.disabled_at = "disabled", dt.datetime.now(dt.timezone.utc)
        await user.save(update_fields=["status", "disabled_at", "updated_at"])
        await admin_sessions.revoke_user_sessions(tenant_id, str(user.id), "user_disabled")
        await audit.record("org.user.disable", f"user:{user.id}", tenant_id=tenant_id,
                           details={"source": "admin", "reason": reason[:200]})
        await org_events.user_disabled(org_events.UserDisabled(
            tenant_id=tenant_id, user_id=str(user.id),
            refs=tuple(r for r in (str(user.id), user.push_id, user.dingtalk_id) if r),
            reason="disabled by an administrator"))
    return admin_sessions.present_user(user)
