"""Idempotency-Key handling for POSTs that create something.

The record and the created resource are written in ONE transaction, and (tenant, key) is unique.
A concurrent retry therefore blocks on the unique index until the first request commits, then
fails to insert and replays the stored answer: the resource is created once even under
concurrent retries. A failed request (an error) rolls back its record, so a retry runs again.

``prepare`` (optional) runs first, outside the transaction and only when there is no stored
answer to replay: long work that writes nothing lasting (bulk issuance makes and stores its
content-addressed files there) then holds no pooled connection idle in a transaction. Two
concurrent first attempts may both prepare; only one commits.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from backend.errors import BadRequest, ValidationFailed
from backend.models.idempotency import IdempotencyRecord
from backend.models.tenant import Tenant

MAX_KEY_LENGTH = 128


class IdempotencyKeyInvalid(BadRequest):
    code, message = "IDEMPOTENCY_KEY_INVALID", "Idempotency-Key must be 1 to 128 visible characters"


class IdempotencyKeyReused(ValidationFailed):
    code, message = "IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used for a different request"


@dataclasses.dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    replayed: bool = False


Action = Callable[[], Awaitable[tuple[int, dict[str, Any]]]]


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(f"{method.upper()} {path}\n".encode() + body).hexdigest()


async def run_idempotent(tenant: Tenant, key: str | None, method: str, path: str, body: bytes,
                         action: Action, ttl_seconds: int,
                         prepare: Callable[[], Awaitable[None]] | None = None) -> Outcome:
    if key is None:
        if prepare is not None:
            await prepare()
        async with in_transaction("default"):
            status, result = await action()
        return Outcome(status, result)
    if not (0 < len(key) <= MAX_KEY_LENGTH) or not key.isprintable():
        raise IdempotencyKeyInvalid()
    print_ = fingerprint(method, path, body)
    stored = await _stored_outcome(tenant, key, print_, ttl_seconds)
    if stored:
        return stored
    if prepare is not None:
        await prepare()
    try:
        async with in_transaction("default"):
            record = await IdempotencyRecord.create(tenant=tenant, key=key, fingerprint=print_)
            status, result = await action()
            record.status_code, record.response_body = status, json.dumps(result, ensure_ascii=False)
            await record.save(update_fields=["status_code", "response_body"])
        return Outcome(status, result)
    except IntegrityError:
        stored = await _stored_outcome(tenant, key, print_, ttl_seconds)
        if stored is None:  # pragma: no cover - the winner committed, so its record exists
            raise
        return stored


async def _stored_outcome(tenant: Tenant, key: str, print_: str, ttl: int) -> Outcome | None:
    record = await IdempotencyRecord.get_or_none(tenant=tenant, key=key)
    if record is None:
        return None
    age = dt.datetime.now(dt.timezone.utc) - record.created_at
    if age.total_seconds() > ttl:
        await record.delete()
        return None
    if record.fingerprint != print_:
        raise IdempotencyKeyReused()
    return Outcome(record.status_code, json.loads(record.response_body), replayed=True)
