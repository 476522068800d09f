"""Per-request plumbing: request id, audit context, authentication of /api/v1, access log."""
from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from backend import audit
from backend.auth import authenticate
from backend.logs import request_id_var
from backend.services import metering

log = logging.getLogger("esign.access")
Handler = Callable[..., Awaitable[HTTPResponse]]


def client_ip(request: Request) -> str:
    return request.remote_addr or request.ip or ""


async def start_request(request: Request) -> None:
    incoming = request.headers.get("X-Request-ID", "")
    request.ctx.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() \
        else uuid.uuid4().hex
    request.ctx.started = time.perf_counter()
    request.ctx.tenant = None
    if not hasattr(request.ctx, "quota_holds"):  # Sanic re-runs this while rendering an error
        request.ctx.quota_holds = metering.open_holds()
    request_id_var.set(request.ctx.request_id)
    audit.current_context.set(audit.AuditContext(
        actor="anonymous", ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""), request_id=request.ctx.request_id))


def authenticated(handler: Handler) -> Handler:
    """Require a signed business-system request; sets ``request.ctx.tenant``.

    A decorator rather than middleware: Sanic re-runs request middleware while rendering an
    error (e.g. 413), and an authentication error must not replace that error.
    """
    @functools.wraps(handler)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        await _authenticate(request)
        return await handler(request, *args, **kwargs)

    wrapper.__authenticated__ = True  # type: ignore[attr-defined]
    return wrapper


async def _authenticate(request: Request) -> None:
    runtime = request.app.ctx.runtime
    tenant = await authenticate(
        request.method, request.path, request.query_string, request.headers, request.body or b"",
        cache=runtime.cache, cipher=runtime.cipher,
        max_skew=runtime.settings.signature_max_skew_seconds,
        client_ip=client_ip(request))
    request.ctx.tenant = tenant
    ctx = audit.current_context.get()
    audit.current_context.set(audit.AuditContext(
        actor=f"app:{tenant.app_key}", tenant_id=str(tenant.id), ip=ctx.ip,
        user_agent=ctx.user_agent, request_id=ctx.request_id))


async def finish_request(request: Request, response: HTTPResponse) -> None:
    # quota held for a billable call that did not meter (it failed) is given back
    try:
        await metering.release_holds(getattr(request.ctx, "quota_holds", None))
    except Exception:  # noqa: BLE001 - the holds expire anyway (metering.HOLD_SECONDS)
        log.exception("could not release quota holds")
    request_id = getattr(request.ctx, "request_id", "")
    if request_id:
        response.headers["X-Request-ID"] = request_id
    started = getattr(request.ctx, "started", None)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
    log.info("%s %s %s %sms", request.method, request.path, response.status, elapsed_ms,
             extra={"method": request.method, "path": request.path,
                    "status": response.status, "ms": elapsed_ms})


def register(app: Sanic) -> None:
    app.register_middleware(start_request, "request")
    app.register_middleware(finish_request, "response")
