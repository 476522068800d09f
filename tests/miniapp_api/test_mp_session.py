"""The WeChat mini-program entry point end to end, against a fake WeChat API: login
(code2session + the phone number from getPhoneNumber), the person's own envelopes only, and a
signing link from the listing that walks the H5 flow to a signature that verifies."""
from __future__ import annotations

import json
import re

import httpx
import pytest

from sign.verify import verify
from tests.backend.envelope_testkit import PASSWORD, person, set_password, signer_of, strokes
from tests.conftest import start_server, stop_server
from tests.fakes.wechat_mini import FakeWeChatMini
from tests.miniapp_api.h5_testkit import CLAUSES, Phone, expect, issue_envelope

ZHANG, LI = 401, 402  # id/mobile serials of the two persons (mobile 139000004xx)


def mobile(serial: int) -> str:
    return f"139{serial:08d}"


@pytest.fixture(scope="module")
def wechat():
    fake = FakeWeChatMini()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def mp_server(prepared_database, test_env, tmp_path_factory, wechat):
    """The app with the mini-program's WeChat credentials pointing at the fake."""
    env = {**test_env, "SEAL_ADMIN_CHECK": "false", "WECHAT_APP_ID": wechat.app_id,
           "WECHAT_APP_SECRET": wechat.app_secret, "WECHAT_API_BASE": wechat.url,
           "NOTIFY_TIMEOUT_SECONDS": "1", "WECHAT_MINI_SESSION_SECONDS": "600"}
    proc, base_url = start_server(env, tmp_path_factory.mktemp("logs") / "mp_server.log")
    yield base_url
    stop_server(proc)


@pytest.fixture
def mapi(mp_server, tenant):
    from backend.client import ApiClient

    with ApiClient(mp_server, tenant.app_key, tenant.app_secret) as client:
        yield client


class MiniProgram:
    """What the mini-program does: wx.login + getPhoneNumber, then calls /mp with the token."""

    def __init__(self, server: str, wechat: FakeWeChatMini, tenant_id: str) -> None:
        self.server, self.wechat, self.tenant_id = server, wechat, tenant_id
        self.client = httpx.Client(base_url=server, timeout=60)
        self.token: str | None = None

    def login(self, openid: str, phone: str | None = None, **extra) -> httpx.Response:
        code = self.wechat.issue_code(openid)
        body = {"code": code, "tenant": self.tenant_id, **extra}
        if phone:
            data, iv = self.wechat.encrypt_phone(self.wechat.codes[code]["session_key"], phone)
            body.update(encrypted_data=data, iv=iv)
        response = self.client.post("/mp/session", json=body)
        if response.status_code == 201:
            self.token = response.json()["token"]
        return response

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path, headers=self.headers())

    def post(self, path: str, body: dict | None = None) -> httpx.Response:
        return self.client.post(path, json=body or {}, headers=self.headers())


def _envelopes(mapi) -> dict[str, dict]:
    """Three envelopes: 张伟's own, 李娜's own, and one where 李娜 signs first, then 张伟."""
    return {
        "zhang": issue_envelope(mapi, business_no="MP-0001",
                                signers=[person("policyholder", "张伟", ZHANG)]),
        "li": issue_envelope(mapi, business_no="MP-0002",
                             signers=[person("policyholder", "李娜", LI)]),
        "both": issue_envelope(mapi, business_no="MP-0003",
                               signers=[person("policyholder", "李娜", LI),
                                        person("insured", "张伟", ZHANG, stage=2)])}


