"""Parsing ids from URLs: a malformed id is reported exactly like a missing row."""
from __future__ import annotations

import uuid

from backend.errors import NotFound


def parse_uuid(value: str, error: type[NotFound]) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise error() from None
