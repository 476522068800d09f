"""Monitoring: Prometheus /metrics on the real server (requests, signatures, queue depth,
certificate expiry), job and provider metrics of a worker run, METRICS_TOKEN, and the
certificate self-check /healthz/certificates."""
from __future__ import annotations

import dataclasses

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.backend.test_seals import COMPANY, OP, active_seal, apply, blank_pdf_with, grant
from tests.backend.test_seals import security_admins  # noqa: F401 - fixture (seal admins)
from tests.conftest import free_port, start_server, stop_server


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(metrics: dict, name: str, **labels) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


def scrape(base_url: str, **headers) -> dict:
    response = httpx.get(f"{base_url}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def test_requests_are_counted_per_route_with_latency(api, server):
    before = scrape(server)
    for _ in range(3):
        assert api.get("/api/v1/whoami").status_code == 200
    assert httpx.get(f"{server}/api/v1/whoami").status_code == 401
    httpx.get(f"{server}/no/such/page")
    after = scrape(server)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("esign_http_requests_total", route="whoami.whoami", method="GET", status="200") == 3
    assert delta("esign_http_requests_total", route="whoami.whoami", method="GET", status="401") == 1
    assert delta("esign_http_requests_total", route="unmatched", method="GET", status="404") >= 1
    assert delta("esign_http_request_duration_seconds_count", route="whoami.whoami", method="GET") == 4
    assert value(after, "esign_http_request_duration_seconds_bucket", route="whoami.whoami",
                 method="GET", le="+Inf") >= 4
    assert value(after, "esign_http_request_duration_seconds_sum", route="whoami.whoami",
                 method="GET") > 0


def test_the_database_pool_and_queue_depth_are_exposed(api, server):
    api.get("/api/v1/whoami")
    metrics = scrape(server)
    assert value(metrics, "esign_db_pool_max", connection="default") == 10
    assert value(metrics, "esign_db_pool_size", connection="default") >= 1
    assert ("esign_job_queue_depth", frozenset({("state", "queued")})) in metrics


def test_signatures_are_counted_by_algorithm(api, server):
    api.post("/api/v1/certificates", {"company_name": COMPANY, "algorithm": "dual"}, headers=OP)
    seal = active_seal(api)
    grant(api, seal["id"])
    before = scrape(server)
    response = apply(api, seal["id"], blank_pdf_with("Insurer seal"))
    assert response.status_code == 201, response.text
    after = scrape(server)
    for alg in ("sm2", "rsa"):
        assert value(after, "esign_signatures_total", alg=alg) - \
            value(before, "esign_signatures_total", alg=alg) == 1


def test_certificates_nearing_expiry_are_reported(api, server):
    bound = api.post("/api/v1/certificates", {"company_name": COMPANY, "algorithm": "sm2"},
                     headers=OP).json()
    metrics = scrape(server)
    company = [(labels, v) for (name, labels), v in metrics.items()
               if name == "esign_certificate_expiry_seconds" and ("kind", "company") in labels
               and ("id", f"binding:{bound['id']}:sm2") in labels]
    (labels, seconds), = company
    assert ("subject", COMPANY) in labels and 2 * 365 * 86400 < seconds < 3 * 366 * 86400
    kinds = {dict(labels)["kind"] for (name, labels) in metrics
             if name == "esign_certificate_expiry_seconds"}
    assert {"platform_root", "platform_issuing", "seal_maker", "company"} <= kinds

    report = httpx.get(f"{server}/healthz/certificates").json()
    assert report["status"] == "ok" and report["warning_days"] == 30
    mine = [c for c in report["certificates"] if c["id"] == f"binding:{bound['id']}:sm2"]
    assert mine[0]["status"] == "ok" and mine[0]["days_left"] > 700


async def test_the_warning_threshold_and_extra_certificate_files(db, tmp_path):
    import datetime as dt

    from backend.cert_check import certificate_report
    from backend.runtime import Runtime
    from sign.certs import create_hierarchy
    from sign.certs.pem import dump_certificates

    hierarchy = create_hierarchy("sm2", org="测试时间戳服务")
    pem = tmp_path / "tsa.pem"
    pem.write_bytes(dump_certificates([hierarchy.issuing.cert]))
    settings = dataclasses.replace(db, cert_expiry_warning_days=3700, cert_check_files=str(pem))
    report = await certificate_report(Runtime.from_settings(settings))
    by_id = {c["id"]: c for c in report["certificates"]}
    assert by_id["platform:seal_maker"]["status"] == "warning"  # 10 years < 3700 days
    assert by_id["platform:sm2:root"]["status"] == "ok"
    assert by_id[f"file:{pem}#0"]["alg"] == "sm2"
    assert report["status"] == "warning"
    assert dt.datetime.fromisoformat(by_id["platform:sm2:root"]["not_after"]).year > 2040


def test_metrics_token_is_enforced(test_env, tmp_path):
    proc, base_url = start_server({**test_env, "METRICS_TOKEN": "s3cret-scrape-token"},
                                  tmp_path / "server.log")
    try:
        for path in ("/metrics", "/healthz/certificates"):
            refused = httpx.get(f"{base_url}{path}")
            assert refused.status_code == 401 and refused.json()["code"] == "METRICS_TOKEN_INVALID"
            wrong = httpx.get(f"{base_url}{path}", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            ok = httpx.get(f"{base_url}{path}",
                           headers={"Authorization": "Bearer s3cret-scrape-token"})
            assert ok.status_code == 200
        assert httpx.get(f"{base_url}/healthz").status_code == 200  # liveness stays open
    finally:
        stop_server(proc)


async def test_a_worker_run_records_job_and_provider_metrics(papi, provider_server, sms, run_jobs):
    from backend import metrics

    before = samples(metrics.render().decode())
    queued = papi.post("/api/v1/messages", {
        "channel": "sms", "recipient": "13800138000", "template": "SIGN_LINK",
        "params": {"name": "张三", "doc_title": "投保单", "url": "https://e.example.com/s/x"}})
    assert queued.status_code == 202, queued.text
    assert value(scrape(provider_server), "esign_job_queue_depth", state="queued") >= 1
    await run_jobs()
    assert value(scrape(provider_server), "esign_job_queue_depth", state="queued") == 0
    after = samples(metrics.render().decode())

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("esign_job_runs_total", function="deliver_message", outcome="complete") == 1
    assert delta("esign_job_duration_seconds_count", function="deliver_message") >= 1
    assert delta("esign_job_queue_wait_seconds_count", function="deliver_message") >= 1
    assert delta("esign_provider_calls_total", provider="notify:sms", operation="send",
                 outcome="ok") == 1
    assert delta("esign_provider_call_duration_seconds_count", provider="notify:sms",
                 operation="send") == 1


async def test_provider_failures_are_counted_and_raised():
    from backend import metrics

    class Flaky:
        name = "flaky"

        async def send(self, message):
            raise TimeoutError("provider timed out")

        def recent(self, n):
            return ["kept"]

    proxy = metrics.instrumented(Flaky(), "notify:test")
    assert proxy.recent(1) == ["kept"] and proxy.name == "flaky"
    assert metrics.instrumented(proxy, "again") is proxy
    before = metrics.PROVIDER_CALLS.labels("notify:test", "send", "error")._value.get()
    with pytest.raises(TimeoutError):
        await proxy.send(object())
    assert metrics.PROVIDER_CALLS.labels("notify:test", "send", "error")._value.get() == before + 1


def test_a_job_worker_serves_its_own_metrics():
    from backend import metrics

    port = free_port()
    metrics.start_http_exporter(port, addr="127.0.0.1")
    metrics.JOB_RUNS.labels("probe", "complete").inc()
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert value(samples(text), "esign_job_runs_total", function="probe", outcome="complete") >= 1


def test_alert_rules_and_dashboard_use_only_metrics_that_exist():
    import datetime as dt
    import re

    from backend import metrics
    from backend.cert_check import CertExpiry
    from tests.conftest import ROOT

    snapshot = metrics.Snapshot(
        queue={"queued": 0}, inprocess_jobs=0, pools={"default": {"size": 1, "in_use": 0, "max": 1}},
        certificates=[CertExpiry("company", "sm2", "x", "id", dt.datetime.now(dt.timezone.utc))])
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    exposed = {family.name + suffix
               for family in [*metrics.REGISTRY.collect(), *snapshot.collect()]
               for suffix in suffixes[family.type]}
    for doc in ("deploy/alerts.yml", "deploy/dashboard.md"):
        used = set(re.findall(r"\besign_[a-z0-9_]+", (ROOT / doc).read_text()))
        assert used and used <= exposed, (doc, used - exposed)