async def test_a_person_sees_only_their_envelopes_and_signs_from_the_listing(
        mapi, mp_server, wechat, tenant):
    made = _envelopes(mapi)
    zhang = MiniProgram(mp_server, wechat, tenant.tenant_id)
    opened = expect(zhang.login("o-zhang", mobile(ZHANG)), 201)
    assert opened["token"].startswith("mps_") and opened["token_type"] == "Bearer"
    assert opened["mobile"] == "139****0401" and opened["openid"] == "o-zhang"
    assert mobile(ZHANG) not in json.dumps(opened)
    assert expect(zhang.get("/mp/session"), 200)["mobile"] == "139****0401"

    items = expect(zhang.get("/mp/envelopes"), 200)["items"]
    assert {i["id"] for i in items} == {made["zhang"]["id"], made["both"]["id"]}
    by_id = {i["id"]: i for i in items}
    own = by_id[made["zhang"]["id"]]
    assert own["title"] == made["zhang"]["title"] and own["status"] == "sent"
    assert own["my_turn"] is True
    assert [(s["role"], s["status"]) for s in own["my_signers"]] == [("policyholder", "ready")]
    assert own["waiting_for"] == [{"role": "policyholder", "kind": "person", "name": "张*",
                                   "stage": 1, "mine": True}]
    later = by_id[made["both"]["id"]]
    assert later["my_turn"] is False
    assert [(s["role"], s["status"]) for s in later["my_signers"]] == [("insured", "waiting")]
    assert later["waiting_for"] == [{"role": "policyholder", "kind": "person", "name": "李*",
                                     "stage": 1, "mine": False}]
    assert "李娜" not in json.dumps(items)  # names are masked

    detail = expect(zhang.get(f"/mp/envelopes/{made['both']['id']}"), 200)
    assert [(s["role"], s["status"], s["mine"]) for s in detail["signers"]] == [
        ("policyholder", "ready", False), ("insured", "waiting", True)]
    assert detail["clause_count"] == len(CLAUSES) and detail["changes"][0]["new"] == "20000"

    # 李娜's envelope is not there for 张伟, exactly like a missing one
    for path in (f"/mp/envelopes/{made['li']['id']}", "/mp/envelopes/not-a-uuid",
                 "/mp/envelopes/00000000-0000-0000-0000-000000000000"):
        expect(zhang.get(path), 404, "ENVELOPE_NOT_FOUND")
    expect(zhang.post(f"/mp/envelopes/{made['li']['id']}/link"), 404, "ENVELOPE_NOT_FOUND")
    # nor 李娜's signer of the shared envelope
    li_signer = signer_of(made["both"], "policyholder")
    expect(zhang.post(f"/mp/envelopes/{made['both']['id']}/link",
                      {"signer_id": li_signer["id"]}), 404, "SIGNER_NOT_FOUND")

    # 李娜 sees her two
    li = MiniProgram(mp_server, wechat, tenant.tenant_id)
    expect(li.login("o-li", mobile(LI)), 201)
    assert {i["id"] for i in expect(li.get("/mp/envelopes"), 200)["items"]} == {
        made["li"]["id"], made["both"]["id"]}

    # 张伟 opens his envelope from the listing: the link leads into the H5 flow
    link = expect(zhang.post(f"/mp/envelopes/{made['zhang']['id']}/link"), 201)
    signer = signer_of(made["zhang"], "policyholder")
    assert link["signer_id"] == signer["id"] and link["envelope_id"] == made["zhang"]["id"]
    token = re.fullmatch(r"/s/([A-Za-z0-9_-]+)", link["path"]).group(1)
    assert link["url"].endswith(link["path"])
    set_password(mapi, signer)
    phone = Phone(mp_server, {"id": link["link_id"], "token": token})
    assert expect(phone.get("/state"), 200)["step"] == "identity"
    expect(phone.post("/identity"), 200)
    for clause in CLAUSES:
        expect(phone.post(f"/clauses/{clause['id']}/ack", {"shown_seconds": 4.0}), 200)
    started = expect(phone.post("/intent"), 201)
    expect(phone.post("/intent/confirm", {"intent_id": started["id"], "password": PASSWORD}), 200)
    done = expect(phone.post("/sign", {"intent_id": started["id"], "strokes": strokes()}), 201)
    assert done["signer_status"] == "signed" and done["envelope_status"] == "completed"
    pdf = phone.client.get(done["download_url"])
    assert pdf.status_code == 200
    report = verify(pdf.content)
    assert len(report.signatures) == 1
    assert all(s.intact and s.crypto_valid for s in report.signatures)
    phone.close()

    after = {i["id"]: i for i in expect(zhang.get("/mp/envelopes"), 200)["items"]}
    signed = after[made["zhang"]["id"]]
    assert signed["status"] == "completed" and signed["my_turn"] is False
    assert signed["my_signers"][0]["status"] == "signed" and signed["waiting_for"] == []
    assert signed["my_signers"][0]["signed_at"]


