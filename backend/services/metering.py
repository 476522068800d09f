"""Metering [计量]: one ``UsageEvent`` per billable event, exactly once, and monthly quotas.

``meter`` is called inside the transaction of the billable state change (the same place the
operation-log entry is written): it inserts the event with ``ON CONFLICT DO NOTHING`` on its
idempotency key, so a retried job or a repeated request is metered once and a rolled-back change
is not metered at all.

Billable points (one line each):

* ``seal.applied`` (``services/seals/seal_document.py``): ``signature.sm2`` / ``signature.rsa``,
  one event per algorithm, key ``sig:<use id>:<alg>``, unit = the use's unit, line = its flow.
* identity checks answered by a provider (``services/identity_checks.record_check``, not from the
  cache, outcome not ``error``): ``identity.<kind>``, key ``idcheck:<check id>``.
* SMS accepted by the provider (``jobs/deliver_message._record``): ``sms.sent``, key
  ``sms:<message id>``.
* ``envelope.created`` and ``timestamp`` have no producer yet: call
  ``meter("envelope.created", tenant_id=..., key=f"envelope:{id}", ...)`` where an envelope is
  created, and ``meter("timestamp", key=f"tsa:<serial>")`` where an RFC 3161 token is obtained,
  inside that transaction.

Quotas are soft against races (two concurrent calls may both pass at the last unit): the check
runs before the action, the event is written after it.
"""
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.functions import Sum

from backend.errors import AppError
from backend.models.billing import PricePlan, UsageEvent

BEIJING = ZoneInfo("Asia/Shanghai")
KINDS = ("envelope.created", "signature.sm2", "signature.rsa", "identity.two_factor",
         "identity.three_factor", "identity.face", "identity.enterprise", "identity.legal_rep",
         "sms.sent", "timestamp")


class QuotaExceeded(AppError):
    code, status, message = "QUOTA_EXCEEDED", 402, "the monthly quota of the price plan is used up"


def month_of(moment: dt.datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m")


def current_month() -> str:
    return month_of(dt.datetime.now(dt.timezone.utc))


async def meter(kind: str, *, tenant_id: Any, key: str, unit_ref: str = "",
                business_line: str = "", provider: str = "", quantity: int = 1) -> None:
    """Record one billable event in the current transaction; a repeated key is ignored."""
    now = dt.datetime.now(dt.timezone.utc)
    await UsageEvent.bulk_create([UsageEvent(
        tenant_id=str(tenant_id), kind=kind, key=key[:128], unit_ref=(unit_ref or "")[:64],
        business_line=(business_line or "")[:64], provider=(provider or "")[:32],
        quantity=quantity, month=month_of(now), occurred_at=now)], ignore_conflicts=True)


def signature_kinds(algorithm: str) -> tuple[str, ...]:
    return ("signature.sm2", "signature.rsa") if algorithm == "dual" else (f"signature.{algorithm}",)


def limit_of(item: dict[str, Any]) -> int | None:
    """The monthly limit an item enforces: none when overdraft is allowed, else its ``quota``,
    else its package's included quantity (else none)."""
    if item.get("overdraft", False):
        return None
    if item.get("quota") is not None:
        return int(item["quota"])
    package = item.get("package")
    return int(package["included"]) if package else None


async def used(tenant_id: Any, kind: str, month: str) -> int:
    row = await UsageEvent.filter(tenant_id=str(tenant_id), kind=kind, month=month) \
        .annotate(total=Sum("quantity")).first().values("total")
    return int((row or {}).get("total") or 0)


async def check_quota(tenant, *kinds: str, quantity: int = 1) -> None:
    """Raise ``QuotaExceeded`` (402) when a kind's monthly limit would be passed."""
    if not kinds:
        return
    plan = await PricePlan.get_or_none(tenant_id=str(tenant.id))
    if plan is None:
        return
    month = current_month()
    for kind in kinds:
        item = plan.items.get(kind)
        limit = limit_of(item) if item else None
        if limit is None:
            continue
        so_far = await used(tenant.id, kind, month)
        if so_far + quantity > limit:
            raise QuotaExceeded(details={"kind": kind, "month": month, "limit": limit,
                                         "used": so_far})


def message_kinds(channel: str) -> tuple[str, ...]:
    return ("sms.sent",) if channel == "sms" else ()


async def meter_signatures(tenant_id: Any, use_id: int, algorithms, use) -> None:
    """A seal applied: one event per signature algorithm (unit and flow of the seal use)."""
    for alg in algorithms:
        await meter(f"signature.{alg}", tenant_id=tenant_id, key=f"sig:{use_id}:{alg}",
                    unit_ref=use.unit_ref, business_line=use.flow)


async def meter_check(check) -> None:
    """An identity check answered by a provider (not from the cache, not an error)."""
    if not check.from_cache and check.outcome != "error":
        await meter(f"identity.{check.kind}", tenant_id=check.tenant_id,
                    key=f"idcheck:{check.id}", provider=check.provider)


async def meter_message(message) -> None:
    """A message accepted by the provider: SMS are billable."""
    if message.status == "sent" and message.channel == "sms":
        await meter("sms.sent", tenant_id=message.tenant_id, key=f"sms:{message.id}",
                    provider="aliyun_sms")
