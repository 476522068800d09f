"""Usage metering and billing [计费清分]: traffic generated through the API (seals with dual
certificates, SMS through the fake Aliyun SMS and the job worker, identity checks through the fake
market) is metered exactly once; statements, CSV, quotas, overdraft and clearing add up exactly."""
from __future__ import annotations

import base64
import csv
import datetime as dt
import io

import pytest

from backend.models.billing import Statement, UsageEvent
from backend.models.identity import IdentityCheck
from backend.models.message import OutboundMessage
from backend.models.seal import SealUse
from backend.services import billing
from backend.services.messages import enqueue_delivery
from backend.services.metering import current_month

OP = {"X-Operator": "sec-admin-01"}
COMPANY = "测试人寿保险股份有限公司"
ZHANG = {"name": "张三", "id_number": "11010519491231002X", "mobile": "13800138000"}
LI = {"name": "李四", "id_number": "110101199003071233"}
WANG = {"name": "王五", "id_number": "440304198510214560"}
SMS = {"channel": "sms", "recipient": "13800138000", "template": "SIGN_LINK",
       "params": {"name": "张三", "doc_title": "个人意外险投保单", "url": "https://e.example.com/s/x"}}


@pytest.fixture(autouse=True)
async def security_admins(tenant):
    from backend.models.admin import AdminRole
    from backend.models.org import Unit, User

    hq = await Unit.create(tenant_id=tenant.tenant_id, kind="hq", name="总公司", push_id="hq")
    user = await User.create(tenant_id=tenant.tenant_id, unit=hq, name="sec", push_id="sec-admin-01")
    await AdminRole.create(tenant_id=tenant.tenant_id, user=user, role="security")


def utc(**delta) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta)).isoformat()


def blank_pdf() -> bytes:
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def sealing(papi, algorithm: str = "dual") -> str:
    """A bound certificate, an active seal and a grant to u-agent-1; returns the seal id."""
    assert papi.post("/api/v1/certificates", {"company_name": COMPANY, "algorithm": algorithm},
                     headers=OP).status_code == 201
    seal = papi.post("/api/v1/seals", {"kind": "official", "name": COMPANY}, headers=OP).json()
    assert papi.post(f"/api/v1/seals/{seal['id']}/transitions",
                     {"action": "approve", "reason": "同意"}, headers=OP).status_code == 200
    response = papi.post(f"/api/v1/seals/{seal['id']}/grants",
                         {"grantee_type": "user", "grantee_ref": "u-agent-1",
                          "valid_from": utc(minutes=-1), "valid_until": utc(days=30),
                          "reason": "理赔部用印"}, headers=OP)
    assert response.status_code == 201, response.text
    return seal["id"]


def apply(papi, seal_id: str, unit: str, n: int):
    body = {"user_ref": "u-agent-1", "document_ref": f"policy-{n}", "company_name": COMPANY,
            "pdf_base64": base64.b64encode(blank_pdf()).decode(), "rect": [400, 100, 520, 220],
            "unit_ref": unit, "flow": "underwriting"}
    return papi.post(f"/api/v1/seals/{seal_id}/apply", body)


def verify(papi, **body):
    return papi.post("/api/v1/identity/persons/verify", body)


