"""The running configuration for the system administrator: every documented setting with its
value, secrets masked (keys, secrets, tokens, passwords, and credentials inside URLs)."""
from __future__ import annotations

import re
from typing import Any

from backend.settings import SETTINGS_DOC, Settings

SECRET_WORDS = ("SECRET", "KEY", "TOKEN", "PASSWORD")
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@]+@")


def _value(name: str, value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.hex()
    if isinstance(value, tuple):  # DATA_KEYS: ids only
        return [key_id for key_id, _ in value]
    if any(word in name for word in SECRET_WORDS) and not name.endswith("_KEYS"):
        return "***" if value else ""
    if isinstance(value, str) and "://" in value:
        return _URL_CREDENTIALS.sub("***@", value)
    return value


def describe(settings: Settings) -> list[dict[str, Any]]:
    rows = []
    for doc in SETTINGS_DOC:
        value = getattr(settings, doc.name.lower(), None)
        rows.append({"name": doc.name, "value": _value(doc.name, value),
                     "default": _value(doc.name, doc.default), "help": doc.help})
    return rows
