"""Three-role separation [三员分立]: system, security and audit administrators.

* ``system`` (系统管理员): users, sessions, organisation sync, configuration;
* ``security`` (安全保密管理员): seals, grants, certificates, policies (and statistics);
* ``audit`` (安全审计员): reads and exports the operation log, verifies the chain; nothing else.

A user holds at most one of the three (checked here and by a unique index on ``user``): a second
role is refused with ``409 ADMIN_ROLE_CONFLICT``; changing a role means revoking it first. Nobody
grants or revokes their own role. Every grant and revocation is in the operation log.
"""
from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError

from backend import audit
from backend.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from backend.ids import parse_uuid
from backend.models.admin import ADMIN_ROLES, AdminRole
from backend.models.org import User
from backend.services import admin_sessions


class UserNotFound(NotFound):
    code, message = "USER_NOT_FOUND", "this user does not exist"


class AdminRoleConflict(Conflict):
    code, message = "ADMIN_ROLE_CONFLICT", "this user already holds another administrator role"


class AdminRoleNotFound(NotFound):
    code, message = "ADMIN_ROLE_NOT_FOUND", "this user holds no administrator role"


class OwnRoleChange(Forbidden):
    code, message = "OWN_ROLE_CHANGE", "administrators cannot change their own role"


class UserInactive(AppError):
    code, status, message = "USER_DISABLED", 409, "this user is disabled"


async def get_user(tenant_id: str, user_id: str) -> User:
    user = await User.get_or_none(tenant_id=tenant_id, id=parse_uuid(user_id, UserNotFound))
    if user is None:
        raise UserNotFound()
    return user


async def find_user(tenant_id: str, *, user_id: str | None = None,
                    push_id: str | None = None) -> User:
    if user_id:
        return await get_user(tenant_id, user_id)
    user = await User.get_or_none(tenant_id=tenant_id, push_id=push_id) if push_id else None
    if user is None:
        raise UserNotFound()
    return user


def present(row: AdminRole) -> dict[str, Any]:
    return {"user_id": str(row.user_id), "role": row.role, "granted_by": row.granted_by,
            "created_at": row.created_at.isoformat()}


async def grant(user: User, role: str, *, granted_by: str, acting_user_id: str | None = None
                ) -> dict[str, Any]:
    """Grant ``role``; granting the role the user already holds is a no-op."""
    if role not in ADMIN_ROLES:
        raise ValidationFailed("role must be system, security or audit", code="ADMIN_ROLE_INVALID")
    if acting_user_id is not None and str(user.id) == acting_user_id:
        raise OwnRoleChange()
    if user.status != "active":
        raise UserInactive()
    existing = await AdminRole.get_or_none(user_id=user.id)
    if existing is not None:
        if existing.role != role:
            await audit.record("admin.role.grant", f"user:{user.id}", result="refused",
                               tenant_id=str(user.tenant_id),
                               details={"role": role, "holds": existing.role})
            raise AdminRoleConflict(f"this user is already a {existing.role} administrator")
        return present(existing)
    try:
        row = await AdminRole.create(tenant_id=user.tenant_id, user=user, role=role,
                                     granted_by=granted_by[:200])
    except IntegrityError:  # a concurrent grant won the unique index
        raise AdminRoleConflict() from None
    await audit.record("admin.role.grant", f"user:{user.id}", tenant_id=str(user.tenant_id),
                       details={"role": role})
    return present(row)


async def revoke(user: User, *, acting_user_id: str | None = None) -> dict[str, Any]:
    if acting_user_id is not None and str(user.id) == acting_user_id:
        raise OwnRoleChange()
    row = await AdminRole.get_or_none(user_id=user.id)
    if row is None:
        raise AdminRoleNotFound()
    await row.delete()
    # the role's sessions were opened with its powers: end them
    await admin_sessions.revoke_user_sessions(str(user.tenant_id), str(user.id), "role_revoked")
    await audit.record("admin.role.revoke", f"user:{user.id}", tenant_id=str(user.tenant_id),
                       details={"role": row.role})
    return {**present(row), "revoked": True}


async def list_roles(tenant_id: str) -> list[dict[str, Any]]:
    rows = await AdminRole.filter(tenant_id=tenant_id).order_by("created_at")
    return [present(r) for r in rows]
