"""Messages: queued rows, delivered by the SAQ worker through the real Aliyun adapter (fake
server), every attempt logged, retries only on retryable errors, never sent twice."""
from __future__ import annotations

import json
import re

import httpx

from backend.models.identity import IntentChallenge
from backend.models.message import DeliveryAttempt, OutboundMessage
from backend.services.messages import enqueue_delivery

LINK_SMS = {"channel": "sms", "recipient": "13800138000", "template": "SIGN_LINK",
            "params": {"name": "张三", "doc_title": "个人意外险投保单", "url": "https://e.example.com/s/x"}}


def queue(papi, key: str | None = None, **overrides):
    response = papi.post("/api/v1/messages", {**LINK_SMS, **overrides}, idempotency_key=key)
    assert response.status_code == 202, response.text
    return response.json()


async def test_a_message_is_queued_then_sent_with_its_attempt_logged(papi, sms, run_jobs):
    queued = queue(papi)
    assert queued["status"] == "queued" and queued["recipient"] == "138****8000"
    await run_jobs()
    log = papi.get(f"/api/v1/messages/{queued['id']}").json()
    assert log["status"] == "sent" and log["provider_message_id"].endswith("^0")
    assert [a["outcome"] for a in log["attempt_log"]] == ["sent"]
    (accepted,) = sms.accepted
    assert accepted["PhoneNumbers"] == "13800138000" and accepted["TemplateCode"] == "SMS_100001"
    assert json.loads(accepted["TemplateParam"])["doc_title"] == "个人意外险投保单"
    assert accepted["OutId"] == queued["id"]
    row = await OutboundMessage.get(id=queued["id"])
    assert "13800138000" not in row.recipient_enc and "张三" not in row.params_enc


async def test_a_retried_request_and_a_repeated_job_send_once(papi, sms, run_jobs, provider_runtime):
    first, again = queue(papi, key="notice-1"), queue(papi, key="notice-1")
    assert first["id"] == again["id"]
    await run_jobs()
    await enqueue_delivery(provider_runtime, await OutboundMessage.get(id=first["id"]))
    await run_jobs()
    assert len(sms.accepted) == 1
    assert await DeliveryAttempt.filter(message_id=first["id"]).count() == 1


async def test_an_invalid_number_fails_at_once(papi, sms, run_jobs):
    sms.scenario = "invalid_number"
    queued = queue(papi)
    await run_jobs()
    log = papi.get(f"/api/v1/messages/{queued['id']}").json()
    assert log["status"] == "failed" and log["attempts"] == 1
    assert log["attempt_log"][0]["error_code"] == "INVALID_RECIPIENT"


async def test_throttling_and_timeouts_are_retried(papi, sms, run_jobs):
    sms.script("throttled", "slow")
    queued = queue(papi)
    await run_jobs()
    log = papi.get(f"/api/v1/messages/{queued['id']}").json()
    assert log["status"] == "sent"
    assert [a["outcome"] for a in log["attempt_log"]] == ["retry", "retry", "sent"]
    assert [a["error_code"] for a in log["attempt_log"][:2]] == ["CHANNEL_THROTTLED", "CHANNEL_TIMEOUT"]


async def test_retries_stop_after_the_last_attempt(papi, sms, run_jobs):
    sms.scenario = "error_500"
    queued = queue(papi)
    await run_jobs()
    log = papi.get(f"/api/v1/messages/{queued['id']}").json()
    assert log["status"] == "failed" and log["attempts"] == 6


