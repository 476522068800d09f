"""Metering [计量]: one ``UsageEvent`` per billable event, exactly once, and monthly quotas.

``meter`` is called inside the transaction of the billable state change (the same place the
operation-log entry is written): it inserts the event with ``ON CONFLICT DO NOTHING`` on its
idempotency key, so a retried job or a repeated request is metered once and a rolled-back change
is not metered at all. The same transaction adds the quantity to the month's ``usage_counter``.

Billable points (one line each):

* ``envelope.created`` (``services/envelopes/create.py``): key ``envelope:<id>``, the envelope's
  unit and business line.
* ``seal.applied`` (``services/seals/seal_document.py``): ``signature.sm2`` / ``signature.rsa``,
  one event per algorithm, key ``sig:<use id>:<alg>``, unit = the use's unit, line = its flow.
* a person's signature in an envelope (``services/envelopes/person_sign.py``): ``signature.sm2``,
  key ``sig:signer:<signer id>:sm2``, the envelope's unit and line.
* identity checks answered by a provider (``services/identity_checks.record_check``, not from the
  cache, outcome not ``error``): ``identity.<kind>``, key ``idcheck:<check id>``, the unit and
  line stored on the check.
* SMS accepted by the provider (``jobs/deliver_message._record``): ``sms.sent``, key
  ``sms:<message id>``, the unit and line stored on the message.
* an RFC 3161 token obtained for a tenant's document: the evidence report
  (``services/evidence.report_pdf``, time-stamped by the platform TSA): ``timestamp``, key
  ``tsa:<token serial>``, the document's unit.

Unit and business line: given by the caller, else taken from ``billing_scope`` (a context the
caller opens around a flow: ``with billing_scope(envelope.unit_ref, envelope.business_line)``).

Hard quotas [额度]. A kind whose plan item has no overdraft is limited to its ``quota`` (else its
package's included quantity). ``check_quota`` admits a billable call: under a ``SELECT ... FOR
UPDATE`` of the tenant-month-kind ``usage_counter`` row it compares used + held + wanted with the
limit and, when it fits, inserts a ``quota_hold`` for the call (its own short transaction), or
raises ``QuotaExceeded`` (402). The hold is consumed by the call's ``meter`` (same task, or the
event key given to ``hold_for``), in the metering transaction, and released when the call ends
without metering (the request scope; holds outside a request expire after ``HOLD_SECONDS``).
So concurrent calls at the last units pass exactly up to the limit. Events metered without a
prior ``check_quota`` (SMS the platform sends itself: signing links, reminders, intent codes)
are never refused after the fact: they count, and later calls see them. Gated calls: seal
apply, envelope issue, identity checks (API and the envelope identity step), a person's
signature in an envelope, ``POST /api/v1/messages`` (SMS), the evidence report
(``timestamp``).
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import uuid
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from backend.errors import AppError
from backend.models.billing import PricePlan, UsageCounter

BEIJING = ZoneInfo("Asia/Shanghai")
KINDS = ("envelope.created", "signature.sm2", "signature.rsa", "identity.two_factor",
         "identity.three_factor", "identity.face", "identity.enterprise", "identity.legal_rep",
         "sms.sent", "timestamp")
#: How long a hold taken outside a request scope counts when its call never meters nor ends.
HOLD_SECONDS = 300


class QuotaExceeded(AppError):
    code, status, message = "QUOTA_EXCEEDED", 402, "the monthly quota of the price plan is used up"


def month_of(moment: dt.datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m")


def current_month() -> str:
    return month_of(dt.datetime.now(dt.timezone.utc))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# -- unit and business line of a flow --------------------------------------------------------
_scope: contextvars.ContextVar[tuple[str, str] | None] = \
    contextvars.ContextVar("billing_scope", default=None)


@contextlib.contextmanager
def billing_scope(unit_ref: str | None, business_line: str | None = "") -> Iterator[None]:
    """Attribute what is metered inside (identity checks, SMS, ...) to this unit and line."""
    token = _scope.set(((unit_ref or "")[:64], (business_line or "")[:64]))
    try:
        yield
    finally:
        _scope.reset(token)


def attribution(unit_ref: str | None = None, business_line: str | None = None) -> tuple[str, str]:
    """The caller's unit and line, else those of the open ``billing_scope``."""
    if unit_ref or business_line:
        return (unit_ref or "")[:64], (business_line or "")[:64]
    return _scope.get() or ("", "")