async def test_a_new_link_from_the_mini_program_revokes_the_previous_one(mapi, mp_server,
                                                                         wechat, tenant):
    envelope = issue_envelope(mapi, signers=[person("policyholder", "张伟", ZHANG)])
    zhang = MiniProgram(mp_server, wechat, tenant.tenant_id)
    expect(zhang.login("o-zhang", mobile(ZHANG)), 201)
    first = expect(zhang.post(f"/mp/envelopes/{envelope['id']}/link"), 201)
    phone = Phone(mp_server, {"id": first["link_id"], "token": first["path"][3:]})
    expect(phone.get("/state"), 200)
    expect(zhang.post(f"/mp/envelopes/{envelope['id']}/link"), 201)
    expect(phone.get("/state"), 410, "LINK_REVOKED")
    phone.close()


async def test_sessions_login_errors_and_the_bound_phone(mp_server, wechat, tenant, runtime):
    from miniapp_api import mp_session

    mp = MiniProgram(mp_server, wechat, tenant.tenant_id)
    # no session, a forged one
    expect(mp.get("/mp/envelopes"), 401, "MP_SESSION_REQUIRED")
    mp.token = "mps_" + "x" * 43
    expect(mp.get("/mp/envelopes"), 401, "MP_SESSION_INVALID")
    expect(mp.get("/mp/envelopes/00000000-0000-0000-0000-000000000000"), 401,
           "MP_SESSION_INVALID")
    mp.token = "ses_not-a-mini-program-token"
    expect(mp.get("/mp/envelopes"), 401, "MP_SESSION_INVALID")
    mp.token = None

    # a first login without the phone: the WeChat account is not bound yet
    expect(mp.login("o-wang"), 401, "WECHAT_PHONE_REQUIRED")
    # unknown, reused code; phone data of another app; half the phone data
    expect(mp.client.post("/mp/session", json={"code": "never-issued", "tenant": tenant.tenant_id}),
           401, "WECHAT_CODE_INVALID")
    code = wechat.issue_code("o-wang")
    data, iv = wechat.encrypt_phone(wechat.codes[code]["session_key"], "13900000403",
                                    app_id="wx-other")
    expect(mp.client.post("/mp/session", json={"code": code, "tenant": tenant.tenant_id,
                                               "encrypted_data": data, "iv": iv}),
           422, "WECHAT_PHONE_DATA_INVALID")
    expect(mp.client.post("/mp/session", json={"code": code, "tenant": tenant.tenant_id}),
           401, "WECHAT_CODE_INVALID")
    expect(mp.login("o-wang", encrypted_data="abc"), 422, "WECHAT_PHONE_DATA_INVALID")
    expect(mp.client.post("/mp/session", json={"code": "c"}), 422, "MP_TENANT_REQUIRED")
    expect(mp.client.post("/mp/session", json={"code": "c", "tenant": "nope"}), 404,
           "TENANT_NOT_FOUND")
    expect(mp.client.post("/mp/session", json={"code": "c", "tenant": tenant.tenant_id,
                                               "extra": 1}), 422, "VALIDATION_FAILED")

    # bind the phone once; afterwards wx.login's code alone opens a session
    first = expect(mp.login("o-wang", "13900000403"), 201)
    second = expect(mp.login("o-wang"), 201)
    assert second["mobile"] == first["mobile"] == "139****0403"
    assert second["token"] != first["token"]
    assert expect(mp.get("/mp/envelopes"), 200) == {"items": []}  # no envelopes yet

    # the token lives in the cache with the session's TTL, as its hash only
    key = mp_session._session_key(second["token"])
    assert await runtime.cache.get(key) is not None
    assert second["token"] not in (await runtime.cache.get(key)).decode()
    import redis.asyncio as redis_asyncio
    client = redis_asyncio.from_url(runtime.settings.redis_url)
    assert 0 < await client.ttl("esign:" + key) <= 600
    await client.aclose()
    # expired (the cache dropped it): 401 with the same code
    await runtime.cache.delete(key)
    expect(mp.get("/mp/envelopes"), 401, "MP_SESSION_INVALID")

    # the newer getPhoneNumber hands a one-time code instead of encrypted data
    by_code = expect(mp.login("o-zhao", phone_code=wechat.issue_phone_code("13900000404")), 201)
    assert by_code["mobile"] == "139****0404"
    expect(mp.login("o-zhao", phone_code="ph-never-issued"), 422, "WECHAT_PHONE_DATA_INVALID")
    expect(mp.login("o-zhao", "13900000404", phone_code=wechat.issue_phone_code("13900000404")),
           422, "WECHAT_PHONE_DATA_INVALID")

    # logout ends the first session
    mp.token = first["token"]
    expect(mp.get("/mp/session"), 200)
    assert mp.client.delete("/mp/session", headers=mp.headers()).status_code == 200
    expect(mp.get("/mp/session"), 401, "MP_SESSION_INVALID")