async def test_template_variables_are_checked_before_anything_is_stored(papi, sms):
    response = papi.post("/api/v1/messages", {**LINK_SMS, "params": {"name": "张三"}})
    assert response.status_code == 422 and response.json()["code"] == "TEMPLATE_INVALID"
    unknown = papi.post("/api/v1/messages", {**LINK_SMS, "channel": "pigeon"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "CHANNEL_UNKNOWN"
    assert await OutboundMessage.all().count() == 0


async def test_aliyun_delivery_receipts_mark_messages_delivered(papi, sms, run_jobs,
                                                              provider_server, test_env):
    queued = queue(papi)
    await run_jobs()
    report = json.dumps(sms.delivery_report())
    token = test_env["ALIYUN_SMS_REPORT_TOKEN"]
    assert httpx.post(f"{provider_server}/hooks/aliyun/sms-report/wrong", content=report).status_code == 404
    ack = httpx.post(f"{provider_server}/hooks/aliyun/sms-report/{token}", content=report)
    assert ack.status_code == 200 and ack.json()["code"] == 0
    assert papi.get(f"/api/v1/messages/{queued['id']}").json()["status"] == "delivered"


async def test_a_signing_link_sent_by_sms_opens_that_signers_page(papi, sms, run_jobs,
                                                                 provider_server):
    issued = papi.post("/api/v1/signing-links", {
        "envelope_ref": "env-42", "signer_ref": "insured-7", "signer_name": "王小明",
        "send_sms_to": "13900139000", "doc_title": "车险电子保单"}).json()
    await run_jobs()
    (accepted,) = sms.accepted
    url = json.loads(accepted["TemplateParam"])["url"]
    assert url == issued["url"]
    token = re.search(r"/s/([A-Za-z0-9_-]+)$", url).group(1)
    with httpx.Client(base_url=provider_server) as phone:
        page = phone.get(f"/s/{token}", follow_redirects=True)
    assert page.status_code == 200 and "data-signer='insured-7'" in page.text
    assert papi.get(f"/api/v1/messages/{issued['message_id']}").json()["status"] == "sent"


async def test_sms_intent_code_confirms_the_signature_intent(papi, sms, market, run_jobs):
    person = papi.post("/api/v1/identity/persons/verify", {
        "name": "张三", "id_number": "11010519491231002X", "mobile": "13800138000"}).json()
    intent = papi.post("/api/v1/identity/intents", {
        "person_id": person["person"]["id"], "method": "sms", "document_hash": "ab" * 32}).json()
    assert intent["sent_to"] == "138****8000"
    await run_jobs()
    code = json.loads(sms.accepted[-1]["TemplateParam"])["code"]
    assert re.fullmatch(r"\d{6}", code)
    row = await IntentChallenge.get(id=intent["id"])
    assert code not in row.code_hash
    wrong = papi.post(f"/api/v1/identity/intents/{intent['id']}/confirm",
                      {"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 422
    done = papi.post(f"/api/v1/identity/intents/{intent['id']}/confirm", {"code": code})
    assert done.status_code == 200 and done.json()["confirmed"] is True


async def test_an_email_carries_the_signed_pdf_as_an_attachment(papi, smtp, run_jobs):
    import base64

    pdf = b"%PDF-1.7 signed policy bytes"
    queued = papi.post("/api/v1/messages", {
        "channel": "email", "recipient": "zhangsan@example.com", "template": "SIGN_COMPLETED",
        "params": {"name": "张三", "doc_title": "个人意外险电子保单"},
        "attachments": [{"filename": "policy.pdf",
                         "content_base64": base64.b64encode(pdf).decode()}]}).json()
    assert queued["attachments"] == ["policy.pdf"]
    row = await OutboundMessage.get(id=queued["id"])
    assert b"signed policy" not in json.dumps(row.attachments).encode()
    await run_jobs()
    assert papi.get(f"/api/v1/messages/{queued['id']}").json()["status"] == "sent"
    (got,) = smtp.messages
    mail = got["message"]
    assert got["rcpt_tos"] == ["zhangsan@example.com"]
    assert "个人意外险电子保单" in mail["Subject"]
    (part,) = [p for p in mail.iter_attachments()]
    assert part.get_filename() == "policy.pdf" and part.get_content() == pdf


def test_the_worker_schedules_the_periodic_jobs(test_settings):
    from backend.jobs.worker import scheduled_jobs

    names = {job.function.__name__: job.cron for job in scheduled_jobs(test_settings)}
    assert names["requeue_stale_messages"] == "* * * * *"
    assert names["scheduled_dingtalk_sync"] == test_settings.org_sync_cron
    assert "purge_used_tickets" in names