async def envelope_attribution(tenant_id: Any, envelope_ref: str) -> tuple[str, str]:
    """The unit and business line of the tenant's envelope ``envelope_ref`` (empty when the
    reference is not one of our envelopes, e.g. a business system's own reference)."""
    from backend.models.envelope import Envelope

    try:
        envelope_id = uuid.UUID(str(envelope_ref))
    except ValueError:
        return "", ""
    row = await Envelope.filter(id=envelope_id, tenant_id=tenant_id) \
        .values_list("unit_ref", "business_line")
    return tuple(row[0]) if row else ("", "")  # type: ignore[return-value]


# -- SQL helpers (PostgreSQL and SQLite) -----------------------------------------------------
class _Sql:
    def __init__(self, conn) -> None:
        self.conn, self.pg = conn, conn.capabilities.dialect == "postgres"

    def params(self, n: int) -> list[str]:
        return [f"${i + 1}" for i in range(n)] if self.pg else ["?"] * n

    def uuid(self, value: Any) -> Any:
        return uuid.UUID(str(value)) if self.pg else str(value)

    def when(self, value: dt.datetime) -> Any:
        return value if self.pg else value.isoformat(" ")

    async def rows(self, sql: str, values: list[Any]) -> list[Any]:
        return list(await self.conn.execute_query_dict(sql, values))


async def _ensure_counter(q: _Sql, tenant_id: Any, month: str, kind: str) -> None:
    p = q.params(3)
    await q.rows(f"INSERT INTO usage_counter (tenant_id, month, kind, used) "
                 f"VALUES ({p[0]}, {p[1]}, {p[2]}, 0) "
                 f"ON CONFLICT (tenant_id, month, kind) DO NOTHING",
                 [q.uuid(tenant_id), month, kind])


# -- metering --------------------------------------------------------------------------------
async def meter(kind: str, *, tenant_id: Any, key: str, unit_ref: str = "",
                business_line: str = "", provider: str = "", quantity: int = 1) -> bool:
    """Record one billable event in the current transaction (or its own); a repeated key is
    ignored (returns False). Consumes the call's quota hold, bumps the month's counter."""
    return bool(await meter_many(kind, tenant_id=tenant_id, keys=[key], unit_ref=unit_ref,
                                 business_line=business_line, provider=provider,
                                 quantity=quantity))


