"""Statistics centre [统计中心]: counts by period (day | week | month, Beijing time) and by unit,
seal and template, read from the pre-aggregated ``stat_counter`` table (``backend/models/stats.py``)
that ``backend.audit.record`` keeps current in the same transaction as each audited event
(``backend/services/stat_counters.py``). Nothing here reads the operation log or the business
tables: a year of a large insurer answers from a few thousand counter rows.

Metrics are declared by action name in ``AUDIT_METRICS``: a metric counts the counters of some
actions (and results). Seal use and signings plug in by action name (``seal.use``,
``envelope.complete``): any module that records those actions is counted, nothing else to wire.
``register_metric`` adds one. Entries are attributed to a unit by ``details["unit_id"]``, the
seal's or document's unit, else the unit of the acting user; asking for a unit counts it and
every unit below it. Messages, identity checks and signing links have no unit: with a ``unit``
filter they are ``null`` (not attributable).

Counters are per Beijing day, so ``since``/``until`` are widened to whole Beijing days.
"""
from __future__ import annotations

import asyncio
import csv
import dataclasses
import datetime as dt
import io
from typing import Any

from backend.db import replica
from backend.errors import NotFound, ValidationFailed
from backend.services.query_audit import parse_time

TZ = dt.timezone(dt.timedelta(hours=8))
PERIODS = ("day", "week", "month")
MAX_DAYS = 366 * 2
TOP = 50  # rows of the by-seal and by-template breakdowns (the biggest first)


class UnitNotFound(NotFound):
    code, message = "UNIT_NOT_FOUND", "this unit does not exist"


@dataclasses.dataclass(frozen=True)
class AuditMetric:
    actions: tuple[str, ...]
    results: tuple[str, ...] | None = None  # None = every result

    def matches(self, action: str, result: str) -> bool:
        return action in self.actions and (self.results is None or result in self.results)


AUDIT_METRICS: dict[str, AuditMetric] = {
    "seal_uses": AuditMetric(("seal.use",), ("ok", "allowed")),
    "seal_uses_refused": AuditMetric(("seal.use",), ("refused",)),
    "seals_applied": AuditMetric(("seal.applied",)),
    "signings": AuditMetric(("envelope.complete",)),
    "files": AuditMetric(("document.upload", "document.generate", "file.upload")),
    "signing_links_opened": AuditMetric(("link.open",)),
    "identity_checks_logged": AuditMetric(("identity.two_factor", "identity.three_factor",
                                           "identity.face", "identity.enterprise",
                                           "identity.legal_rep")),
    "logins": AuditMetric(("session.open",), ("ok",)),
}
#: Per-tenant metrics that no unit owns: ``null`` when a unit is asked for.
TENANT_METRICS: dict[str, str] = {"messages": "message.queue", "identity_checks": "identity.",
                                  "signing_links": "link.issue"}
#: "Average time to complete": the actions whose entries carry ``duration_seconds``.
DURATION_METRICS: dict[str, tuple[str, ...]] = {"avg_completion_seconds": ("envelope.complete",)}
#: Breakdowns by action name within a family (envelopes by state, documents by action).
FAMILIES = {"envelopes_by_state": "envelope.", "documents_by_action": "document."}


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

    @property
    def first_day(self) -> dt.date:
        return self.since.astimezone(TZ).date()

    @property
    def end_day(self) -> dt.date:
        """The first Beijing day not included."""
        local = self.until.astimezone(TZ)
        return local.date() if local.timetz().replace(tzinfo=None) == dt.time(0) \
            else local.date() + dt.timedelta(days=1)


