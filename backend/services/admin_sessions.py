"""User sessions opened by single sign-on [单点登录会话]: bearer tokens, revocable.

The token (``ses_`` + 43 url-safe characters, 256 bits) is returned once and stored as its
SHA-256. A session ends at ``expires_at`` (``SESSION_TTL_SECONDS``), when revoked (logout, an
administrator, the user being disabled by a sync) or when its user is disabled.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from backend import audit
from backend.auth import AuthRateLimited, TenantDisabled
from backend.errors import NotFound, Unauthorized
from backend.ids import parse_uuid
from backend.models.admin import AdminRole, Session
from backend.models.org import User

TOKEN_PREFIX = "ses_"


class SessionInvalid(Unauthorized):
    code, message = "SESSION_INVALID", "sign in again: the session is missing, expired or revoked"


class SessionNotFound(NotFound):
    code, message = "SESSION_NOT_FOUND", "this session does not exist"


class UserDisabled(Unauthorized):
    code, message = "USER_DISABLED", "this user is disabled"


@dataclasses.dataclass(frozen=True)
class OpenedSession:
    session: Session
    token: str
    user: User
    role: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, "token_type": "Bearer", "session_id": str(self.session.id),
                "expires_at": self.session.expires_at.isoformat(), "via": self.session.via,
                "user": present_user(self.user), "admin_role": self.role}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def present_user(user: User) -> dict[str, Any]:
    return {"id": str(user.id), "name": user.name, "mobile": user.mobile_masked,
            "unit_id": str(user.unit_id) if user.unit_id else None,
            "department_id": str(user.department_id) if user.department_id else None,
            "push_id": user.push_id, "dingtalk_id": user.dingtalk_id, "status": user.status}


async def role_of(user_id: Any) -> str | None:
    row = await AdminRole.get_or_none(user_id=user_id)
    return row.role if row else None


async def open_session(user: User, via: str, ttl_seconds: int, ip: str = "") -> OpenedSession:
    if user.status != "active":
        raise UserDisabled()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session = await Session.create(tenant_id=user.tenant_id, user=user, token_hash=token_hash(token),
                                   via=via, ip=ip[:64],
                                   expires_at=_now() + dt.timedelta(seconds=ttl_seconds))
    await audit.record("session.open", f"session:{session.id}", actor=f"user:{user.id}",
                       tenant_id=str(user.tenant_id), details={"via": via})
    return OpenedSession(session, token, user, await role_of(user.id))


async def authenticate_token(token: str) -> tuple[Session, User]:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise SessionInvalid()
    session = await Session.get_or_none(token_hash=token_hash(token)).select_related("user",
                                                                                    "tenant")
    if session is None or session.revoked_at is not None or session.expires_at <= _now():
        raise SessionInvalid()
    if not session.tenant.is_active:
        raise TenantDisabled()
    if session.user.status != "active":
        raise UserDisabled()
    return session, session.user


async def revoke(session: Session, reason: str) -> dict[str, Any]:
    if session.revoked_at is None:
        session.revoked_at = _now()
        await session.save(update_fields=["revoked_at"])
        await audit.record("session.revoke", f"session:{session.id}",
                           tenant_id=str(session.tenant_id),
                           details={"reason": reason, "user": str(session.user_id)})
    return present_session(session)


async def revoke_by_id(tenant_id: str, session_id: str, reason: str) -> dict[str, Any]:
    session = await Session.get_or_none(tenant_id=tenant_id,
                                        id=parse_uuid(session_id, SessionNotFound))
    if session is None:
        raise SessionNotFound()
    return await revoke(session, reason)


async def revoke_user_sessions(tenant_id: str, user_id: str, reason: str) -> int:
    sessions = await Session.filter(tenant_id=tenant_id, user_id=user_id, revoked_at=None)
    for session in sessions:
        await revoke(session, reason)
    return len(sessions)


def present_session(session: Session) -> dict[str, Any]:
    return {"id": str(session.id), "user_id": str(session.user_id), "via": session.via,
            "ip": session.ip, "created_at": session.created_at.isoformat(),
            "expires_at": session.expires_at.isoformat(),
            "revoked_at": session.revoked_at.isoformat() if session.revoked_at else None}


async def list_sessions(tenant_id: str, user_id: str | None, active_only: bool, limit: int,
                        offset: int) -> list[dict[str, Any]]:
    query = Session.filter(tenant_id=tenant_id)
    if user_id:
        query = query.filter(user_id=parse_uuid(user_id, SessionNotFound))
    if active_only:
        query = query.filter(revoked_at=None, expires_at__gt=_now())
    rows = await query.order_by("-created_at").offset(offset).limit(limit)
    return [present_session(s) for s in rows]


MAX_SIGN_IN_FAILURES_PER_MINUTE = 30


async def throttled_sign_in(cache, mode: str, ip: str,
                            attempt: Callable[[], Awaitable[OpenedSession]]) -> OpenedSession:
    """Run a sign-in; refused ones are counted per client address and mode, and a client with
    too many in the current minute gets ``429 AUTH_RATE_LIMITED`` without trying."""
    key = f"ssofail:{mode}:{ip}:{int(time.time() // 60)}"
    failures = await cache.get(key)
    if failures and int(failures) >= MAX_SIGN_IN_FAILURES_PER_MINUTE:
        raise AuthRateLimited()
    try:
        return await attempt()
    except Unauthorized:
        await cache.incr(key, 60)
        raise
