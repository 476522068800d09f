"""Statistics centre: counts by period (Beijing days/weeks/months) and unit, read from the
counters the operation log keeps current; seal use and signings plug in by audit action name."""
from __future__ import annotations

import datetime as dt

import httpx

from backend import audit
from backend.models.audit import AuditEntry
from backend.models.org import Unit, User
from backend.services import stat_counters, statistics
from tests.backend.org_testkit import ORG_TENANT_ID, bearer, make_seal

BJT = dt.timezone(dt.timedelta(hours=8))


async def at(when: dt.datetime, action: str, *, result: str = "ok", actor: str = "system",
             unit_id: str | None = None, target: str = "x") -> None:
    """Record an entry, then move it to ``when`` and recount (the live counters are bumped on
    the day the entry is recorded: today)."""
    row = await audit.record(action, target, result=result, actor=actor, tenant_id=ORG_TENANT_ID,
                             details={"unit_id": unit_id} if unit_id else {})
    await AuditEntry.filter(id=row.id).update(created_at=when)
    await stat_counters.rebuild(ORG_TENANT_ID)


async def seed() -> dict[str, str]:
    units = {u.push_id: str(u.id) for u in await Unit.filter(tenant_id=ORG_TENANT_ID)}
    clerk = await User.get(push_id="E0004")  # BJ-HD
    shanghai = await User.get(push_id="E0005")  # SH
    # 2026-11-01 23:30 Beijing time is still Nov 1 there (15:30 UTC)
    nov1 = dt.datetime(2026, 11, 1, 23, 30, tzinfo=BJT)
    nov2 = dt.datetime(2026, 11, 2, 0, 30, tzinfo=BJT)  # Nov 1 16:30 UTC, Nov 2 in Beijing
    dec5 = dt.datetime(2026, 12, 5, 10, 0, tzinfo=BJT)
    await at(nov1, "seal.use", result="allowed", actor=f"user:{clerk.id}")
    await at(nov1, "seal.use", result="refused", actor=f"user:{clerk.id}")
    await at(nov2, "seal.use", result="allowed", unit_id=units["BJ"])
    await at(nov2, "seal.use", result="allowed", actor=f"user:{shanghai.id}")
    await at(nov2, "envelope.complete", unit_id=units["SH"])
    await at(dec5, "envelope.complete", unit_id=units["BJ-HD"])
    await at(dec5, "document.upload", actor=f"user:{clerk.id}")
    return units


WINDOW = {"since": "2026-11-01T00:00:00+08:00", "until": "2027-01-01T00:00:00+08:00"}


async def test_by_day_in_beijing_time(org_api, pushed_org):
    await seed()
    stats = org_api.get("/api/v1/statistics", params={**WINDOW, "period": "day"}).json()
    by_day = {row["period"]: row for row in stats["series"]}
    assert set(by_day) == {"2026-11-01", "2026-11-02", "2026-12-05"}
    assert by_day["2026-11-01"]["seal_uses"] == 1 and by_day["2026-11-01"]["seal_uses_refused"] == 1
    assert by_day["2026-11-02"]["seal_uses"] == 2 and by_day["2026-11-02"]["signings"] == 1
    assert by_day["2026-12-05"]["files"] == 1
    assert stats["totals"]["seal_uses"] == 3 and stats["totals"]["signings"] == 2
    assert stats["timezone"] == "Asia/Shanghai"


