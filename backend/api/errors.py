"""One JSON error shape for every 4xx/5xx: {"code", "message", "request_id"[, "details"]}."""
from __future__ import annotations

import logging

from sanic import Request, Sanic
from sanic import exceptions as sanic_exc
from sanic.response import HTTPResponse, json

from backend.errors import AppError

log = logging.getLogger("esign.errors")

_SANIC_CODES = {
    400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED", 408: "REQUEST_TIMEOUT", 413: "BODY_TOO_LARGE",
    416: "RANGE_NOT_SATISFIABLE", 503: "SERVICE_UNAVAILABLE",
}


def error_response(request: Request | None, status: int, body: dict) -> HTTPResponse:
    request_id = getattr(getattr(request, "ctx", None), "request_id", "") if request else ""
    return json({**body, "request_id": request_id}, status=status,
                headers={"X-Request-ID": request_id} if request_id else None)


def handle_error(request: Request, exc: Exception) -> HTTPResponse:
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