def build_query(tenant_id: str, args: Any) -> StatsQuery:
    period = args.get("period") or "day"
    if period not in PERIODS:
        raise ValidationFailed("period must be day, week or month", code="QUERY_INVALID")
    until = parse_time("until", args.get("until")) or dt.datetime.now(TZ)
    since = parse_time("since", args.get("since")) or (until - dt.timedelta(days=30))
    if since >= until or (until - since).days > MAX_DAYS:
        raise ValidationFailed(f"since must be before until, at most {MAX_DAYS} days apart",
                               code="QUERY_INVALID")
    unit = args.get("unit") or None
    if unit is not None and len(unit) > 64:
        raise ValidationFailed("unit is too long", code="QUERY_INVALID")
    return StatsQuery(tenant_id, since, until, period, unit)


def period_of(day: dt.date, period: str) -> str:
    if period == "month":
        return day.strftime("%Y-%m")
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()


# ---- reading the counters ------------------------------------------------------------------
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

    def day(self, value: dt.date) -> Any:
        return value if self.pg else value.isoformat()

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        _, rows = await self.conn.execute_query(sql, self.params)
        return [dict(r) for r in rows]


def _month_span(first: dt.date, end: dt.date) -> tuple[dt.date, dt.date] | None:
    """The whole calendar months inside [first, end), as [start, stop); None when there are none."""
    start = first if first.day == 1 else (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    stop = end.replace(day=1)
    return (start, stop) if start < stop else None


async def _counters(q: StatsQuery, *, select: str, group: str, grain: str,
                    refs: list[str] | None, metrics: list[str] | None = None,
                    order: str = "", months: bool = True) -> list[dict[str, Any]]:
    """Sum the counters of one roll-up (``grain``), of the units known by ``refs`` when given.
    With ``months``, whole calendar months are read from the month rows and only the days
    before and after them from the day rows."""
    sql = _Sql()
    whole = _month_span(q.first_day, q.end_day) if months else None
    if whole is None:
        ranges = [("d", q.first_day, q.end_day)]
    else:
        ranges = [r for r in (("d", q.first_day, whole[0]), ("m", whole[0], whole[1]),
                              ("d", whole[1], q.end_day)) if r[1] < r[2]]
    # one index range per part (an OR of them is planned as a scan of the whole roll-up)
    parts = []
    for span, first, end in ranges:
        where = (f"tenant_id = {sql.p(q.tenant_id)} AND grain = {sql.p(grain)} AND "
                 f"span = '{span}' AND day >= {sql.p(sql.day(first))} "
                 f"AND day < {sql.p(sql.day(end))}")
        if refs is not None:
            where += f" AND unit_ref IN ({sql.many(refs)})" if refs else " AND 1 = 0"
        if metrics is not None:
            where += f" AND metric IN ({sql.many(metrics) or 'NULL'})"
        parts.append(f"SELECT * FROM stat_counter WHERE {where}")
    text = (f"SELECT {select}, SUM(\"count\") AS n, SUM(duration_count) AS dn, "
            f"SUM(duration_sum) AS ds FROM ({' UNION ALL '.join(parts)}) AS c "
            f"GROUP BY {group}{order}")
    return await sql.rows(text)


def _wanted_actions() -> list[str]:
    return sorted({a for m in AUDIT_METRICS.values() for a in m.actions}
                  | {a for acts in DURATION_METRICS.values() for a in acts})


def _add(bucket: dict[str, Any], action: str, result: str, n: int) -> None:
    for name, metric in AUDIT_METRICS.items():
        if metric.matches(action, result):
            bucket[name] = bucket.get(name, 0) + n


async def _units(tenant_id: str) -> dict[str, dict[str, Any]]:
    from backend.models.org import Unit

    rows = await Unit.filter(tenant_id=tenant_id).using_db(replica()).values(
        "id", "parent_id", "name", "push_id", "dingtalk_id", "kind")
    return {str(r["id"]): r for r in rows}


def _subtree(units: dict[str, dict[str, Any]], unit_id: str) -> list[str]:
    children: dict[str, list[str]] = {}
    for uid, row in units.items():
        if row["parent_id"]:
            children.setdefault(str(row["parent_id"]), []).append(uid)
    if unit_id not in units:
        return []
    found, stack = [], [unit_id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.append(current)
            stack.extend(children.get(current, []))
    return found


def _ref_index(units: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Every id a unit is known by (ours, business, DingTalk) -> our id."""
    index: dict[str, str] = {}
    for uid, row in units.items():
        for ref in (row.get("dingtalk_id"), row.get("push_id"), uid):
            if ref:
                index[str(ref)] = uid
    return index


async def compute(q: StatsQuery) -> dict[str, Any]:
    all_units = await _units(q.tenant_id)
    units = _subtree(all_units, q.unit_id) if q.unit_id else None
    if q.unit_id and not units:
        raise UnitNotFound()
    refs = None
    if units is not None:
        refs = sorted({str(ref) for uid in units for ref in (
            uid, all_units[uid].get("push_id"), all_units[uid].get("dingtalk_id")) if ref})
    # the breakdowns run meanwhile, on other connections of the pool
    breakdowns = asyncio.gather(by_unit(q, all_units, refs), by_seal(q, refs),
                                by_template(q, refs))
    # the trend: tenant totals, or the units' own roll-ups
    trend = await _counters(
        q, select="day, metric, result, variant", group="day, metric, result, variant",
        grain="all" if refs is None else "unit",
        refs=refs, metrics=None if refs is None else _wanted_actions(),
        months=q.period == "month")
    series: dict[str, dict[str, Any]] = {}
    durations: dict[str, dict[str, list[float]]] = {}
    tenant_only: dict[str, dict[str, int]] = {"messages_by_channel": {}, "messages_by_status": {},
                                              "identity_checks_by_kind": {},
                                              "identity_checks_by_outcome": {},
                                              "audit_actions_by_kind": {}}
    families: dict[str, dict[str, int]] = {key: {} for key in FAMILIES}

    def bucket(period: str) -> dict[str, Any]:
        return series.setdefault(period, {"period": period, **{m: 0 for m in AUDIT_METRICS}})

    for row in trend:
        day = row["day"] if isinstance(row["day"], dt.date) else dt.date.fromisoformat(row["day"])
        period = period_of(day, q.period)
        action, result, n = row["metric"], row["result"], int(row["n"])
        tenant_metrics = [] if refs is not None else [
            key for key, name in TENANT_METRICS.items()
            if action == name or (name.endswith(".") and action.startswith(name))]
        if tenant_metrics or any(m.matches(action, result) for m in AUDIT_METRICS.values()) \
                or any(action in acts for acts in DURATION_METRICS.values()):
            b = bucket(period)
            _add(b, action, result, n)
            for key in tenant_metrics:
                b[key] = b.get(key, 0) + n
        for name, actions in DURATION_METRICS.items():
            if action in actions and int(row["dn"] or 0):
                acc = durations.setdefault(name, {}).setdefault(period, [0, 0.0])
                acc[0] += int(row["dn"])
                acc[1] += float(row["ds"] or 0)
        for key, prefix in FAMILIES.items():
            if action.startswith(prefix):
                state = action[len(prefix):]
                families[key][state] = families[key].get(state, 0) + n
        if refs is not None:
            continue
        kind = action.split(".", 1)[0]
        _inc(tenant_only["audit_actions_by_kind"], kind, n)
        if action == "message.queue":
            _inc(tenant_only["messages_by_channel"], row["variant"] or "unknown", n)
        if action.startswith("message."):
            status = "queued" if action == "message.queue" else action[8:]
            _inc(tenant_only["messages_by_status"], status, n)
        if action.startswith("identity."):
            _inc(tenant_only["identity_checks_by_kind"], action[9:], n)
            _inc(tenant_only["identity_checks_by_outcome"], result, n)
    rows = []
    for period in sorted(series):
        row = series[period]
        for key in TENANT_METRICS:
            row[key] = row.get(key, 0) if refs is None else None
        for name in DURATION_METRICS:
            count, total = durations.get(name, {}).get(period, (0, 0.0))
            row[name] = round(total / count, 1) if count else None
        rows.append(row)
    totals: dict[str, Any] = {name: sum(r[name] for r in rows) for name in AUDIT_METRICS}
    for key in TENANT_METRICS:
        totals[key] = sum(r[key] for r in rows) if refs is None else None
    for name in DURATION_METRICS:
        count = sum(v[0] for v in durations.get(name, {}).values())
        total = sum(v[1] for v in durations.get(name, {}).values())
        totals[name] = round(total / count, 1) if count else None
    units_part, seals_part, templates_part = await breakdowns
    answer = {"period": q.period, "timezone": "Asia/Shanghai", "since": q.since.isoformat(),
              "until": q.until.isoformat(), "unit_id": q.unit_id, "units_included": units,
              "series": rows, "totals": totals, **families, "by_unit": units_part,
              "by_seal": seals_part, "by_template": templates_part}
    if refs is None:
        answer.update(tenant_only)
    return answer


def _inc(counts: dict[str, int], key: str, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


def _metric_totals(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for row in rows:
        _add(found.setdefault(row[key], {}), row["metric"], row["result"], int(row["n"]))
    return found


def _sorted_items(found: dict[str, dict[str, int]]) -> list[tuple[str, dict[str, int]]]:
    def weight(item: tuple[str, dict[str, int]]) -> tuple:
        m = item[1]
        return (-(m.get("seal_uses", 0) + m.get("files", 0) + m.get("signings", 0)),
                -sum(m.values()), item[0])
    return sorted(found.items(), key=weight)


async def by_unit(q: StatsQuery, all_units: dict[str, dict[str, Any]],
                  refs: list[str] | None) -> list[dict[str, Any]]:
    """Each unit's own counts (not including the units below); ``unit_id`` null = entries no
    unit could be found for."""
    rows = await _counters(q, select="unit_ref, metric, result", group="unit_ref, metric, result",
                           grain="unit", refs=refs, metrics=_wanted_actions())
    index = _ref_index(all_units)
    merged: dict[str, dict[str, int]] = {}
    for ref, counts in _metric_totals(rows, "unit_ref").items():
        target = merged.setdefault(index.get(ref, "?" + ref if ref else ""), {})
        for name, n in counts.items():
            target[name] = target.get(name, 0) + n
    out = []
    for key, counts in _sorted_items(merged):
        unit = all_units.get(key)
        out.append({"unit_id": key if unit else None,
                    "unit_ref": None if unit else (key[1:] or None),
                    "name": unit["name"] if unit else (f"未同步单位 {key[1:]}" if key else "未归属"),
                    **{m: counts.get(m, 0) for m in AUDIT_METRICS}})
    return out


async def unit_matrix(q: StatsQuery, metric: str = "files",
                      all_units: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One metric by period x unit (each unit's own entries): ``{"periods": [...], "units":
    [{"unit_id", "name", "values": [...]}]}``, the biggest units first."""
    if metric not in AUDIT_METRICS:
        raise ValidationFailed(f"unknown metric {metric}", code="QUERY_INVALID")
    all_units = all_units if all_units is not None else await _units(q.tenant_id)
    refs = None
    if q.unit_id:
        units = _subtree(all_units, q.unit_id)
        if not units:
            raise UnitNotFound()
        refs = sorted({str(r) for uid in units for r in (
            uid, all_units[uid].get("push_id"), all_units[uid].get("dingtalk_id")) if r})
    wanted = AUDIT_METRICS[metric]
    rows = await _counters(q, select="day, unit_ref, metric, result",
                           group="day, unit_ref, metric, result",
                           grain="unit", refs=refs, metrics=list(wanted.actions), months=q.period == "month")
    index = _ref_index(all_units)
    cells: dict[str, dict[str, int]] = {}
    periods: set[str] = set()
    for row in rows:
        if not wanted.matches(row["metric"], row["result"]):
            continue
        day = row["day"] if isinstance(row["day"], dt.date) else dt.date.fromisoformat(row["day"])
        period = period_of(day, q.period)
        periods.add(period)
        key = index.get(row["unit_ref"], row["unit_ref"])
        by_period = cells.setdefault(key, {})
        by_period[period] = by_period.get(period, 0) + int(row["n"])
    ordered = sorted(periods)
    out = sorted(({"unit_id": key if key in all_units else None,
                   "name": all_units[key]["name"] if key in all_units else (key or "未归属"),
                   "values": [v.get(p, 0) for p in ordered]} for key, v in cells.items()),
                 key=lambda u: -sum(u["values"]))
    return {"metric": metric, "period": q.period, "periods": ordered, "units": out}


async def by_seal(q: StatsQuery, refs: list[str] | None, limit: int = TOP) -> list[dict[str, Any]]:
    from backend.models.seal import Seal

    rows = await _counters(
        q, select="seal_ref, metric, result", group="seal_ref, metric, result",
        grain="seal", refs=refs,
        metrics=sorted({a for m in AUDIT_METRICS.values() for a in m.actions
                        if a.startswith("seal.")}))
    found = _sorted_items(_metric_totals(rows, "seal_ref"))[:limit]
    ids = [s for s, _ in found if _is_uuid(s)]
    seals = {str(r["id"]): r for r in await Seal.filter(tenant_id=q.tenant_id, id__in=ids)
             .using_db(replica()).values("id", "name", "unit_ref", "kind")} if ids else {}
    return [{"seal_id": sid, "name": seals.get(sid, {}).get("name", sid[:8]),
             "unit_ref": seals.get(sid, {}).get("unit_ref"),
             "seal_uses": c.get("seal_uses", 0), "seal_uses_refused": c.get("seal_uses_refused", 0),
             "seals_applied": c.get("seals_applied", 0)} for sid, c in found]


async def by_template(q: StatsQuery, refs: list[str] | None,
                      limit: int = TOP) -> list[dict[str, Any]]:
    from backend.models.template import Template

    rows = await _counters(q, select="template_ref, metric, result",
                           group="template_ref, metric, result",
                           grain="template" if refs is None else "unit_template", refs=refs,
                           metrics=_wanted_actions())
    found = _sorted_items(_metric_totals(rows, "template_ref"))[:limit]
    codes = [c for c, _ in found]
    titles = dict(await Template.filter(tenant_id=q.tenant_id, code__in=codes)
                  .using_db(replica()).values_list("code", "title")) if codes else {}
    return [{"template": code, "title": titles.get(code, code),
             **{m: c.get(m, 0) for m in AUDIT_METRICS}} for code, c in found]


def _is_uuid(text: str) -> bool:
    import uuid

    try:
        uuid.UUID(text)
        return True
    except ValueError:
        return False


# ---- CSV export ----------------------------------------------------------------------------
CSV_TABLES = ("series", "units", "seals", "templates")


def _cell(value: Any) -> Any:
    """Spreadsheets run a cell starting like a formula: such texts are prefixed with '."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(stats: dict[str, Any], table: str = "series") -> str:
    """One table of ``compute``'s answer as CSV (UTF-8 with BOM, so Excel reads the Chinese)."""
    if table not in CSV_TABLES:
        raise ValidationFailed(f"table must be one of {', '.join(CSV_TABLES)}",
                               code="QUERY_INVALID")
    rows = {"series": stats["series"], "units": stats["by_unit"], "seals": stats["by_seal"],
            "templates": stats["by_template"]}[table]
    if table == "series":
        columns = ["period", *AUDIT_METRICS, *TENANT_METRICS, *DURATION_METRICS]
    else:
        columns = list(rows[0]) if rows else {"units": ["unit_id", "unit_ref", "name"],
                                              "seals": ["seal_id", "name", "unit_ref"],
                                              "templates": ["template", "title"]}[table]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    if table == "series":
        writer.writerow([_cell(stats["totals"].get(c)) if c != "period" else "total"
                         for c in columns])
    return "\ufeff" + out.getvalue()
