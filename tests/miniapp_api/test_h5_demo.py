"""The zero-setup demo (./scripts/run.sh: SQLite, no Redis, DEMO_DATA) prints a signing link
that a person can walk to the end: local identity provider, clauses, SMS code read from
/demo/messages, handwriting, a verifying PDF; a restart prints a fresh link."""
from __future__ import annotations

import re
import time

import httpx

from sign.verify import verify
from tests.backend.envelope_testkit import strokes
from tests.conftest import start_server, stop_server

LINK = re.compile(r"\[demo\] H5 signing link .*?: (http://\S+/s/[A-Za-z0-9_-]+)")


def _code(url: str) -> str:
    for _ in range(100):  # jobs run in-process; the local channel shows the SMS
        found = re.findall(r"验证码为(\d{6})", httpx.get(f"{url}/demo/messages").text)
        if found:
            return found[0]  # newest first
        time.sleep(0.1)
    raise AssertionError("the demo SMS code never appeared on /demo/messages")


def test_the_demo_prints_a_link_a_person_can_complete(tmp_path):
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite://{tmp_path}/app.sqlite3",
           "REDIS_URL": "", "DEMO_DATA": "true", "SEAL_ADMIN_CHECK": "false",
           "LOG_JSON": "false", "ENV": "development"}
    proc, url = start_server(env, tmp_path / "log", timeout=120)  # first start: keys, templates
    try:
        printed = (tmp_path / "log").read_text()
        link = LINK.search(printed).group(1)
        assert link.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url, timeout=60) as phone:
            opened = phone.get("/" + link.split("/", 3)[3], follow_redirects=False)
            assert opened.status_code == 302
            page = phone.get(opened.headers["location"])
            assert page.status_code == 200 and "身份核验" in page.text
            api = opened.headers["location"].replace("/h5/links/", "/h5/api/links/") \
                .removesuffix("/start")
            assert phone.post(f"{api}/identity", json={}).json()["identity_checked"] is True
            state = phone.get(f"{api}/state").json()
            assert state["signer"]["intent_method"] == "sms" and state["changes"]
            for clause in state["clauses"]:
                acked = phone.post(f"{api}/clauses/{clause['id']}/ack", json={"shown_seconds": 4})
                assert acked.status_code == 200, acked.text
            started = phone.post(f"{api}/intent", json={})
            assert started.status_code == 201, started.text
            confirmed = phone.post(f"{api}/intent/confirm",
                                   json={"intent_id": started.json()["id"], "code": _code(url)})
            assert confirmed.status_code == 200, confirmed.text
            signed = phone.post(f"{api}/sign", json={"intent_id": started.json()["id"],
                                                     "strokes": strokes()})
            assert signed.status_code == 201, signed.text
            pdf = phone.get(signed.json()["download_url"]).content
        report = verify(pdf)
        assert len(report.signatures) == 1
        assert all(s.intact and s.crypto_valid for s in report.signatures)
    finally:
        stop_server(proc)
    assert "Traceback" not in (tmp_path / "log").read_text()
    proc, url = start_server(env, tmp_path / "log2", timeout=120)  # restart: the next demo envelope's link
    try:
        again = LINK.search((tmp_path / "log2").read_text()).group(1)
        assert again != link
        assert httpx.get(again, follow_redirects=False).status_code == 302
    finally:
        stop_server(proc)
