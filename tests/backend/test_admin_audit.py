"""The audit administrator's operation-log query, export and chain verification; their own
reads are in the log too."""
from __future__ import annotations

import csv
import io
import json

import httpx

from backend import audit
from backend.models.audit import AuditEntry
from backend.models.org import Unit, User
from tests.backend.org_testkit import ORG_TENANT_ID, bearer


def get(server, path, session, **params) -> httpx.Response:
    return httpx.get(f"{server}/api/v1/admin{path}", params=params, headers=bearer(session),
                     timeout=30)


async def test_query_by_who_what_and_when(org_server, admins):
    auditor = admins["audit"]
    found = get(org_server, "/audit/entries", auditor, action="org").json()
    actions = {e["action"] for e in found["items"]}
    assert "org.sync" in actions and "org.unit.created" in actions
    assert all(a == "org" or a.startswith("org.") for a in actions)
    assert found["total"] == len(found["items"])
    sysadmin_id = admins["system"]["user"]["id"]
    mine = get(org_server, "/audit/entries", auditor, actor=f"user:{sysadmin_id}").json()
    assert [e["action"] for e in mine["items"]] == ["session.open"]
    assert get(org_server, "/audit/entries", auditor, action="admin.role.grant",
               limit=2).json()["total"] == 3
    page = get(org_server, "/audit/entries", auditor, action="admin.role.grant", limit=2,
               offset=2).json()
    assert len(page["items"]) == 1
    future = get(org_server, "/audit/entries", auditor, since="2999-01-01T00:00:00Z").json()
    assert future["items"] == [] and future["total"] == 0
    bad = get(org_server, "/audit/entries", auditor, since="yesterday")
    assert bad.status_code == 422 and bad.json()["code"] == "QUERY_INVALID"


async def test_query_by_unit_includes_the_units_below(org_server, admins, org_tenant):
    bj = await Unit.get(push_id="BJ")
    clerk = await User.get(push_id="E0004")  # in the BJ-HD sub-branch
    found = get(org_server, "/audit/entries", admins["audit"], unit=str(bj.id)).json()
    assert found["total"] >= 1
    assert {e["actor"] for e in found["items"] if e["actor"].startswith("user:")} == \
        {f"user:{clerk.id}"}
    targets = {e["target"] for e in found["items"] if e["target"].startswith("unit:")}
    assert f"unit:{bj.id}" in targets
    assert get(org_server, "/audit/entries", admins["audit"],
               unit="00000000-0000-4000-8000-000000000000").json()["total"] == 0


async def test_only_the_own_tenants_entries(org_server, admins, other_tenant):
    entries = get(org_server, "/audit/entries", admins["audit"], limit=500).json()["items"]
    assert await AuditEntry.filter(tenant_id=other_tenant.tenant_id).exists()
    assert entries and {e["tenant_id"] for e in entries} == {ORG_TENANT_ID}


async def test_the_auditors_own_reads_are_logged(org_server, admins):
    auditor_id = admins["audit"]["user"]["id"]
    get(org_server, "/audit/entries", admins["audit"], action="seal.")
    get(org_server, "/audit/export", admins["audit"], format="jsonl")
    get(org_server, "/audit/verify", admins["audit"])
    own = await AuditEntry.filter(actor=f"user:{auditor_id}").order_by("seq")
    assert [e.action for e in own] == ["session.open", "audit.query", "audit.export",
                                       "audit.verify"]
    assert own[1].details["filters"] == {"action": "seal."}
    assert own[2].details["format"] == "jsonl"


async def test_export_as_csv_and_json_lines(org_server, admins):
    csv_answer = get(org_server, "/audit/export", admins["audit"], action="org.unit")
    assert csv_answer.status_code == 200
    assert csv_answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_answer.text)))
    assert len(rows) == 4 == int(csv_answer.headers["x-export-rows"])
    assert [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)
    assert json.loads(rows[0]["details"])["source"] == "push"
    lines = get(org_server, "/audit/export", admins["audit"], format="jsonl",
                action="org.unit").text.splitlines()
    exported = [json.loads(line) for line in lines]
    assert [e["hash"] for e in exported] == [r["hash"] for r in rows]
    # the JSON-lines export re-verifies: each entry's hash chains from its prev_hash
    entry = exported[0]
    fields = {k: entry[k] for k in ("seq", "tenant_id", "actor", "action", "target", "result",
                                    "ip", "user_agent", "request_id", "details")}
    row = await AuditEntry.get(seq=entry["seq"])
    assert audit.chain_hash(entry["prev_hash"], audit._hashable_fields(row)) == entry["hash"]
    assert fields["action"] == row.action
    bad = get(org_server, "/audit/export", admins["audit"], format="xlsx")
    assert bad.status_code == 422


async def test_csv_cells_cannot_become_formulas(org_server, admins):
    await audit.record("test.formula", "=HYPERLINK(\"http://evil\")", tenant_id=ORG_TENANT_ID)
    rows = list(csv.DictReader(io.StringIO(get(org_server, "/audit/export", admins["audit"],
                                               action="test").text)))
    assert rows[0]["target"].startswith("'=")


async def test_verify_reports_the_chain(org_server, admins):
    report = get(org_server, "/audit/verify", admins["audit"]).json()
    assert report["ok"] is True and report["entries"] > 10 and report["broken_at"] is None
    victim = await AuditEntry.filter(action="org.sync").first()
    await AuditEntry.filter(id=victim.id).update(result="edited")
    broken = get(org_server, "/audit/verify", admins["audit"]).json()
    assert broken["ok"] is False and broken["broken_at"] == victim.seq
    assert "edited" in broken["reason"]


async def test_query_by_unit_finds_its_seals_and_business_ids(org_server, admins):
    from tests.backend.org_testkit import make_seal

    sh = await Unit.get(push_id="SH")
    seal = await make_seal(ORG_TENANT_ID, "SH", "上海分公司合同专用章")
    await audit.record("seal.use", f"seal:{seal.id}", actor="user:E0004", tenant_id=ORG_TENANT_ID)
    await audit.record("document.upload", "doc:1", actor="user:E0005", tenant_id=ORG_TENANT_ID)
    found = get(org_server, "/audit/entries", admins["audit"], unit=str(sh.id),
                action="seal.use").json()
    assert [e["target"] for e in found["items"]] == [f"seal:{seal.id}"]
    uploads = get(org_server, "/audit/entries", admins["audit"], unit=str(sh.id),
                  action="document").json()
    assert [e["actor"] for e in uploads["items"]] == ["user:E0005"]  # logged by business id
