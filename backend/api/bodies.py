"""Parse request bodies into strict pydantic models: bad JSON, wrong types and unknown fields are 4xx."""
from __future__ import annotations

import base64
import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from backend.errors import AppError, InvalidJson, ValidationFailed

M = TypeVar("M", bound=BaseModel)


class StrictBody(BaseModel):
    """Base of every request body: unknown fields rejected, no silent type coercion."""
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class UnsupportedMediaType(AppError):
    code, status, message = "UNSUPPORTED_MEDIA_TYPE", 415, "send the body as application/json"


def parse_json(content_type: str | None, body: bytes, model: type[M]) -> M:
    if not (content_type or "").lower().startswith("application/json"):
        raise UnsupportedMediaType()
    try:
        data: Any = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidJson() from None
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", code="BODY_NOT_OBJECT")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in err["loc"]), "error": err["type"],
                    "message": err["msg"]} for err in exc.errors()]
        raise ValidationFailed(details=details) from None


def query_int(args: Any, name: str, default: int, lo: int, hi: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not (lo <= int(raw) <= hi):
        raise ValidationFailed(f"query parameter {name} must be an integer from {lo} to {hi}",
                               code="QUERY_INVALID")
    return int(raw)


def decode_base64(value: str, field: str, code: str = "BASE64_INVALID") -> bytes:
    """Strict base64 of a body field; anything else is ``422 code``."""
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise ValidationFailed(f"{field} is not base64", code=code) from None
