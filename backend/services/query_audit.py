"""Query and export the operation log [日志审计] by who, what, when, target and unit.

Reads go to the replica (``backend.db.replica()``): the log is append-only, a little lag is fine.
Filters: ``actor`` (exact, e.g. ``user:<id>`` or ``app:<app key>``), ``action`` (a prefix:
``seal.`` matches ``seal.use``; without a dot, ``seal`` matches ``seal`` and ``seal.*``),
``target`` (exact), ``result``, ``since`` / ``until`` (ISO 8601, until exclusive) and ``unit``
(entries whose actor is a user of that unit or of a unit below it, or whose target is one of those
units or one of their seals). Results are newest first and paged by ``limit`` / ``offset``. Exports (CSV or JSON lines)
carry ``seq``, ``prev_hash`` and ``hash`` so that the chain can be re-verified outside.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from typing import Any

from tortoise.expressions import Q

from backend.db import replica
from backend.errors import ValidationFailed
from backend.models.audit import AuditEntry
from backend.models.org import Unit, User
from backend.models.seal import Seal

EXPORT_MAX_ROWS = 100_000
EXPORT_COLUMNS = ("seq", "created_at", "tenant_id", "actor", "action", "target", "result", "ip",
                  "user_agent", "request_id", "details", "prev_hash", "hash")


@dataclasses.dataclass(frozen=True)
class AuditQuery:
    tenant_id: str
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    result: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    unit_id: str | None = None

    def describe(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                for k, v in dataclasses.asdict(self).items() if v is not None and k != "tenant_id"}


def parse_time(name: str, raw: str | None) -> dt.datetime | None:
    if raw is None or raw == "":
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(f"query parameter {name} must be an ISO 8601 time",
                               code="QUERY_INVALID") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))


def build_query(tenant_id: str, args: Any) -> AuditQuery:
    def text(name: str, limit: int = 200) -> str | None:
        value = args.get(name)
        if value is None or value == "":
            return None
        if len(value) > limit:
            raise ValidationFailed(f"query parameter {name} is too long", code="QUERY_INVALID")
        return value

    return AuditQuery(tenant_id=tenant_id, actor=text("actor"), action=text("action", 100),
                      target=text("target"), result=text("result", 32),
                      since=parse_time("since", args.get("since")),
                      until=parse_time("until", args.get("until")), unit_id=text("unit", 64))


async def unit_subtree(tenant_id: str, unit_id: str) -> list[str]:
    """The unit and every unit below it (ids as strings); empty when the unit is unknown."""
    units = await Unit.filter(tenant_id=tenant_id).using_db(replica()).values_list("id",
                                                                                   "parent_id")
    children: dict[str, list[str]] = {}
    known = set()
    for uid, parent in units:
        known.add(str(uid))
        if parent:
            children.setdefault(str(parent), []).append(str(uid))
    if unit_id not in known:
        return []
    found, stack = [], [unit_id]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.append(current)
        stack.extend(children.get(current, []))
    return found


async def _queryset(q: AuditQuery):
    qs = AuditEntry.filter(tenant_id=q.tenant_id).using_db(replica())
    if q.actor:
        qs = qs.filter(actor=q.actor)
    if q.action:
        prefix = q.action
        qs = qs.filter(action__startswith=prefix) if prefix.endswith(".") else \
            qs.filter(Q(action=prefix) | Q(action__startswith=prefix + "."))
    if q.target:
        qs = qs.filter(target=q.target)
    if q.result:
        qs = qs.filter(result=q.result)
    if q.since:
        qs = qs.filter(created_at__gte=q.since)
    if q.until:
        qs = qs.filter(created_at__lt=q.until)
    if q.unit_id:
        units = await unit_subtree(q.tenant_id, q.unit_id)
        if not units:
            return None
        # actors: the units' users by every id they are logged under (ours, business, DingTalk)
        users = await User.filter(tenant_id=q.tenant_id, unit_id__in=units).using_db(
            replica()).values_list("id", "push_id", "dingtalk_id")
        actors = sorted({f"user:{ref}" for row in users for ref in row if ref})
        unit_rows = await Unit.filter(id__in=units).using_db(replica()).values_list(
            "id", "push_id", "dingtalk_id")
        refs = sorted({str(ref) for row in unit_rows for ref in row if ref})
        seals = await Seal.filter(tenant_id=q.tenant_id, unit_ref__in=refs).using_db(
            replica()).values_list("id", flat=True)
        targets = [f"unit:{u}" for u in units] + [f"seal:{s}" for s in seals]
        condition = Q(target__in=targets)
        if actors:
            condition |= Q(actor__in=actors)
        qs = qs.filter(condition)
    return qs


def _cell(value: Any) -> Any:
    """CSV is opened in spreadsheets: a text starting like a formula is prefixed with ' (the
    JSON-lines export keeps every value exact, for re-verifying the chain)."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def present(row: AuditEntry) -> dict[str, Any]:
    return {"seq": row.seq, "created_at": row.created_at.isoformat(),
            "tenant_id": str(row.tenant_id) if row.tenant_id else None, "actor": row.actor,
            "action": row.action, "target": row.target, "result": row.result, "ip": row.ip,
            "user_agent": row.user_agent, "request_id": row.request_id, "details": row.details,
            "prev_hash": row.prev_hash, "hash": row.hash}


async def search(q: AuditQuery, limit: int, offset: int) -> dict[str, Any]:
    qs = await _queryset(q)
    if qs is None:
        return {"items": [], "total": 0, "limit": limit, "offset": offset}
    total = await qs.count()
    rows = await qs.order_by("-seq").offset(offset).limit(limit)
    return {"items": [present(r) for r in rows], "total": total, "limit": limit,
            "offset": offset}


async def export(q: AuditQuery, fmt: str) -> tuple[str, int]:
    """The matching entries, oldest first, as CSV or JSON lines; and their number."""
    if fmt not in ("csv", "jsonl"):
        raise ValidationFailed("format must be csv or jsonl", code="QUERY_INVALID")
    qs = await _queryset(q)
    rows: list[dict[str, Any]] = []
    last_seq = 0
    while qs is not None and len(rows) < EXPORT_MAX_ROWS:
        batch = await qs.filter(seq__gt=last_seq).order_by("seq").limit(
            min(2000, EXPORT_MAX_ROWS - len(rows)))
        if not batch:
            break
        rows.extend(present(r) for r in batch)
        last_seq = batch[-1].seq
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
                       for r in rows), len(rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        writer.writerow([_cell(json.dumps(r[c], ensure_ascii=False, sort_keys=True)
                               if c == "details" else r[c]) for c in EXPORT_COLUMNS])
    return out.getvalue(), len(rows)
