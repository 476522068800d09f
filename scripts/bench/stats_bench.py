"""Statistics benchmark (not a test): a year of counters shaped like 2,000,000 documents a day
over ~100 units, ~300 seals and ~50 templates, then the year-long statistics queries timed
through the service functions (``backend.services.statistics``). Target: < 200 ms each.

    .venv/bin/python scripts/bench/stats_bench.py [--days 365] [--docs-per-day 2000000]
        [--runs 15] [--database postgres://postgres@127.0.0.1:5432/stats_bench]

The database (default ``stats_bench``) is created if missing and its schema re-created, by the
project's migrations. The counters are what ``backend.audit.record`` would have written for
those events (the roll-ups of ``backend/models/stats.py``), bulk-loaded with COPY: the 730
million raw events themselves are not generated. Prints a table (p50/p95 ms) and writes
``bench-results/stats_bench.json``.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import pathlib
import platform
import random
import statistics as pystats
import sys
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ALL = "*"
TENANT = uuid.UUID("5eed0000-0000-4000-8000-00000000be0c")


def shape(seed: int = 7):
    """Units (1 HQ, 15 branches, 84 sub-branches), 3 seals per unit, 50 templates of which
    each unit uses 12, and a Zipf-like weight per unit."""
    rnd = random.Random(seed)
    units = [{"id": uuid.uuid4(), "push_id": "HQ", "name": "总公司", "kind": "hq", "parent": None}]
    provinces = ["北京", "上海", "广东", "江苏", "浙江", "山东", "四川", "湖北", "河南", "福建",
                 "湖南", "安徽", "河北", "辽宁", "陕西"]
    for i, prov in enumerate(provinces):
        units.append({"id": uuid.uuid4(), "push_id": f"B{i:02d}", "name": f"{prov}分公司",
                      "kind": "branch", "parent": units[0]["id"]})
    branches = units[1:]
    for i in range(84):
        parent = branches[i % len(branches)]
        units.append({"id": uuid.uuid4(), "push_id": f"S{i:03d}",
                      "name": f"{parent['name'][:2]}第{i // len(branches) + 1}支公司",
                      "kind": "sub_branch", "parent": parent["id"]})
    seals = []
    for unit in units:
        for kind, label in (("contract", "合同专用章"), ("official", "公章"), ("finance", "财务专用章")):
            seals.append({"id": uuid.uuid4(), "unit_ref": unit["push_id"], "kind": kind,
                          "name": f"{unit['name']}{label}"})
    templates = [{"code": f"T{i:02d}", "title": f"保单模板{i:02d}"} for i in range(50)]
    weights = {u["push_id"]: 1.0 / (rank + 1) ** 0.8 for rank, u in enumerate(units)}
    total = sum(weights.values())
    weights = {k: v / total for k, v in weights.items()}
    uses = {u["push_id"]: rnd.sample(range(50), 12) for u in units}
    return units, seals, templates, weights, uses


def day_rows(day: dt.date, docs: int, units, seals, templates, weights, uses, rnd):
    """The counters of one day: (day, metric, result, variant, unit, seal, template, count,
    duration_count, duration_sum)."""
    out = []
    totals: dict[tuple, list] = {}

    def add(metric, result, variant, unit, seal, template, n, dsum=0.0, timed=False):
        dims = [("all", ALL, ALL, ALL), ("unit", unit, ALL, ALL)]
        if seal:
            dims.append(("seal", unit, seal, ALL))
        if template:
            dims += [("template", ALL, ALL, template), ("unit_template", unit, ALL, template)]
        for g, u, s, t in dims:
            acc = totals.setdefault((g, metric, result, variant, u, s, t), [0, 0, 0.0])
            acc[0] += n
            if timed:
                acc[1] += n
                acc[2] += dsum

    seals_of: dict[str, list] = {}
    for seal in seals:
        seals_of.setdefault(seal["unit_ref"], []).append(seal)
    factor = rnd.uniform(0.85, 1.15) * (0.55 if day.weekday() >= 5 else 1.0)
    for unit in units:
        ref = unit["push_id"]
        unit_docs = int(docs * weights[ref] * factor)
        if not unit_docs:
            continue
        picks = uses[ref]
        split = [rnd.random() + 0.2 for _ in picks]
        s = sum(split)
        for t_index, part in zip(picks, split):
            code = templates[t_index]["code"]
            n = int(unit_docs * part / s)
            add("document.generate", "ok", "", ref, "", code, n)
            add("document.sealed", "ok", "", ref, "", code, int(n * 0.8))
            done = int(n * 0.75)
            add("envelope.complete", "ok", "", ref, "", code, done,
                dsum=done * rnd.uniform(1800, 7200), timed=True)
        add("document.upload", "ok", "", ref, "", "", unit_docs // 50)
        sealed = int(unit_docs * 0.8)
        for seal, share in zip(seals_of[ref], (0.85, 0.1, 0.05)):
            n = int(sealed * share)
            add("seal.use", "allowed", "", ref, str(seal["id"]), "", n)
            add("seal.applied", "ok", "", ref, str(seal["id"]), "", n)
            if rnd.random() < 0.4:
                add("seal.use", "refused", "", ref, str(seal["id"]), "", rnd.randint(1, 20))
        add("session.open", "ok", "", ref, "", "", rnd.randint(50, 500))
    for channel, share in (("sms", 0.6), ("wechat", 0.3), ("dingtalk", 0.1)):
        add("message.queue", "ok", channel, "", "", "", int(docs * factor * share))
    for status, share in (("sent", 0.97), ("delivered", 0.95), ("failed", 0.02)):
        add(f"message.{status}", status, "", "", "", "", int(docs * factor * share))
    for kind, share in (("three_factor", 0.5), ("face", 0.3)):
        add(f"identity.{kind}", "match", "", "", "", "", int(docs * factor * share))
        add(f"identity.{kind}", "mismatch", "", "", "", "", int(docs * factor * share * 0.01))
    add("link.issue", "ok", "", "", "", "", int(docs * factor))
    add("link.open", "ok", "", "", "", "", int(docs * factor * 0.9))
    for (g, metric, result, variant, u, s, t), (n, dn, ds) in totals.items():
        out.append((TENANT, g, "d", day, metric, result, variant, u, s, t, n, dn, ds))
    return out, totals


def month_rows(month: dt.date, totals: dict[tuple, list]):
    return [(TENANT, g, "m", month, metric, result, variant, u, s, t, n, dn, ds)
            for (g, metric, result, variant, u, s, t), (n, dn, ds) in totals.items()]


async def prepare(database_url: str, days: int, docs: int) -> dict:
    import asyncpg

    from backend import db
    from backend.settings import Settings

    admin_url, name = database_url.rsplit("/", 1)
    conn = await asyncpg.connect(f"{admin_url}/postgres")
    if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
        await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    conn = await asyncpg.connect(database_url)
    await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    await conn.close()
    settings = Settings.from_env({**os.environ, "DATABASE_URL": database_url, "ENV": "test",
                                  "DATA_DIR": "/tmp/stats_bench_data", "AUTO_MIGRATE": "false",
                                  "DATA_KEYS": "b1:00112233445566778899aabbccddeeff"})
    await db.init_db(settings)
    await db.migrate(settings)
    await db.close_db()

    units, seals, templates, weights, uses = shape()
    conn = await asyncpg.connect(database_url)
    now = dt.datetime.now(dt.timezone.utc)
    await conn.execute("INSERT INTO tenant (id, name, app_key, app_secret_enc, status, created_at) "
                       "VALUES ($1, '基准人寿', 'ak_bench', 'x', 'active', $2)", TENANT, now) \
        if await _has_columns(conn, "tenant", {"status"}) else \
        await conn.execute("INSERT INTO tenant (id, name, app_key, app_secret_enc, created_at) "
                           "VALUES ($1, '基准人寿', 'ak_bench', 'x', $2)", TENANT, now)
    await conn.copy_records_to_table(
        "org_unit", columns=["id", "tenant_id", "parent_id", "kind", "name", "push_id",
                             "created_at", "updated_at"],
        records=[(u["id"], TENANT, u["parent"], u["kind"], u["name"], u["push_id"], now, now)
                 for u in units])
    await conn.copy_records_to_table(
        "seal", columns=["id", "tenant_id", "unit_ref", "kind", "name", "status", "version",
                         "source", "spec", "image_png", "black_png", "seseal_der", "valid_from",
                         "valid_until", "created_by", "created_at"],
        records=[(s["id"], TENANT, s["unit_ref"], s["kind"], s["name"], "active", 1, "generated",
                  "{}", b"", b"", b"", now, now + dt.timedelta(days=365), "bench", now)
                 for s in seals])
    rnd = random.Random(11)
    first = dt.date.today() - dt.timedelta(days=days - 1)
    started, rows = time.perf_counter(), 0
    cols = ["tenant_id", "grain", "span", "day", "metric", "result", "variant", "unit_ref", "seal_ref",
            "template_ref", "count", "duration_count", "duration_sum"]
    month: dt.date | None = None
    month_totals: dict[tuple, list] = {}

    async def flush_month() -> int:
        batch = month_rows(month, month_totals)
        await conn.copy_records_to_table("stat_counter", columns=cols, records=batch)
        return len(batch)

    for i in range(days):
        day = first + dt.timedelta(days=i)
        if month is not None and day.replace(day=1) != month:
            rows += await flush_month()
            month_totals = {}
        month = day.replace(day=1)
        batch, totals = day_rows(day, docs, units, seals, templates, weights, uses, rnd)
        for key, (n, dn, ds) in totals.items():
            acc = month_totals.setdefault(key, [0, 0, 0.0])
            acc[0] += n
            acc[1] += dn
            acc[2] += ds
        await conn.copy_records_to_table("stat_counter", columns=cols, records=batch)
        rows += len(batch)
    rows += await flush_month()
    await conn.execute("ANALYZE stat_counter")
    await conn.execute("ANALYZE org_unit")
    await conn.execute("ANALYZE seal")
    load_s = time.perf_counter() - started
    size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('stat_counter'))")
    await conn.close()
    return {"counter_rows": rows, "load_seconds": round(load_s, 1), "table_size": size,
            "first_day": first.isoformat(), "units": len(units), "seals": len(seals),
            "templates": len(templates), "branch": str(units[1]["id"]),
            "branch_name": units[1]["name"], "settings": settings}


async def _has_columns(conn, table: str, names: set[str]) -> bool:
    found = {r["column_name"] for r in await conn.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $1", table)}
    return names <= found


async def run_queries(info: dict, runs: int) -> list[dict]:
    from backend import db
    from backend.services import statistics as st

    await db.init_db(info["settings"])
    tenant = str(TENANT)
    until = dt.datetime.combine(dt.date.today() + dt.timedelta(days=1), dt.time(0),
                                tzinfo=st.TZ)
    since = until - dt.timedelta(days=365)
    year = {"since": since.isoformat(), "until": until.isoformat()}

    def q(**extra):
        return st.build_query(tenant, {**year, **extra})

    async def units():
        return await st._units(tenant)

    all_units = await units()
    cases = [
        ("year by day, everything (compute)", lambda: st.compute(q(period="day"))),
        ("year by week, everything (compute)", lambda: st.compute(q(period="week"))),
        ("year by month, everything (compute)", lambda: st.compute(q(period="month"))),
        (f"year by month, one branch + sub-branches (compute unit={info['branch_name']})",
         lambda: st.compute(q(period="month", unit=info["branch"]))),
        ("year by month x unit (unit_matrix files)",
         lambda: st.unit_matrix(q(period="month"), "files")),
        ("year by unit (by_unit)", lambda: st.by_unit(q(), all_units, None)),
        ("year by seal (by_seal, top 50)", lambda: st.by_seal(q(), None)),
        ("year by template (by_template)", lambda: st.by_template(q(), None)),
        ("year trend by day, CSV export", lambda: _csv(st, q(period="day"))),
    ]
    results = []
    for name, make in cases:
        answer = await make()  # warm-up (and a sanity check below)
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            await make()
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        results.append({"query": name, "runs": runs,
                        "p50_ms": round(pystats.median(timings), 1),
                        "p95_ms": round(timings[min(len(timings) - 1,
                                                    int(round(0.95 * (len(timings) - 1))))], 1),
                        "max_ms": round(timings[-1], 1),
                        "check": _check(answer)})
    await db.close_db()
    return results


async def _csv(st, query):
    return st.to_csv(await st.compute(query), "series")


def _check(answer) -> str:
    if isinstance(answer, dict) and "totals" in answer:
        t = answer["totals"]
        return (f"{len(answer['series'])} periods, files={t['files']:,}, "
                f"seal_uses={t['seal_uses']:,}, avg_completion={t['avg_completion_seconds']}s")
    if isinstance(answer, dict) and "units" in answer:
        return f"{len(answer['periods'])} periods x {len(answer['units'])} units"
    if isinstance(answer, list):
        return f"{len(answer)} rows"
    return f"{len(answer):,} bytes"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--docs-per-day", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database", default=os.environ.get(
        "STATS_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stats_bench"))
    args = parser.parse_args()
    info = asyncio.run(prepare(args.database, args.days, args.docs_per_day))
    print(f"loaded {info['counter_rows']:,} counter rows ({info['table_size']}) for "
          f"{args.days} days x {args.docs_per_day:,} documents/day in {info['load_seconds']} s")
    results = asyncio.run(run_queries(info, args.runs))
    width = max(len(r["query"]) for r in results)
    print(f"{'query':<{width}}  {'p50 ms':>8}  {'p95 ms':>8}  {'max ms':>8}  check")
    for r in results:
        print(f"{r['query']:<{width}}  {r['p50_ms']:>8}  {r['p95_ms']:>8}  {r['max_ms']:>8}  "
              f"{r['check']}")
    target_ok = all(r["p95_ms"] < 200 for r in results)
    print(f"target p95 < 200 ms: {'met' if target_ok else 'NOT met'}")
    out = ROOT / "bench-results" / "stats_bench.json"
    out.parent.mkdir(exist_ok=True)
    info.pop("settings")
    out.write_text(json.dumps({
        "benchmark": "statistics over pre-aggregated counters (scripts/bench/stats_bench.py)",
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "shape": {"days": args.days, "documents_per_day": args.docs_per_day, **info},
        "target_ms": 200, "target_met": target_ok, "results": results},
        ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0 if target_ok else 1


if __name__ == "__main__":
    sys.exit(main())
