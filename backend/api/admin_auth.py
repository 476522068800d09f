"""Admin-console authentication: a session bearer token (``Authorization: Bearer ses_...``) and,
for admin endpoints, one of the three admin roles [三员分立].

``@session_authenticated`` accepts any signed-in user; ``@requires_role("audit")`` (which implies
it) also requires that role. A refused role is itself written to the operation log.
"""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse

from backend import audit
from backend.errors import Forbidden, Unauthorized
from backend.models.admin import ADMIN_ROLES
from backend.services import admin_sessions

Handler = Callable[..., Awaitable[HTTPResponse]]


class SessionRequired(Unauthorized):
    code, message = "SESSION_REQUIRED", "send Authorization: Bearer <session token>"


class AdminRoleRequired(Forbidden):
    code, message = "ADMIN_ROLE_REQUIRED", "this endpoint needs another administrator role"


async def _authenticate_session(request: Request) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SessionRequired()
    session, user = await admin_sessions.authenticate_token(token.strip())
    request.ctx.session, request.ctx.user = session, user
    request.ctx.admin_role = await admin_sessions.role_of(user.id)
    ctx = audit.current_context.get()
    audit.current_context.set(audit.AuditContext(
        actor=f"user:{user.id}", tenant_id=str(user.tenant_id), ip=ctx.ip,
        user_agent=ctx.user_agent, request_id=ctx.request_id))


def session_authenticated(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        await _authenticate_session(request)
        return await handler(request, *args, **kwargs)

    return wrapper


def requires_role(*roles: str) -> Callable[[Handler], Handler]:
    unknown = set(roles) - set(ADMIN_ROLES)
    if not roles or unknown:
        raise ValueError(f"requires_role needs roles among {ADMIN_ROLES}, got {roles}")

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            await _authenticate_session(request)
            if request.ctx.admin_role not in roles:
                await audit.record("admin.access_denied", f"{request.method} {request.path}"[:200],
                                   result="refused",
                                   details={"role": request.ctx.admin_role, "needs": list(roles)})
                raise AdminRoleRequired(f"this endpoint needs the {' or '.join(roles)} role")
            return await handler(request, *args, **kwargs)

        wrapper.__admin_roles__ = roles  # type: ignore[attr-defined]
        return wrapper

    return decorate
