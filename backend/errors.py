"""Application errors: a stable machine-readable code, a message, and an HTTP status.

Services raise these; one handler in ``backend.api.errors`` renders every error as
``{"code", "message", "request_id"}`` (plus ``details`` where useful). Services never raise HTTP
framework exceptions.
"""
from __future__ import annotations

from typing import Any


class AppError(Exception):
    code = "INTERNAL_ERROR"
    status = 500
    message = "internal error"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 details: Any = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequest(AppError):
    code, status, message = "BAD_REQUEST", 400, "bad request"


class InvalidJson(BadRequest):
    code, message = "INVALID_JSON", "request body is not valid JSON"


class ValidationFailed(AppError):
    code, status, message = "VALIDATION_FAILED", 422, "request body failed validation"


class Unauthorized(AppError):
    code, status, message = "UNAUTHORIZED", 401, "authentication required"


class Forbidden(AppError):
    code, status, message = "FORBIDDEN", 403, "not allowed"


class NotFound(AppError):
    code, status, message = "NOT_FOUND", 404, "not found"


class Conflict(AppError):
    code, status, message = "CONFLICT", 409, "conflict"


class TooManyRequests(AppError):
    code, status, message = "RATE_LIMITED", 429, "too many requests"


class ServiceUnavailable(AppError):
    code, status, message = "SERVICE_UNAVAILABLE", 503, "a dependency is unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    code, message = "DATABASE_UNAVAILABLE", "the database is unavailable, retry shortly"


class CacheUnavailable(ServiceUnavailable):
    code, message = "CACHE_UNAVAILABLE", "the cache (Redis) is unavailable, retry shortly"
