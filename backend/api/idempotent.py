"""Answer a creating POST through ``backend.idempotency`` (Idempotency-Key header)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from sanic import Request
from sanic.response import HTTPResponse, json

from backend.idempotency import Action, run_idempotent


async def respond_idempotent(request: Request, action: Action,
                             prepare: Callable[[], Awaitable[None]] | None = None) -> HTTPResponse:
    runtime = request.app.ctx.runtime
    outcome = await run_idempotent(request.ctx.tenant, request.headers.get("Idempotency-Key"),
                                   request.method, request.path, request.body, action,
                                   runtime.settings.idempotency_ttl_seconds, prepare)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return json(outcome.body, status=outcome.status, headers=headers)
