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
