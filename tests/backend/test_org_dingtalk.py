"""DingTalk contacts sync (through the fake DingTalk) and DingTalk mobile login."""
from __future__ import annotations

import httpx

from backend.jobs import sync_org as sync_job
from backend.jobs.registry import functions
from backend.models.org import Department, SyncRun, Unit, User
from backend.services.sync_dingtalk import sync_from_dingtalk
from tests.backend.org_testkit import bearer


async def test_first_import_is_full_and_maps_departments_to_units(org_tenant, org_runtime,
                                                                  dingtalk):
    run = await sync_from_dingtalk(org_runtime)  # mode auto
    assert (run.source, run.mode, run.trigger, run.status) == ("dingtalk", "full", "manual", "ok")
    assert run.counts["units"]["created"] == 4  # root + 2 branches + 1 sub-branch
    assert run.counts["departments"]["created"] == 2 and run.counts["users"]["created"] == 4
    kinds = {u.name: u.kind for u in await Unit.filter(tenant_id=org_tenant.tenant_id)}
    assert kinds == {"测试人寿保险股份有限公司": "hq", "北京分公司": "branch",
                     "海淀支公司": "sub_branch", "上海分公司": "branch"}
    hd = await Unit.get(dingtalk_id="3")
    assert (await Unit.get(id=hd.parent_id)).dingtalk_id == "2"
    sales = await Department.get(dingtalk_id="4")
    assert sales.unit_id == hd.id
    wang = await User.get(dingtalk_id="ding-wang")
    assert wang.unit_id == hd.id and wang.department_id == sales.id
    assert (await User.get(dingtalk_id="ding-zhang")).department_id == \
        (await Department.get(dingtalk_id="5")).id
    await org_runtime.close()


async def test_afterwards_incremental_then_the_daily_full_sync_disables_leavers(
        org_tenant, org_runtime, dingtalk):
    await sync_from_dingtalk(org_runtime)
    dingtalk.users["ding-li"]["name"] = "李娜娜"
    dingtalk.users["ding-new"] = {"name": "新人", "mobile": "13800000009", "dept_id_list": [6]}
    del dingtalk.users["ding-zhao"]
    incremental = await sync_from_dingtalk(org_runtime)
    assert incremental.mode == "incremental"
    assert incremental.counts["users"] == {"created": 1, "updated": 1, "disabled": 0,
                                           "unchanged": 2}
    assert (await User.get(dingtalk_id="ding-zhao")).status == "active"  # not a full sync
    daily = await sync_job.scheduled_dingtalk_sync({"runtime": org_runtime})
    run = await SyncRun.get(id=daily)
    assert (run.mode, run.trigger) == ("full", "schedule")
    assert run.counts["users"]["disabled"] == 1 and run.disabled == 1
    assert (await User.get(dingtalk_id="ding-zhao")).status == "disabled"
    await org_runtime.close()


async def test_dingtalk_users_link_to_pushed_users_by_mobile(org_tenant, org_runtime, dingtalk,
                                                            pushed_org):
    dingtalk.users["ding-e4"] = {"name": "业务员丁", "mobile": "13900000004", "dept_id_list": [4]}
    run = await sync_from_dingtalk(org_runtime, mode="incremental")
    assert run.counts["users"]["created"] == 4 and run.counts["users"]["updated"] == 1
    linked = await User.get(dingtalk_id="ding-e4")
    assert linked.push_id == "E0004"  # one person, two source ids
    await org_runtime.close()


def test_the_job_is_registered_and_scheduled_daily(org_settings):
    assert "sync_dingtalk_org" in functions()
    daily, purge = sync_job.cron_jobs(org_settings)
    assert daily.cron == "0 2 * * *" and daily.function is sync_job.scheduled_dingtalk_sync
    assert purge.function is sync_job.purge_used_tickets


async def test_the_schedule_does_nothing_without_dingtalk(runtime):
    assert await sync_job.scheduled_dingtalk_sync({"runtime": runtime}) == "skipped"


async def test_manual_trigger_by_the_system_administrator(org_server, admins, dingtalk):
    answer = httpx.post(f"{org_server}/api/v1/admin/org/dingtalk-sync", json={"mode": "auto"},
                        headers=bearer(admins["system"]), timeout=30)
    assert answer.status_code == 201, answer.text
    report = answer.json()
    assert (report["source"], report["mode"], report["trigger"]) == ("dingtalk", "full", "manual")
    # the pushed users with the same mobiles are not DingTalk's: 4 new ones
    assert report["counts"]["users"]["created"] == 4
    runs = httpx.get(f"{org_server}/api/v1/admin/org/sync-runs",
                     headers=bearer(admins["system"])).json()["items"]
    assert [r["source"] for r in runs] == ["dingtalk", "push"]


async def test_dingtalk_errors_are_reported(org_tenant, org_runtime, dingtalk):
    import pytest

    from backend.adapters.dingtalk_contacts import DingTalkError, DingTalkUnavailable

    dingtalk.scenario = "error_500"
    with pytest.raises(DingTalkUnavailable):
        await sync_from_dingtalk(org_runtime)
    dingtalk.scenario = "token_invalid"
    with pytest.raises(DingTalkError):
        await sync_from_dingtalk(org_runtime)
    dingtalk.scenario = "ok"
    dingtalk.script("token_expired_once")  # the adapter fetches a new token once
    assert (await sync_from_dingtalk(org_runtime)).status == "ok"
    assert not await SyncRun.filter(status="running").exists()  # failures rolled back
    await org_runtime.close()


async def test_dingtalk_mobile_login(org_server, org_tenant, dingtalk, org_runtime):
    await sync_from_dingtalk(org_runtime)
    await org_runtime.close()
    dingtalk.login_codes["auth-code-1"] = "ding-wang"
    answer = httpx.post(f"{org_server}/sso/dingtalk", json={"code": "auth-code-1"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["via"] == "dingtalk" and answer.json()["user"]["name"] == "王芳"
    reused = httpx.post(f"{org_server}/sso/dingtalk", json={"code": "auth-code-1"})
    assert reused.status_code == 401 and reused.json()["code"] == "DINGTALK_CODE_REJECTED"
    dingtalk.login_codes["auth-code-2"] = "ding-stranger"
    stranger = httpx.post(f"{org_server}/sso/dingtalk", json={"code": "auth-code-2"})
    assert stranger.status_code == 401 and stranger.json()["code"] == "SSO_USER_UNKNOWN"

