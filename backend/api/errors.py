"""One JSON error shape for every 4xx/5xx: {"code", "message", "request_id"[, "details"]}.

A lost dependency is not a bug: a dropped or refused PostgreSQL connection answers 503
``DATABASE_UNAVAILABLE`` and an unreachable Redis 503 ``CACHE_UNAVAILABLE`` (with ``Retry-After``,
logged as a warning without a traceback) instead of 500. Pools reconnect on their own: asyncpg
replaces a closed connection on the next acquire, redis-py reconnects on the next command.
"""
from __future__ import annotations

import logging
import re

from sanic import Request, Sanic
from sanic import exceptions as sanic_exc
from sanic.response import HTTPResponse, json

from backend.errors import AppError, CacheUnavailable, DatabaseUnavailable

log = logging.getLogger("esign.errors")
_BROKEN_PROTOCOL = re.compile(r"another operation \([1-4]\) is in progress")

_SANIC_CODES = {
    400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED", 408: "REQUEST_TIMEOUT", 413: "BODY_TOO_LARGE",
    416: "RANGE_NOT_SATISFIABLE", 503: "SERVICE_UNAVAILABLE",
}


def error_response(request: Request | None, status: int, body: dict) -> HTTPResponse:
    request_id = getattr(getattr(request, "ctx", None), "request_id", "") if request else ""
    return json({**body, "request_id": request_id}, status=status,
                headers={"X-Request-ID": request_id} if request_id else None)


def _from_asyncpg(exc: BaseException) -> bool:
    import asyncpg

    errors = asyncpg.exceptions
    if isinstance(exc, (errors.PostgresConnectionError, errors.OperatorInterventionError,
                        errors.TooManyConnectionsError, errors.CannotConnectNowError)):
        return True
    if isinstance(exc, errors.InterfaceError):
        return "closed" in str(exc)
    # a pooled connection whose server ended it while idle: the protocol is still consuming the
    # server's FATAL message (states 1-4: failed, error-consume, cancelled, terminating)
    return isinstance(exc, errors.InternalClientError) and \
        _BROKEN_PROTOCOL.search(str(exc)) is not None


def _raised_in(exc: BaseException, package: str) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if f"/{package}/" in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    return False


def unavailable_dependency(exc: BaseException) -> AppError | None:
    """DatabaseUnavailable / CacheUnavailable when ``exc`` (or what caused it) is a lost
    connection to PostgreSQL or Redis; None for anything else."""
    import redis.exceptions

    from tortoise.exceptions import DBConnectionError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 8:
        seen.add(id(current))
        if isinstance(current, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
            return CacheUnavailable()
        if isinstance(current, DBConnectionError) or _from_asyncpg(current):
            return DatabaseUnavailable()
        if isinstance(current, (OSError, TimeoutError)):  # refused/reset/timed-out sockets
            if _raised_in(current, "asyncpg"):
                return DatabaseUnavailable()
            if _raised_in(current, "redis") or _raised_in(current, "saq"):
                return CacheUnavailable()
        current = current.__cause__ or current.__context__
    return None


def handle_error(request: Request, exc: Exception) -> HTTPResponse:
    if not isinstance(exc, (AppError, sanic_exc.SanicException)):
        lost = unavailable_dependency(exc)
        if lost is not None:
            log.warning("%s: %s: %s", lost.code, type(exc).__name__, exc)
            response = error_response(request, lost.status, lost.to_dict())
            response.headers["Retry-After"] = "1"
            return response
    if isinstance(exc, AppError):
        if exc.status >= 500:
            log.error("application error %s", exc.code, exc_info=exc)
        return error_response(request, exc.status, exc.to_dict())
    if isinstance(exc, sanic_exc.SanicException) and exc.status_code < 500:
        code = _SANIC_CODES.get(exc.status_code, "BAD_REQUEST")
        return error_response(request, exc.status_code, {"code": code, "message": str(exc)})
    log.exception("unhandled error")
    return error_response(request, 500, {"code": "INTERNAL_ERROR", "message": "internal error"})


def register(app: Sanic) -> None:
    app.error_handler.add(Exception, handle_error)