async def meter_many(kind: str, *, tenant_id: Any, keys: list[str], unit_ref: str = "",
                     business_line: str = "", provider: str = "", quantity: int = 1) -> int:
    """``meter`` for several events of one kind (a batch of policies): one multi-row insert,
    one counter update. Returns how many keys were new."""
    unit_ref, business_line = attribution(unit_ref, business_line)
    now = _now()
    month = month_of(now)
    keys = list(dict.fromkeys(k[:128] for k in keys))
    async with in_transaction("default") as conn:
        q = _Sql(conn)
        values, params = [], []
        marks = q.params(9 * len(keys))
        for i, key in enumerate(keys):
            values.append(f"({', '.join(marks[9 * i:9 * i + 9])})")
            params += [q.uuid(tenant_id), kind, key, unit_ref, business_line,
                       (provider or "")[:32], quantity, month, q.when(now)]
        inserted = await q.rows(
            "INSERT INTO usage_event (tenant_id, kind, key, unit_ref, business_line, provider, "
            f"quantity, month, occurred_at) VALUES {', '.join(values)} "
            "ON CONFLICT (key) DO NOTHING RETURNING id", params)
        if not inserted:
            return 0
        p = q.params(4)
        await q.rows(f"INSERT INTO usage_counter (tenant_id, month, kind, used) "
                     f"VALUES ({p[0]}, {p[1]}, {p[2]}, {p[3]}) "
                     f"ON CONFLICT (tenant_id, month, kind) DO UPDATE SET "
                     f"used = usage_counter.used + excluded.used",
                     [q.uuid(tenant_id), month, kind, quantity * len(inserted)])
        hold = _pending_hold(str(tenant_id), kind)
        if hold is not None:
            hold.consumed = True
            await q.rows(f"DELETE FROM quota_hold WHERE id = {q.params(1)[0]}", [hold.id])
        else:
            await q.rows(f"DELETE FROM quota_hold WHERE ref IN "
                         f"({', '.join(q.params(len(keys)))})", keys)
    return len(inserted)


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
    row = await UsageCounter.get_or_none(tenant_id=str(tenant_id), kind=kind, month=month)
    return int(row.used) if row else 0


# -- hard quotas: holds ----------------------------------------------------------------------
@dataclasses.dataclass
class Hold:
    id: int
    tenant_id: str
    kind: str
    quantity: int
    consumed: bool = False


_holds: contextvars.ContextVar[list[Hold] | None] = \
    contextvars.ContextVar("quota_holds", default=None)


def open_holds() -> list[Hold]:
    """Start a scope (a request): holds taken inside are released by ``release_holds``."""
    holds: list[Hold] = []
    _holds.set(holds)
    return holds


async def release_holds(holds: list[Hold] | None) -> None:
    """Give back the holds of a scope that its calls did not meter (a failed call). Holds handed
    to an event key (``hold_for``) are kept; consumed ones are already gone (no-op)."""
    if not holds:
        return
    ids = [h.id for h in holds]
    holds.clear()
    async with in_transaction("default") as conn:
        q = _Sql(conn)
        await q.rows(f"DELETE FROM quota_hold WHERE ref IS NULL AND id IN "
                     f"({', '.join(q.params(len(ids)))})", ids)


@contextlib.asynccontextmanager
async def holds_scope():
    """``async with holds_scope():`` around a job or command that calls ``check_quota``."""
    token = _holds.set([])
    try:
        yield
    finally:
        holds = _holds.get()
        _holds.reset(token)
        await release_holds(holds)


def _pending_hold(tenant_id: str, kind: str) -> Hold | None:
    for hold in _holds.get() or ():
        if not hold.consumed and hold.tenant_id == tenant_id and hold.kind == kind:
            return hold
    return None