async def test_another_tenants_envelopes_stay_out_of_sight(mapi, mp_server, wechat, tenant,
                                                           other_tenant):
    from backend.client import ApiClient

    with ApiClient(mp_server, other_tenant.app_key, other_tenant.app_secret) as other:
        theirs = issue_envelope(other, business_no="MP-OTHER",
                                signers=[person("policyholder", "张伟", ZHANG)])
    mine = issue_envelope(mapi, business_no="MP-MINE",
                          signers=[person("policyholder", "张伟", ZHANG)])
    zhang = MiniProgram(mp_server, wechat, tenant.tenant_id)
    expect(zhang.login("o-zhang", mobile(ZHANG)), 201)
    assert [i["id"] for i in expect(zhang.get("/mp/envelopes"), 200)["items"]] == [mine["id"]]
    expect(zhang.get(f"/mp/envelopes/{theirs['id']}"), 404, "ENVELOPE_NOT_FOUND")
    # the same WeChat account in the other tenant's mini-program is bound separately
    there = MiniProgram(mp_server, wechat, other_tenant.tenant_id)
    expect(there.login("o-zhang"), 401, "WECHAT_PHONE_REQUIRED")
    expect(there.login("o-zhang", mobile(ZHANG)), 201)
    assert [i["id"] for i in expect(there.get("/mp/envelopes"), 200)["items"]] == [theirs["id"]]


async def test_a_pinned_tenant_and_an_unconfigured_mini_program(db, test_settings, tenant,
                                                                other_tenant, wechat, files_server):
    import dataclasses

    from backend.runtime import Runtime
    from miniapp_api import mp_session

    env = {"WECHAT_APP_ID": wechat.app_id, "WECHAT_APP_SECRET": wechat.app_secret,
           "WECHAT_API_BASE": wechat.url, "NOTIFY_TIMEOUT_SECONDS": "1"}
    pinned = Runtime.from_settings(
        dataclasses.replace(test_settings, wechat_mini_tenant_id=tenant.tenant_id), environ=env)
    try:
        code = wechat.issue_code("o-pinned")
        data, iv = wechat.encrypt_phone(wechat.codes[code]["session_key"], mobile(ZHANG))
        _, session = await mp_session.login(pinned, code, encrypted_data=data, iv=iv)
        assert session.tenant_id == tenant.tenant_id
        with pytest.raises(mp_session.MpTenantNotFound):
            await mp_session.login(pinned, wechat.issue_code("o-pinned"),
                                   tenant=other_tenant.tenant_id)
    finally:
        await pinned.close()
    # a server without WECHAT_APP_ID / WECHAT_APP_SECRET
    response = httpx.post(f"{files_server}/mp/session",
                          json={"code": "c", "tenant": tenant.tenant_id})
    expect(response, 503, "WECHAT_NOT_CONFIGURED")
