"""Statistics centre [统计中心]: counts by period (day | month, Beijing time) and unit.

Sources:

* the operation log, through ``AUDIT_METRICS``: a metric counts the entries of some actions (and
  results). Seal use and signings plug in by action name (``seal.use``, ``envelope.complete``):
  any module that records those actions is counted, nothing else to wire. ``register_metric``
  adds one. Entries are attributed to a unit by ``details["unit_id"]`` when present, else by the
  unit of the acting user (``actor`` ``user:<id>``); asking for a unit counts it and every unit
  below it;
* tables without a unit: outbound messages (by channel and status), identity checks (by kind and
  outcome) and signing links. With a ``unit`` filter these are ``null`` (not attributable).

Everything reads the replica (``backend.db.replica()``) with GROUP BY in the database.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from backend.db import replica
from backend.errors import NotFound, ValidationFailed
from backend.services.query_audit import parse_time, unit_subtree

TZ = dt.timezone(dt.timedelta(hours=8))
PERIODS = ("day", "month")
MAX_DAYS = 366 * 2


class UnitNotFound(NotFound):
    code, message = "UNIT_NOT_FOUND", "this unit does not exist"


@dataclasses.dataclass(frozen=True)
class AuditMetric:
    actions: tuple[str, ...]
    results: tuple[str, ...] | None = None  # None = every result


AUDIT_METRICS: dict[str, AuditMetric] = {
    "seal_uses": AuditMetric(("seal.use",), ("ok", "allowed")),
    "seal_uses_refused": AuditMetric(("seal.use",), ("refused",)),
    "signings": AuditMetric(("envelope.complete",)),
    "files": AuditMetric(("document.upload", "document.generate", "file.upload")),
    "signing_links_opened": AuditMetric(("link.open",)),
    "identity_checks_logged": AuditMetric(("identity.two_factor", "identity.three_factor",
                                           "identity.face", "identity.enterprise",
                                           "identity.legal_rep")),
    "logins": AuditMetric(("session.open",), ("ok",)),
}


def register_metric(name: str, actions: tuple[str, ...],
                    results: tuple[str, ...] | None = None) -> None:
    AUDIT_METRICS[name] = AuditMetric(tuple(actions), tuple(results) if results else None)


@dataclasses.dataclass(frozen=True)
class StatsQuery:
    tenant_id: str
    since: dt.datetime
    until: dt.datetime
    period: str = "day"
    unit_id: str | None = None


def build_query(tenant_id: str, args: Any) -> StatsQuery:
    period = args.get("period") or "day"
    if period not in PERIODS:
        raise ValidationFailed("period must be day or month", code="QUERY_INVALID")
    until = parse_time("until", args.get("until")) or dt.datetime.now(TZ)
    since = parse_time("since", args.get("since")) or (until - dt.timedelta(days=30))
    if since >= until or (until - since).days > MAX_DAYS:
        raise ValidationFailed(f"since must be before until, at most {MAX_DAYS} days apart",
                               code="QUERY_INVALID")
    unit = args.get("unit") or None
    if unit is not None and len(unit) > 64:
        raise ValidationFailed("unit is too long", code="QUERY_INVALID")
    return StatsQuery(tenant_id, since, until, period, unit)


# ---- SQL for both dialects -----------------------------------------------------------------
class _Sql:
    def __init__(self) -> None:
        self.conn = replica()
        self.pg = self.conn.capabilities.dialect == "postgres"
        self.params: list[Any] = []

    def p(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}" if self.pg else "?"

    def many(self, values: list[Any]) -> str:
        return ", ".join(self.p(v) for v in values)

    def period(self, column: str, period: str) -> str:
        if self.pg:
            fmt = "YYYY-MM-DD" if period == "day" else "YYYY-MM"
            return f"to_char({column} AT TIME ZONE 'Asia/Shanghai', '{fmt}')"
        fmt = "%Y-%m-%d" if period == "day" else "%Y-%m"
        return f"strftime('{fmt}', {column}, '+8 hours')"

    def json_text(self, column: str, key: str) -> str:
        return f"({column}->>'{key}')" if self.pg else f"json_extract({column}, '$.{key}')"

    def ts(self, value: dt.datetime) -> Any:
        utc = value.astimezone(dt.timezone.utc)
        return utc if self.pg else utc.isoformat(sep=" ")

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        _, rows = await self.conn.execute_query(sql, self.params)
        return [dict(r) for r in rows]


async def _table_counts(q: StatsQuery, table: str, group_column: str | None,
                        extra_where: str = "") -> list[dict[str, Any]]:
    sql = _Sql()
    period = sql.period("created_at", q.period)
    group = f", {group_column} AS grp" if group_column else ", '' AS grp"
    text = (f"SELECT {period} AS period{group}, COUNT(*) AS n FROM {table} "
            f"WHERE tenant_id = {sql.p(q.tenant_id)} AND created_at >= {sql.p(sql.ts(q.since))} "
            f"AND created_at < {sql.p(sql.ts(q.until))} {extra_where} "
            f"GROUP BY 1, 2 ORDER BY 1, 2")
    return await sql.rows(text)


async def _audit_counts(q: StatsQuery, units: list[str] | None) -> list[dict[str, Any]]:
    actions = sorted({a for m in AUDIT_METRICS.values() for a in m.actions})
    sql = _Sql()
    period = sql.period("created_at", q.period)
    where = (f"tenant_id = {sql.p(q.tenant_id)} AND created_at >= {sql.p(sql.ts(q.since))} "
             f"AND created_at < {sql.p(sql.ts(q.until))} AND action IN ({sql.many(actions)})")
    if units is not None:
        where += " AND " + await _unit_condition(sql, q.tenant_id, units)
    text = (f"SELECT {period} AS period, action, result, COUNT(*) AS n FROM audit_entry "
            f"WHERE {where} GROUP BY 1, 2, 3 ORDER BY 1")
    return await sql.rows(text)


async def _audit_kinds(q: StatsQuery) -> dict[str, int]:
    sql = _Sql()
    kind = "split_part(action, '.', 1)" if sql.pg else \
        "CASE WHEN instr(action, '.') > 0 THEN substr(action, 1, instr(action, '.') - 1) " \
        "ELSE action END"
    text = (f"SELECT {kind} AS kind, COUNT(*) AS n FROM audit_entry "
            f"WHERE tenant_id = {sql.p(q.tenant_id)} AND created_at >= {sql.p(sql.ts(q.since))} "
            f"AND created_at < {sql.p(sql.ts(q.until))} GROUP BY 1 ORDER BY 1")
    return {r["kind"]: int(r["n"]) for r in await sql.rows(text)}


async def _unit_condition(sql: _Sql, tenant_id: str, units: list[str]) -> str:
    """Which entries belong to these units: ``details.unit_id`` when set; else, for an action on
    a seal (target ``seal:<id>``), the unit owning the seal; else the acting user's unit (actor
    ``user:<our id | business id | DingTalk id>``). Sub-selects, not id lists: a big unit has
    more users than a statement has parameters."""
    from backend.models.org import Unit

    rows = await Unit.filter(tenant_id=tenant_id, id__in=units).using_db(replica()) \
        .values_list("id", "push_id", "dingtalk_id")
    refs = sorted({str(r) for row in rows for r in row if r})
    cast = "::text" if sql.pg else ""
    unit_expr = sql.json_text("details", "unit_id")
    # placeholders are taken in text order (SQLite's ? are positional): build left to right
    head = f"({unit_expr} IN ({sql.many(units)}) OR ({unit_expr} IS NULL AND ("
    seals = (f"SELECT 'seal:' || id{cast} FROM seal WHERE tenant_id = {sql.p(tenant_id)} "
             f"AND unit_ref IN ({sql.many(refs)})")
    users = " UNION ".join(
        f"SELECT 'user:' || {column}{cast if column == 'id' else ''} FROM org_user "
        f"WHERE tenant_id = {sql.p(tenant_id)} AND unit_id IN ({sql.many(units)}) "
        f"AND {column} IS NOT NULL"
        for column in ("id", "push_id", "dingtalk_id"))
    return (f"{head}(target LIKE 'seal:%' AND target IN ({seals})) OR "
            f"(target NOT LIKE 'seal:%' AND actor IN ({users})))))")


async def compute(q: StatsQuery) -> dict[str, Any]:
    units = await unit_subtree(q.tenant_id, q.unit_id) if q.unit_id else None
    if q.unit_id and not units:
        raise UnitNotFound()
    series: dict[str, dict[str, Any]] = {}

    def bucket(period: str) -> dict[str, Any]:
        return series.setdefault(period, {"period": period, **{m: 0 for m in AUDIT_METRICS}})

    for row in await _audit_counts(q, units):
        for name, metric in AUDIT_METRICS.items():
            if row["action"] in metric.actions and (metric.results is None
                                                     or row["result"] in metric.results):
                bucket(row["period"])[name] += int(row["n"])
    breakdown: dict[str, Any] = {}
    if units is None:
        for key, table, column in (("messages", "outbound_message", "channel"),
                                   ("identity_checks", "identity_check", "kind"),
                                   ("signing_links", "signing_link", None)):
            by_group: dict[str, int] = {}
            for row in await _table_counts(q, table, column):
                b = bucket(row["period"])
                b[key] = b.get(key, 0) + int(row["n"])
                if column:
                    by_group[row["grp"]] = by_group.get(row["grp"], 0) + int(row["n"])
            if column:
                breakdown[f"{key}_by_{column}"] = by_group
        statuses: dict[str, int] = {}
        for row in await _table_counts(q, "outbound_message", "status"):
            statuses[row["grp"]] = statuses.get(row["grp"], 0) + int(row["n"])
        breakdown["messages_by_status"] = statuses
        outcomes: dict[str, int] = {}
        for row in await _table_counts(q, "identity_check", "outcome"):
            outcomes[row["grp"]] = outcomes.get(row["grp"], 0) + int(row["n"])
        breakdown["identity_checks_by_outcome"] = outcomes
        breakdown["audit_actions_by_kind"] = await _audit_kinds(q)
    table_metrics = ("messages", "identity_checks", "signing_links")
    rows = []
    for period in sorted(series):
        row = series[period]
        for key in table_metrics:
            row[key] = row.get(key, 0) if units is None else None
        rows.append(row)
    totals = {name: sum(r[name] for r in rows) for name in AUDIT_METRICS}
    for key in table_metrics:
        totals[key] = sum(r[key] for r in rows) if units is None else None
    return {"period": q.period, "timezone": "Asia/Shanghai", "since": q.since.isoformat(),
            "until": q.until.isoformat(), "unit_id": q.unit_id,
            "units_included": units, "series": rows, "totals": totals, **breakdown}