def put_plan(papi, items: dict, **extra) -> dict:
    response = papi.request("PUT", "/api/v1/billing/plan",
                            json={"name": "标准版", "items": items, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def statement(papi, unit: str | None = None, fmt: str = "json"):
    params = {"format": fmt, **({"unit": unit} if unit is not None else {})}
    response = papi.get(f"/api/v1/billing/statements/{current_month()}", params=params)
    assert response.status_code == 200, response.text
    return response


PLAN = {
    "signature.sm2": {"unit_price": 100},
    "signature.rsa": {"tiers": [{"up_to": 2, "price": 80}, {"up_to": None, "price": 50}]},
    "sms.sent": {"package": {"included": 2, "fee": 1000}, "overdraft": True, "unit_price": 5},
    "identity.three_factor": {"unit_price": 60},
    "identity.two_factor": {"unit_price": 30},
}


async def test_generated_traffic_is_metered_once_and_statements_add_up_exactly(
        papi, sms, market, run_jobs, provider_runtime):
    put_plan(papi, PLAN)
    seal_id = sealing(papi)
    for n, unit in enumerate(("SH", "SH", "BJ")):
        response = apply(papi, seal_id, unit, n)
        assert response.status_code == 201, response.text
        assert response.json()["algorithms"] == ["sm2", "rsa"]
    # three SMS, one of them requested twice; the job is run again for the first one
    ids = [papi.post("/api/v1/messages", {**SMS, "recipient": r}, idempotency_key=k).json()["id"]
           for r, k in (("13800138000", "a"), ("13800138000", "a"), ("13900139000", "b"),
                        ("13700137000", "c"))]
    assert ids[0] == ids[1]
    await run_jobs()
    await enqueue_delivery(provider_runtime, await OutboundMessage.get(id=ids[0]))
    await run_jobs()
    assert len(sms.accepted) == 3
    # identity: a provider answer, a cached reuse (not billed), a two-factor, a provider error
    assert verify(papi, **ZHANG).json()["from_cache"] is False
    assert verify(papi, **ZHANG).json()["from_cache"] is True
    assert verify(papi, **LI).json()["outcome"] == "match"
    market.scenario = "timeout"
    assert verify(papi, **WANG).status_code >= 500
    assert await IdentityCheck.filter(outcome="error").count() == 1

    usage = papi.get("/api/v1/billing/usage").json()
    assert usage["by_kind"] == {"identity.three_factor": 1, "identity.two_factor": 1,
                                "signature.rsa": 3, "signature.sm2": 3, "sms.sent": 3}
    assert await UsageEvent.all().count() == 11
    by_unit = {(i["kind"], i["unit_ref"]): i["quantity"] for i in usage["items"]}
    assert by_unit[("signature.sm2", "SH")] == 2 and by_unit[("signature.rsa", "BJ")] == 1
    assert {i["business_line"] for i in usage["items"] if i["kind"].startswith("signature")} \
        == {"underwriting"}

    whole = statement(papi).json()
    amounts = {(line["kind"], line["description"]): line["amount"] for line in whole["lines"]}
    assert amounts[("signature.sm2", "usage")] == 300
    assert amounts[("signature.rsa", "usage 1-2")] == 160
    assert amounts[("signature.rsa", "usage 3-")] == 50
    assert amounts[("sms.sent", "monthly package (2 included)")] == 1000
    assert amounts[("sms.sent", "included in package")] == 0
    assert amounts[("sms.sent", "overage")] == 5
    assert amounts[("identity.three_factor", "usage")] == 60
    assert amounts[("identity.two_factor", "usage")] == 30
    assert whole["total"] == 1605 == sum(line["amount"] for line in whole["lines"])
    assert all(isinstance(line["amount"], int) for line in whole["lines"])

    units = [statement(papi, unit).json() for unit in ("SH", "BJ", "")]
    for unit_statement in units:
        assert unit_statement["total"] == sum(line["amount"] for line in unit_statement["lines"])
    assert sum(u["total"] for u in units) == whole["total"]
    # the tiered RSA charge (210) is shared by quantity: SH 2/3, BJ 1/3
    assert [u["total"] for u in units] == [200 + 140, 100 + 70, 1005 + 60 + 30]
    for kind in ("signature.sm2", "signature.rsa"):
        assert sum(line["quantity"] for u in units for line in u["lines"]
                   if line["kind"] == kind) == 3
    assert papi.get(f"/api/v1/billing/statements/{current_month()}",
                    params={"unit": "nowhere"}).status_code == 404

    # CSV matches JSON
    response = statement(papi, fmt="csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["kind"], r["description"], int(r["quantity"]), int(r["amount"]))
            for r in rows[:-1]] == [(line["kind"], line["description"], line["quantity"],
                                     line["amount"]) for line in whole["lines"]]
    assert rows[-1]["kind"] == "TOTAL" and int(rows[-1]["amount"]) == whole["total"]
    assert response.headers["x-statement-sha256"] == whole["sha256"]
    stored = await Statement.get(month=current_month(), unit_ref="*")
    assert stored.total == 1605 and stored.sha256 == whole["sha256"]

    clearing = papi.get(f"/api/v1/billing/clearing/{current_month()}").json()
    providers = {p["provider"]: p for p in clearing["providers"]}
    assert providers["aliyun_sms"]["lines"] == [
        {"kind": "sms.sent", "quantity": 3, "unit_cost": 4, "cost": 12}]
    identity = [p for name, p in providers.items() if name != "aliyun_sms"]
    assert sum(line["quantity"] for p in identity for line in p["lines"]) == 2
    assert clearing["total"] == sum(p["total"] for p in clearing["providers"])
    assert not any(line["kind"].startswith("signature") for p in clearing["providers"]
                   for line in p["lines"])


async def test_over_quota_calls_get_402_and_nothing_is_performed(papi, sms, market, run_jobs):
    put_plan(papi, {"identity.two_factor": {"unit_price": 30, "quota": 1},
                    "sms.sent": {"package": {"included": 1, "fee": 800}},
                    "signature.rsa": {"unit_price": 50, "quota": 1}})
    assert verify(papi, **LI).status_code == 200
    refused = verify(papi, **WANG)
    assert refused.status_code == 402 and refused.json()["code"] == "QUOTA_EXCEEDED", refused.text
    assert refused.json()["details"]["kind"] == "identity.two_factor"
    assert market.count() == 1 and await IdentityCheck.all().count() == 1
    assert verify(papi, **ZHANG).status_code == 200  # three-factor has no quota

    first = papi.post("/api/v1/messages", SMS, idempotency_key="m1")
    assert first.status_code == 202
    await run_jobs()
    again = papi.post("/api/v1/messages", SMS, idempotency_key="m1")  # a replay is not refused
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
    refused = papi.post("/api/v1/messages", SMS, idempotency_key="m2")
    assert refused.status_code == 402 and refused.json()["code"] == "QUOTA_EXCEEDED"
    assert await OutboundMessage.all().count() == 1 and len(sms.accepted) == 1
    email = papi.post("/api/v1/messages", {**SMS, "channel": "email",
                                           "recipient": "a@insurer.example"})
    assert email.status_code == 202  # not billable, not limited

    seal_id = sealing(papi)
    assert apply(papi, seal_id, "SH", 1).status_code == 201
    refused = apply(papi, seal_id, "SH", 2)
    assert refused.status_code == 402 and refused.json()["code"] == "QUOTA_EXCEEDED"
    assert await SealUse.all().count() == 1
    assert await UsageEvent.filter(kind="signature.rsa").count() == 1
    whole = statement(papi).json()
    assert whole["total"] == 30 + 800 + 50 + 0  # three-factor unpriced
    assert {"kind": "identity.three_factor", "description": "unpriced", "quantity": 1,
            "unit_price": 0, "amount": 0} in whole["lines"]


async def test_an_overdraft_plan_allows_the_call_and_bills_the_overage(papi, market):
    put_plan(papi, {"identity.two_factor": {
        "package": {"included": 1, "fee": 500}, "overdraft": True,
        "tiers": [{"up_to": 1, "price": 40}, {"price": 35}]}})
    for person in (LI, WANG, {"name": "赵六", "id_number": "110101199003070011"}):
        response = verify(papi, **person)
        assert response.status_code == 200, response.text
    whole = statement(papi).json()
    assert [(line["description"], line["quantity"], line["amount"]) for line in whole["lines"]] \
        == [("monthly package (1 included)", 1, 500), ("included in package", 1, 0),
            ("overage 1-1", 1, 40), ("overage 2-", 1, 35)]
    assert whole["total"] == 575


async def test_a_package_is_billed_without_usage_and_plans_are_validated(papi):
    put_plan(papi, {"sms.sent": {"package": {"included": 100, "fee": 9900}}})
    assert papi.get("/api/v1/billing/plan").json()["items"]["sms.sent"]["package"]["fee"] == 9900
    assert statement(papi).json()["total"] == 9900
    for items in ({"nonsense.kind": {"unit_price": 1}},
                  {"sms.sent": {"tiers": [{"up_to": 5, "price": 1}]}},
                  {"sms.sent": {"tiers": [{"price": 1}, {"up_to": 5, "price": 1}]}},
                  {"sms.sent": {"unit_price": 1.5}}):
        response = papi.request("PUT", "/api/v1/billing/plan", json={"name": "x", "items": items})
        assert response.status_code == 422, (items, response.text)
    assert papi.get("/api/v1/billing/statements/2026-13").json()["code"] == "MONTH_INVALID"


def test_tiered_pricing_and_allocation_on_hand_checked_numbers():
    tiers = {"tiers": [{"up_to": 100, "price": 50}, {"up_to": 200, "price": 40}, {"price": 30}]}
    lines = billing.rate("sms.sent", 250, tiers)
    assert [(line["quantity"], line["amount"]) for line in lines] == [(100, 5000), (100, 4000),
                                                                      (50, 1500)]
    assert [line["amount"] for line in billing.rate("sms.sent", 80, tiers)] == [4000]
    assert billing._allocate(100, {"a": 1, "b": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}
    assert sum(billing._allocate(1001, {"a": 7, "b": 3, "c": 11}).values()) == 1001


async def test_platform_clearing_covers_every_tenant(db, tenant, other_tenant):
    from backend.services.metering import meter

    await meter("sms.sent", tenant_id=tenant.tenant_id, key="sms:t1", provider="aliyun_sms")
    await meter("sms.sent", tenant_id=other_tenant.tenant_id, key="sms:t2", provider="aliyun_sms")
    await meter("sms.sent", tenant_id=other_tenant.tenant_id, key="sms:t2", provider="aliyun_sms")
    await meter("signature.sm2", tenant_id=tenant.tenant_id, key="sig:1:sm2")
    report = await billing.clearing(None, current_month())
    assert report["providers"] == [{"provider": "aliyun_sms", "total": 8, "lines": [
        {"kind": "sms.sent", "quantity": 2, "unit_cost": 4, "cost": 8}]}]
    assert (await billing.clearing(tenant.tenant_id, current_month()))["total"] == 4


# ---------------------------------------------------------------------------------------------
# Hard quotas under concurrency, attribution, timestamps, frozen statements
# ---------------------------------------------------------------------------------------------
def id_number(n: int) -> str:
    """A valid GB 11643 number (ISO 7064 MOD 11-2 check character) for person ``n``."""
    body = f"110101199001{n % 28 + 1:02d}{n % 900 + 100:03d}"
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]
    return body + check


def concurrently(base_url: str, tenant, calls: list) -> list:
    """Run ``calls`` (each ``client -> response``) at once, one signed client per thread."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from backend.client import ApiClient

    barrier = threading.Barrier(len(calls))

    def run(call):
        with ApiClient(base_url, tenant.app_key, tenant.app_secret) as client:
            barrier.wait()
            return call(client)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


async def test_twenty_concurrent_identity_checks_at_the_last_units_pass_exactly_the_quota(
        papi, market, provider_server, tenant):
    from backend.models.billing import QuotaHold, UsageCounter

    put_plan(papi, {"identity.two_factor": {"unit_price": 30, "quota": 5}})
    for n in range(2):
        assert verify(papi, name="张三", id_number=id_number(n)).status_code == 200
    # a call whose provider fails gives its unit back
    market.scenario = "timeout"
    assert verify(papi, name="张三", id_number=id_number(50)).status_code >= 500
    market.scenario = "match"
    responses = concurrently(provider_server, tenant, [
        (lambda c, n=n: c.post("/api/v1/identity/persons/verify",
                               {"name": "李四", "id_number": id_number(100 + n)}))
        for n in range(20)])
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 3 + [402] * 17, [r.text for r in responses if r.status_code >= 500]
    assert {r.json()["code"] for r in responses if r.status_code == 402} == {"QUOTA_EXCEEDED"}
    assert await UsageEvent.filter(kind="identity.two_factor").count() == 5
    counter = await UsageCounter.get(tenant_id=tenant.tenant_id, kind="identity.two_factor")
    assert counter.used == 5 and await QuotaHold.all().count() == 0
    assert statement(papi).json()["total"] == 150


async def test_twenty_concurrent_sms_at_the_last_units_pass_exactly_the_package(
        papi, sms, run_jobs, provider_server, tenant):
    from backend.models.billing import QuotaHold

    put_plan(papi, {"sms.sent": {"package": {"included": 4, "fee": 800}}})
    assert papi.post("/api/v1/messages", SMS, idempotency_key="first").status_code == 202
    await run_jobs()
    responses = concurrently(provider_server, tenant, [
        (lambda c, n=n: c.post("/api/v1/messages",
                               {**SMS, "recipient": f"1380013{n:04d}", "unit_ref": "SH",
                                "business_line": "renewal"}, idempotency_key=f"k{n}"))
        for n in range(20)])
    assert sorted(r.status_code for r in responses) == [202] * 3 + [402] * 17
    # queued, not sent yet: the three hold the last units until they are sent
    assert await QuotaHold.filter(ref__startswith="sms:").count() == 3
    assert papi.post("/api/v1/messages", SMS, idempotency_key="late").status_code == 402
    await run_jobs()
    assert len(sms.accepted) == 4 and await QuotaHold.all().count() == 0
    usage = papi.get("/api/v1/billing/usage").json()
    assert usage["by_kind"] == {"sms.sent": 4}
    assert {(i["unit_ref"], i["business_line"]): i["quantity"] for i in usage["items"]} \
        == {("", ""): 1, ("SH", "renewal"): 3}
    # a failed SMS gives its unit back
    assert await OutboundMessage.filter(unit_ref="SH", business_line="renewal").count() == 3


async def test_a_failed_sms_releases_its_hold(papi, sms, run_jobs):
    from backend.models.billing import QuotaHold

    put_plan(papi, {"sms.sent": {"unit_price": 5, "quota": 1}})
    sms.scenario = "invalid_number"
    assert papi.post("/api/v1/messages", SMS, idempotency_key="x").status_code == 202
    assert await QuotaHold.all().count() == 1
    await run_jobs()
    message = await OutboundMessage.get(idempotency_key="x")
    assert message.status == "failed", message.last_error
    assert await QuotaHold.all().count() == 0
    sms.scenario = "ok"
    assert papi.post("/api/v1/messages", SMS, idempotency_key="y").status_code == 202


async def test_identity_checks_carry_the_unit_and_business_line(papi, market):
    response = verify(papi, **LI, unit_ref="GZ", business_line="claims")
    assert response.status_code == 200, response.text
    check = await IdentityCheck.get(id=response.json()["check_id"])
    assert (check.unit_ref, check.business_line) == ("GZ", "claims")
    event = await UsageEvent.get(key=f"idcheck:{check.id}")
    assert (event.unit_ref, event.business_line) == ("GZ", "claims")


async def test_the_billing_scope_and_envelope_attribution(db, tenant):
    import uuid

    from backend.services import metering

    assert await metering.envelope_attribution(tenant.tenant_id, "crm-ref-1") == ("", "")
    assert await metering.envelope_attribution(tenant.tenant_id, str(uuid.uuid4())) == ("", "")
    with metering.billing_scope("SZ", "bancassurance"):
        await metering.meter("identity.face", tenant_id=tenant.tenant_id, key="idcheck:x")
        await metering.meter("identity.face", tenant_id=tenant.tenant_id, key="idcheck:y",
                             unit_ref="HZ")
    event = await UsageEvent.get(key="idcheck:x")
    assert (event.unit_ref, event.business_line) == ("SZ", "bancassurance")
    assert (await UsageEvent.get(key="idcheck:y")).unit_ref == "HZ"


async def test_evidence_report_timestamps_are_metered_and_limited(fapi, tenant):
    from tests.backend.files_testkit import OP, fill, import_examples

    import_examples(fapi)
    doc = fill(fapi, "e_policy")
    fapi.request("PUT", "/api/v1/billing/plan",
                 json={"name": "x", "items": {"timestamp": {"unit_price": 10, "quota": 1}}})
    report = fapi.get(f"/api/v1/documents/{doc['id']}/evidence/report", headers=OP)
    assert report.status_code == 200, report.text
    event = await UsageEvent.get(kind="timestamp")
    assert event.key.startswith("tsa:") and len(event.key) == 4 + 64
    from backend.models.document import Document

    row = await Document.get(id=doc["id"])
    assert event.unit_ref == row.unit_ref and str(event.tenant_id) == str(tenant.tenant_id)
    refused = fapi.get(f"/api/v1/documents/{doc['id']}/evidence/report", headers=OP)
    assert refused.status_code == 402 and refused.json()["code"] == "QUOTA_EXCEEDED"
    assert await UsageEvent.filter(kind="timestamp").count() == 1


def previous_month() -> str:
    year, month = map(int, current_month().split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


async def test_a_closed_month_is_frozen_and_adds_up_exactly_to_its_events(db, tenant):
    from backend.errors import AppError

    month, tid = previous_month(), tenant.tenant_id
    await billing.put_plan(tid, name="标准版", currency="CNY", items=PLAN, provider_costs={})
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)
    events = [("signature.sm2", "SH", 7), ("signature.sm2", "BJ", 4), ("signature.rsa", "SH", 5),
              ("sms.sent", "", 9), ("sms.sent", "GZ", 2), ("identity.two_factor", "BJ", 3),
              ("timestamp", "SH", 6)]
    n = 0
    for kind, unit, count in events:
        for _ in range(count):
            n += 1
            await UsageEvent.create(tenant_id=tid, kind=kind, key=f"k{n}", unit_ref=unit,
                                    quantity=1, month=month, occurred_at=when)
    draft = await billing.statement(tid, month)
    assert draft["closed"] is False
    closed = await billing.close_month(tid, month)
    assert closed["already_closed"] is False and closed["usage_events"] == {"events": n,
                                                                            "quantity": n}
    whole = await billing.statement(tid, month)
    assert whole["closed"] is True and whole["sha256"] == draft["sha256"] == closed["sha256"]
    assert whole["total"] == sum(line["amount"] for line in whole["lines"])
    # every event is in exactly one quantity line (package fee lines count the month, not events)
    per_kind: dict[str, int] = {}
    for line in whole["lines"]:
        if not line["description"].startswith("monthly package"):
            per_kind[line["kind"]] = per_kind.get(line["kind"], 0) + line["quantity"]
    expected: dict[str, int] = {}
    for kind, _, count in events:
        expected[kind] = expected.get(kind, 0) + count
    assert per_kind == expected
    units = [await billing.statement(tid, month, u) for u in ("SH", "BJ", "GZ", "")]
    assert sum(u["total"] for u in units) == whole["total"]
    assert {s["unit_ref"] for s in closed["statements"]} == {"*", "SH", "BJ", "GZ", ""}
    assert whole["csv_sha256"] == billing.csv_digest(whole) == closed["csv_sha256"]
    # the plan changes: the issued statement does not
    await billing.put_plan(tid, name="涨价", currency="CNY",
                           items={"signature.sm2": {"unit_price": 999}}, provider_costs={})
    again = await billing.statement(tid, month)
    assert again == whole and again["plan"] == "标准版"
    assert again["plan_items"] == PLAN
    reclosed = await billing.close_month(tid, month)
    assert reclosed["already_closed"] is True and reclosed["sha256"] == whole["sha256"]
    assert reclosed["closed_at"] == closed["closed_at"]
    assert await Statement.filter(tenant_id=tid, month=month, closed_at__isnull=True).count() == 0
    with pytest.raises(AppError) as refused:
        await billing.close_month(tid, current_month())
    assert refused.value.code == "MONTH_OPEN" and refused.value.status == 409


async def test_concurrent_closes_issue_one_statement(db, tenant):
    import asyncio

    month, tid = previous_month(), tenant.tenant_id
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)
    await UsageEvent.create(tenant_id=tid, kind="sms.sent", key="c1", quantity=1, month=month,
                            occurred_at=when)
    results = await asyncio.gather(*(billing.close_month(tid, month) for _ in range(5)))
    assert len({r["closed_at"] for r in results}) == 1
    assert await Statement.filter(tenant_id=tid, month=month).count() == 2  # "*" and ""


def test_closing_over_the_api(papi):
    response = papi.post(f"/api/v1/billing/statements/{previous_month()}/close", {})
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 0
    assert papi.post(f"/api/v1/billing/statements/{previous_month()}/close", {}) \
        .json()["already_closed"] is True
    csv_response = papi.get(f"/api/v1/billing/statements/{previous_month()}",
                            params={"format": "csv"})
    assert csv_response.headers["x-statement-csv-sha256"] == response.json()["csv_sha256"]
    open_month = papi.post(f"/api/v1/billing/statements/{current_month()}/close", {})
    assert open_month.status_code == 409 and open_month.json()["code"] == "MONTH_OPEN"
