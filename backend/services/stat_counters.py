"""Keeping the statistics counters [统计中心] current: ``bump_many(conn, entries)`` is called by
``backend.audit.record`` for every operation-log entry, in the same transaction, so a counter
changes exactly when the audited state change commits (and never counts a rolled-back one).

What an entry counts for (``StatCounter`` holds the roll-ups, see ``backend/models/stats.py``):

* ``metric`` = the action (``seal.use``, ``document.generate``, ``envelope.complete``, ...), so a
  new kind of event (envelopes) is counted as soon as something records it, nothing to wire;
  ``result`` = the entry's result (``ok``, ``allowed``, ``refused``, an identity outcome ...);
* ``variant`` = ``details["channel"]`` (messages), else empty;
* the unit: ``details["unit_id"]``; else, for an action on a seal (target ``seal:<id>``), the
  seal's unit; else, for a document (``document:<id>``), the document's unit; else the acting
  user's unit (actor ``user:<our id | business id | DingTalk id>``); else unknown (``""``).
  Stored as given (a unit id or a business unit id): queries match every id of a unit;
* the seal: the ``seal:<id>`` target; the template: ``details["template"]``, else the document's
  template code;
* durations ("average time to complete"): an entry whose ``details["duration_seconds"]`` is a
  number adds it to ``duration_sum`` and 1 to ``duration_count``. Envelopes should record
  ``envelope.complete`` with ``duration_seconds`` = completed - created; the statistics then
  show the average per period without further code.

Every roll-up is kept per day and per calendar month (``span`` d / m).

Cost: at most one indexed look-up (seal, document or user) per entry and one multi-row upsert
(``INSERT ... ON CONFLICT ... DO UPDATE SET count = count + n``, PostgreSQL and SQLite ≥ 3.24)
per appended batch (``bump_many``: rows of the same counter are summed first). The hot
tenant-total row adds no contention: ``record`` already serialises appends with the chain lock,
held to commit.

``rebuild`` recomputes the counters from the operation log (first deployment over an existing
log, or repair): ``python -m backend.services.stat_counters rebuild [--tenant ID]``.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import uuid
from collections.abc import Iterable
from typing import Any

from backend.models.stats import ALL

TZ = dt.timezone(dt.timedelta(hours=8))
_COLUMNS = ("tenant_id", "grain", "span", "day", "metric", "result", "variant", "unit_ref", "seal_ref",
            "template_ref", "count", "duration_count", "duration_sum")
_KEY = ("tenant_id", "grain", "span", "day", "metric", "result", "variant", "unit_ref", "seal_ref",
        "template_ref")
Row = tuple  # (tenant, grain, span, day, metric, result, variant, unit, seal, template)


def _clean(value: Any, size: int = 64) -> str:
    text = str(value or "")[:size]
    return "" if text == ALL else text


def beijing_day(when: dt.datetime) -> dt.date:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(TZ).date()


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except (ValueError, AttributeError):
        return None


class _Lookups:
    """The few look-ups an entry may need, against the caller's connection (and cached for a
    rebuild)."""

    def __init__(self, conn, cache: bool = False) -> None:
        self.conn = conn
        self.pg = conn.capabilities.dialect == "postgres"
        self.cache: dict[tuple, Any] | None = {} if cache else None

    def _p(self, n: int) -> str:
        return f"${n}" if self.pg else "?"

    def _arg(self, value: uuid.UUID) -> Any:
        return value if self.pg else str(value)

    async def _one(self, key: tuple, sql: str, params: list[Any]) -> dict[str, Any] | None:
        if self.cache is not None and key in self.cache:
            return self.cache[key]
        _, rows = await self.conn.execute_query(sql, params)
        found = dict(rows[0]) if rows else None
        if self.cache is not None:
            self.cache[key] = found
        return found

    async def seal_unit(self, seal_id: str) -> str:
        sid = _uuid(seal_id)
        if sid is None:
            return ""
        row = await self._one(("seal", sid), f"SELECT unit_ref FROM seal WHERE id = {self._p(1)}",
                              [self._arg(sid)])
        return row["unit_ref"] if row else ""

    async def document(self, doc_id: str) -> dict[str, Any]:
        did = _uuid(doc_id)
        if did is None:
            return {}
        row = await self._one(("doc", did), "SELECT unit_ref, template_code FROM document "
                              f"WHERE id = {self._p(1)}", [self._arg(did)])
        return row or {}

    async def user_unit(self, tenant_id: str, ref: str) -> str:
        if not ref:
            return ""
        uid = _uuid(ref)
        tid = self._arg(uuid.UUID(str(tenant_id)))
        if uid is not None:
            sql = (f"SELECT unit_id FROM org_user WHERE tenant_id = {self._p(1)} AND "
                   f"(id = {self._p(2)} OR push_id = {self._p(3)} OR dingtalk_id = {self._p(4)})")
            params = [tid, self._arg(uid), ref, ref]
        else:
            sql = (f"SELECT unit_id FROM org_user WHERE tenant_id = {self._p(1)} AND "
                   f"(push_id = {self._p(2)} OR dingtalk_id = {self._p(3)})")
            params = [tid, ref, ref]
        row = await self._one(("user", str(tenant_id), ref), sql + " LIMIT 1", params)
        return str(row["unit_id"]) if row and row.get("unit_id") else ""


async def rows_for(entry, look: _Lookups) -> list[tuple[Row, int, float]]:
    """The counter rows an entry adds to: (key, duration_count, duration_sum) per roll-up."""
    if not entry.tenant_id:
        return []
    details = entry.details if isinstance(entry.details, dict) else {}
    target = entry.target or ""
    unit = _clean(details.get("unit_id"))
    seal = template = ""
    template = _clean(details.get("template"))
    if target.startswith("seal:"):
        seal = _clean(target[5:])
        if not unit:
            unit = _clean(await look.seal_unit(seal))
    elif target.startswith("document:") and (not unit or not template):
        doc = await look.document(target[9:])
        unit = unit or _clean(doc.get("unit_ref"))
        template = template or _clean(doc.get("template_code"))
    if not unit and (entry.actor or "").startswith("user:"):
        unit = _clean(await look.user_unit(str(entry.tenant_id), entry.actor[5:]))
    duration = details.get("duration_seconds")
    timed = isinstance(duration, (int, float)) and not isinstance(duration, bool) \
        and duration >= 0
    dcount, dsum = (1, float(duration)) if timed else (0, 0.0)
    day = beijing_day(entry.created_at)
    rest = (_clean(entry.action, 100), _clean(entry.result, 32) or "ok",
            _clean(details.get("channel"), 32))
    dims = [("all", ALL, ALL, ALL), ("unit", unit, ALL, ALL)]
    if seal:
        dims.append(("seal", unit, seal, ALL))
    if template:
        dims += [("template", ALL, ALL, template), ("unit_template", unit, ALL, template)]
    tenant = str(entry.tenant_id)
    return [((tenant, grain, span, when) + rest + (u, s, t), dcount, dsum)
            for span, when in (("d", day), ("m", day.replace(day=1)))
            for grain, u, s, t in dims]


def _upsert_sql(pg: bool, n_rows: int) -> str:
    width = len(_COLUMNS)
    if pg:
        values = ", ".join("(" + ", ".join(f"${i * width + j + 1}" for j in range(width)) + ")"
                           for i in range(n_rows))
    else:
        values = ", ".join("(" + ", ".join("?" for _ in range(width)) + ")" for _ in range(n_rows))
    cols = ", ".join(f'"{c}"' for c in _COLUMNS)
    return (f"INSERT INTO stat_counter ({cols}) VALUES {values} "
            f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET "
            '"count" = stat_counter."count" + excluded."count", '
            "duration_count = stat_counter.duration_count + excluded.duration_count, "
            "duration_sum = stat_counter.duration_sum + excluded.duration_sum")


def _params(pg: bool, key: Row, count: int, dcount: int, dsum: float) -> list[Any]:
    tenant, grain, span, day, metric, result, variant, unit, seal, template = key
    return [uuid.UUID(tenant) if pg else tenant, grain, span, day if pg else day.isoformat(),
            metric, result, variant, unit, seal, template, count, dcount, dsum]


async def _write(conn, counts: Iterable[tuple[Row, int, int, float]]) -> None:
    pg = conn.capabilities.dialect == "postgres"
    batch: list[tuple[Row, int, int, float]] = []
    for item in counts:
        batch.append(item)
        if len(batch) == 500:
            await _flush(conn, pg, batch)
            batch = []
    if batch:
        await _flush(conn, pg, batch)


async def _flush(conn, pg: bool, batch: list[tuple[Row, int, int, float]]) -> None:
    params: list[Any] = []
    for key, count, dcount, dsum in batch:
        params += _params(pg, key, count, dcount, dsum)
    await conn.execute_query(_upsert_sql(pg, len(batch)), params)


async def _add(totals: dict[Row, list], entry, look: _Lookups) -> None:
    for key, dcount, dsum in await rows_for(entry, look):
        acc = totals.setdefault(key, [0, 0, 0.0])
        acc[0] += 1
        acc[1] += dcount
        acc[2] += dsum


async def bump_many(conn, entries) -> None:
    """Count operation-log entries, on ``conn`` (the caller's transaction): one upsert of the
    summed rows (a batch of 100 policies touches the same few counter rows 400 times)."""
    totals: dict[Row, list] = {}
    look = _Lookups(conn, cache=True)
    for entry in entries:
        await _add(totals, entry, look)
    if totals:
        await _write(conn, [(k, v[0], v[1], v[2]) for k, v in totals.items()])


async def rebuild(tenant_id: str | None = None, batch: int = 2000) -> int:
    """Recompute the counters (of one tenant, or all) from the operation log; returns the
    number of entries counted. Runs under the chain lock, so no entry is appended meanwhile."""
    from tortoise.transactions import in_transaction

    from backend.audit import _local_lock, _lock_chain
    from backend.models.audit import AuditEntry
    from backend.models.stats import StatCounter

    async with _local_lock(), in_transaction("default") as conn:
        await _lock_chain(conn)
        wipe = StatCounter.all().using_db(conn)
        await (wipe.filter(tenant_id=tenant_id) if tenant_id else wipe).delete()
        look = _Lookups(conn, cache=True)
        totals: dict[Row, list] = {}
        entries, last_seq = 0, 0
        while True:
            qs = AuditEntry.filter(seq__gt=last_seq).using_db(conn)
            if tenant_id:
                qs = qs.filter(tenant_id=tenant_id)
            page = await qs.order_by("seq").limit(batch)
            if not page:
                break
            for entry in page:
                await _add(totals, entry, look)
                entries += 1
            last_seq = page[-1].seq
        await _write(conn, [(k, v[0], v[1], v[2]) for k, v in totals.items()])
    return entries


async def _main(argv: list[str]) -> int:
    from backend.db import close_db, init_db
    from backend.settings import Settings

    if argv[:1] != ["rebuild"] or len(argv) not in (1, 3) or (len(argv) == 3
                                                               and argv[1] != "--tenant"):
        print("usage: python -m backend.services.stat_counters rebuild [--tenant ID]",
              file=sys.stderr)
        return 2
    await init_db(Settings.from_env())
    try:
        counted = await rebuild(argv[2] if len(argv) == 3 else None)
    finally:
        await close_db()
    print(json.dumps({"entries_counted": counted}))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main(sys.argv[1:])))