async def check_quota(tenant, *kinds: str, quantity: int = 1) -> None:
    """Admit a billable call: raise ``QuotaExceeded`` (402) when a hard-limited kind would pass
    its monthly limit, else hold the units until the call meters (or ends)."""
    if not kinds:
        return
    plan = await PricePlan.get_or_none(tenant_id=str(tenant.id))
    if plan is None:
        return
    limited = sorted({(kind, limit) for kind in kinds
                      if (item := plan.items.get(kind)) and (limit := limit_of(item)) is not None})
    if not limited:
        return
    month, now, taken = current_month(), _now(), []
    expires = now + dt.timedelta(seconds=HOLD_SECONDS)
    async with in_transaction("default") as conn:
        q = _Sql(conn)
        for kind, limit in limited:  # a fixed (sorted) order: no lock-order deadlock
            await _ensure_counter(q, tenant.id, month, kind)
            p = q.params(4)
            lock = " FOR UPDATE" if q.pg else ""
            (row,) = await q.rows(f"SELECT used FROM usage_counter WHERE tenant_id = {p[0]} "
                                  f"AND month = {p[1]} AND kind = {p[2]}{lock}",
                                  [q.uuid(tenant.id), month, kind])
            await q.rows(f"DELETE FROM quota_hold WHERE tenant_id = {p[0]} AND month = {p[1]} "
                         f"AND kind = {p[2]} AND expires_at <= {p[3]}",
                         [q.uuid(tenant.id), month, kind, q.when(now)])
            (held,) = await q.rows(
                f"SELECT COALESCE(SUM(quantity), 0) AS held FROM quota_hold "
                f"WHERE tenant_id = {p[0]} AND month = {p[1]} AND kind = {p[2]}",
                [q.uuid(tenant.id), month, kind])
            so_far = int(row["used"]) + int(held["held"])
            if so_far + quantity > limit:
                raise QuotaExceeded(details={"kind": kind, "month": month, "limit": limit,
                                             "used": so_far})
            p = q.params(6)
            (made,) = await q.rows(
                "INSERT INTO quota_hold (tenant_id, month, kind, quantity, expires_at, "
                f"created_at) VALUES ({', '.join(p)}) RETURNING id",
                [q.uuid(tenant.id), month, kind, quantity, q.when(expires), q.when(now)])
            taken.append(Hold(int(made["id"]), str(tenant.id), kind, quantity))
    holds = _holds.get()
    if holds is None:
        holds = []
        _holds.set(holds)
    if len(holds) > 200:  # a long job: forget the consumed ones (a rolled-back one expires)
        holds[:] = [h for h in holds if not h.consumed]
    holds.extend(taken)


async def hold_for(tenant_id: Any, kind: str, key: str) -> None:
    """Hand the call's pending hold of ``kind`` to the event key it will be metered under
    (e.g. ``sms:<message id>``, metered later by a job), in the caller's transaction: it then
    lasts until that event is metered or ``release_for(key)``."""
    hold = _pending_hold(str(tenant_id), kind)
    if hold is None:
        return
    hold.consumed = True
    async with in_transaction("default") as conn:
        q = _Sql(conn)
        p = q.params(2)
        await q.rows(f"UPDATE quota_hold SET ref = {p[0]}, expires_at = NULL WHERE id = {p[1]}",
                     [key[:128], hold.id])


async def release_for(key: str) -> None:
    """The call holding units for ``key`` ended without a billable event (e.g. an SMS failed)."""
    async with in_transaction("default") as conn:
        q = _Sql(conn)
        await q.rows(f"DELETE FROM quota_hold WHERE ref = {q.params(1)[0]}", [key[:128]])


def message_kinds(channel: str) -> tuple[str, ...]:
    return ("sms.sent",) if channel == "sms" else ()


async def meter_signatures(tenant_id: Any, use_ids: list[int], algorithms, use) -> None:
    """Seals applied (one use each): one event per use and signature algorithm, attributed to
    the unit and flow of the use request."""
    for alg in algorithms:
        await meter_many(f"signature.{alg}", tenant_id=tenant_id,
                         keys=[f"sig:{use_id}:{alg}" for use_id in use_ids],
                         unit_ref=use.unit_ref, business_line=use.flow)


async def meter_check(check) -> None:
    """An identity check answered by a provider (not from the cache, not an error)."""
    if not check.from_cache and check.outcome != "error":
        await meter(f"identity.{check.kind}", tenant_id=check.tenant_id,
                    key=f"idcheck:{check.id}", provider=check.provider,
                    unit_ref=check.unit_ref, business_line=check.business_line)


async def meter_message(message) -> None:
    """A message accepted by the provider: SMS are billable. A failed SMS gives its hold back."""
    if message.channel != "sms":
        return
    if message.status == "sent":
        await meter("sms.sent", tenant_id=message.tenant_id, key=f"sms:{message.id}",
                    provider="aliyun_sms", unit_ref=message.unit_ref,
                    business_line=message.business_line)
    elif message.status == "failed":
        await release_for(f"sms:{message.id}")
