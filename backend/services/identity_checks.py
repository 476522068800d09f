"""Record identity checks as evidence, and reuse a recent positive answer [认证结果缓存].

A check's request is kept only as an SM3 digest of its canonical parameters; the answer (provider,
request id, raw code, scores) is kept whole. A positive answer is cached per person and kind for
``IDENTITY_CACHE_SECONDS`` so that a customer is not asked twice in one flow; reusing it is
recorded too (``from_cache``).
"""
from __future__ import annotations

import json
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.cache import Cache
from backend.models.identity import Enterprise, IdentityCheck, Person
from backend.models.tenant import Tenant
from backend.services import metering
from sign.crypto.sm3 import sm3_digest


def request_digest(*parts: str) -> str:
    return sm3_digest(json.dumps(parts, ensure_ascii=False).encode()).hex()


def cache_key(tenant: Tenant, kind: str, digest: str) -> str:
    return f"idcheck:{tenant.id}:{kind}:{digest}"


async def cached_check(cache: Cache, tenant: Tenant, kind: str, digest: str) -> dict | None:
    raw = await cache.get(cache_key(tenant, kind, digest))
    return json.loads(raw) if raw else None


async def remember_check(cache: Cache, tenant: Tenant, kind: str, digest: str,
                         answer: dict[str, Any], ttl: int) -> None:
    if ttl > 0:
        await cache.set(cache_key(tenant, kind, digest), json.dumps(answer).encode(), ttl)


async def record_check(tenant: Tenant, *, kind: str, provider: str, outcome: str, digest: str,
                       person: Person | None = None, enterprise: Enterprise | None = None,
                       provider_request_id: str = "", raw_code: str = "", message: str = "",
                       scores: dict | None = None, from_cache: bool = False,
                       unit_ref: str | None = None,
                       business_line: str | None = None) -> IdentityCheck:
    """Store the check and its audit entry in one transaction (errors are recorded too).
    ``unit_ref``/``business_line``: whom it is billed to (default: the open
    ``metering.billing_scope``)."""
    unit_ref, business_line = metering.attribution(unit_ref, business_line)
    async with in_transaction("default"):
        check = await IdentityCheck.create(
            tenant=tenant, person=person, enterprise=enterprise, kind=kind, provider=provider,
            outcome=outcome, from_cache=from_cache, provider_request_id=provider_request_id[:128],
            raw_code=raw_code[:64], message=message[:300], request_digest=digest,
            scores=scores or {}, unit_ref=unit_ref, business_line=business_line)
        subject = f"person:{person.id}" if person else f"enterprise:{enterprise.id}" if enterprise else ""
        await audit.record(f"identity.{kind}", subject, result=outcome,
                           details={"check": str(check.id), "provider": provider,
                                    "from_cache": from_cache})
        await metering.meter_check(check)
    return check


def present_check(check: IdentityCheck) -> dict[str, Any]:
    return {"check_id": str(check.id), "kind": check.kind, "outcome": check.outcome,
            "provider": check.provider, "from_cache": check.from_cache,
            "checked_at": check.created_at.isoformat(), "scores": check.scores}