async def test_by_month_and_unit_with_the_units_below(org_api, pushed_org):
    units = await seed()
    monthly = org_api.get("/api/v1/statistics", params={**WINDOW, "period": "month"}).json()
    assert [r["period"] for r in monthly["series"]] == ["2026-11", "2026-12"]
    assert monthly["series"][0]["seal_uses"] == 3 and monthly["series"][1]["signings"] == 1
    # Beijing branch: its own entries and those of the Haidian sub-branch and its users
    bj = org_api.get("/api/v1/statistics", params={**WINDOW, "period": "month",
                                                   "unit": units["BJ"]}).json()
    assert set(bj["units_included"]) == {units["BJ"], units["BJ-HD"]}
    assert bj["totals"]["seal_uses"] == 2 and bj["totals"]["seal_uses_refused"] == 1
    assert bj["totals"]["signings"] == 1 and bj["totals"]["files"] == 1
    assert bj["totals"]["messages"] is None  # messages have no unit: not attributable
    sh = org_api.get("/api/v1/statistics", params={**WINDOW, "unit": units["SH"]}).json()
    assert sh["totals"]["seal_uses"] == 1 and sh["totals"]["signings"] == 1
    hq = org_api.get("/api/v1/statistics", params={**WINDOW, "unit": units["HQ"]}).json()
    assert hq["totals"]["seal_uses"] == 3  # the headquarters sees every unit
    unknown = org_api.get("/api/v1/statistics", params={
        **WINDOW, "unit": "00000000-0000-4000-8000-000000000000"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "UNIT_NOT_FOUND"


async def test_messages_identity_checks_and_links_are_counted(org_api, org_tenant, pushed_org):
    link = org_api.post("/api/v1/signing-links", {"envelope_ref": "env-1", "signer_ref": "s1",
                                                  "signer_name": "张三"})
    assert link.status_code == 201, link.text
    stats = org_api.get("/api/v1/statistics").json()  # the last 30 days
    assert stats["totals"]["signing_links"] == 1
    assert stats["audit_actions_by_kind"]["link"] == 1
    assert stats["audit_actions_by_kind"]["org"] >= 1
    assert stats["messages_by_channel"] == {} and stats["identity_checks_by_kind"] == {}


def test_bad_queries_are_refused(org_api, org_tenant):
    for params in ({"period": "year"}, {"since": "2026-12-01", "until": "2026-11-01"},
                   {"since": "2020-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
                   {"since": "soon"}):
        answer = org_api.get("/api/v1/statistics", params=params)
        assert answer.status_code == 422 and answer.json()["code"] == "QUERY_INVALID", params


async def test_new_metrics_plug_in_by_action_name(org_api, pushed_org):
    await at(dt.datetime(2026, 11, 3, 9, 0, tzinfo=BJT), "contract.archive")
    statistics.register_metric("archived", ("contract.archive",))
    try:
        totals = (await statistics.compute(statistics.build_query(
            ORG_TENANT_ID, WINDOW)))["totals"]
        assert totals["archived"] == 1
    finally:
        statistics.AUDIT_METRICS.pop("archived")


def test_security_and_system_administrators_read_statistics(org_server, admins):
    for role in ("security", "system"):
        answer = httpx.get(f"{org_server}/api/v1/admin/statistics", params=WINDOW,
                           headers=bearer(admins[role]))
        assert answer.status_code == 200 and "series" in answer.json()


async def test_seal_use_counts_for_the_unit_owning_the_seal(org_api, pushed_org):
    units = {u.push_id: str(u.id) for u in await Unit.filter(tenant_id=ORG_TENANT_ID)}
    sh_seal = await make_seal(ORG_TENANT_ID, "SH", "上海分公司合同专用章")
    when = dt.datetime(2026, 11, 10, 10, 0, tzinfo=BJT)
    # the seal module logs actor user:<business id>; E0004 works in Beijing (BJ-HD)
    await at(when, "seal.use", result="allowed", actor="user:E0004", target=f"seal:{sh_seal.id}")
    await at(when, "document.upload", actor="user:E0004")
    sh = org_api.get("/api/v1/statistics", params={**WINDOW, "unit": units["SH"]}).json()
    bj = org_api.get("/api/v1/statistics", params={**WINDOW, "unit": units["BJ"]}).json()
    assert sh["totals"]["seal_uses"] == 1 and bj["totals"]["seal_uses"] == 0
    assert bj["totals"]["files"] == 1 and sh["totals"]["files"] == 0


async def test_uploaded_and_generated_documents_count_as_files(org_api, pushed_org):
    when = dt.datetime(2026, 11, 20, 9, 0, tzinfo=BJT)
    for action in ("document.upload", "document.generate", "document.grant"):
        await at(when, action)
    totals = org_api.get("/api/v1/statistics", params=WINDOW).json()["totals"]
    assert totals["files"] == 2


async def test_counters_are_bumped_with_the_event_and_roll_back_with_it(org_api, pushed_org):
    from tortoise.transactions import in_transaction

    from backend.models.stats import StatCounter

    sh_seal = await make_seal(ORG_TENANT_ID, "SH", "上海分公司合同专用章")
    await audit.record("seal.use", f"seal:{sh_seal.id}", result="allowed", actor="user:E0005",
                       tenant_id=ORG_TENANT_ID)
    try:
        async with in_transaction("default"):
            await audit.record("seal.use", f"seal:{sh_seal.id}", result="allowed",
                               actor="user:E0005", tenant_id=ORG_TENANT_ID)
            raise RuntimeError("the sealing failed")
    except RuntimeError:
        pass
    rows = await StatCounter.filter(tenant_id=ORG_TENANT_ID, metric="seal.use", span="d")
    by_grain = {r.grain: r for r in rows}
    assert set(by_grain) == {"all", "unit", "seal"}
    assert all(r.count == 1 for r in rows)  # the rolled-back use is not counted
    assert by_grain["seal"].seal_ref == str(sh_seal.id) and by_grain["seal"].unit_ref == "SH"
    live = {(r.grain, r.span, r.day, r.metric, r.result, r.unit_ref, r.seal_ref, r.template_ref,
             r.count) for r in await StatCounter.filter(tenant_id=ORG_TENANT_ID)}
    await stat_counters.rebuild(ORG_TENANT_ID)  # recounting the log gives the same counters
    assert live == {(r.grain, r.span, r.day, r.metric, r.result, r.unit_ref, r.seal_ref,
                     r.template_ref, r.count)
                    for r in await StatCounter.filter(tenant_id=ORG_TENANT_ID)}
    today = org_api.get("/api/v1/statistics").json()
    assert today["totals"]["seal_uses"] == 1
    assert today["by_seal"][0]["name"] == "上海分公司合同专用章"


async def test_weeks_breakdowns_durations_and_envelopes_by_state(org_api, pushed_org):
    units = await seed()
    for minutes in (5, 15):  # envelopes record how long they took
        row = await audit.record("envelope.complete", "envelope:e", tenant_id=ORG_TENANT_ID,
                                 details={"unit_id": units["SH"], "duration_seconds": minutes * 60})
        await AuditEntry.filter(id=row.id).update(
            created_at=dt.datetime(2026, 11, 3, 9, 0, tzinfo=BJT))
    await at(dt.datetime(2026, 11, 4, 9, 0, tzinfo=BJT), "envelope.reject", unit_id=units["SH"])
    await stat_counters.rebuild(ORG_TENANT_ID)
    weekly = org_api.get("/api/v1/statistics", params={**WINDOW, "period": "week"}).json()
    # Sunday Nov 1 is in ISO week 44, Monday Nov 2 starts week 45
    assert [r["period"] for r in weekly["series"]] == ["2026-W44", "2026-W45", "2026-W49"]
    assert weekly["totals"]["avg_completion_seconds"] == 600.0  # of the two that recorded it
    assert weekly["series"][1]["avg_completion_seconds"] == 600.0
    assert weekly["series"][2]["avg_completion_seconds"] is None
    assert weekly["envelopes_by_state"] == {"complete": 4, "reject": 1}
    by_unit = {u["name"]: u for u in weekly["by_unit"]}
    assert by_unit["上海分公司"]["signings"] == 3 and by_unit["海淀支公司"]["seal_uses"] == 1
    assert by_unit["海淀支公司"]["seal_uses_refused"] == 1


async def test_csv_export_for_business_systems_and_administrators(org_server, org_api, admins):
    await seed()
    answer = org_api.get("/api/v1/statistics/export",
                         params={**WINDOW, "period": "month", "format": "csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    lines = answer.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("period,seal_uses,seal_uses_refused,")
    assert lines[1].startswith("2026-11,3,1,") and lines[-1].startswith("total,3,1,")
    units = httpx.get(f"{org_server}/api/v1/admin/statistics/export",
                      params={**WINDOW, "table": "units"}, headers=bearer(admins["security"]))
    assert units.status_code == 200 and "北京分公司" in units.text
    bad = org_api.get("/api/v1/statistics/export", params={"format": "xlsx"})
    assert bad.status_code == 422 and bad.json()["code"] == "QUERY_INVALID"
    refused = httpx.get(f"{org_server}/api/v1/admin/statistics/export",
                        headers=bearer(admins["audit"]))
    assert refused.status_code == 403
