"""Queue a message for delivery [消息通知]: one row per message, delivery by a queue job.

The row is committed first, then the job is enqueued with the message id as its unique key, so a
crash between the two leaves a ``queued`` row that ``requeue_stale`` picks up again, and a
duplicate enqueue is a no-op. Template variables are checked here, before anything is stored.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import NotFound, ValidationFailed
from backend.ids import parse_uuid
from backend.models.message import DeliveryAttempt, OutboundMessage
from backend.models.tenant import Tenant
from backend.runtime import Runtime
from backend.services import metering
from notify.api import TemplateError, mask_recipient
from notify.templates import DEFAULT_REGISTRY

CHANNELS = ("sms", "wechat", "dingtalk", "email", "local")
DELIVER_JOB = "deliver_message"
MAX_ATTEMPTS = 6


class MessageNotFound(NotFound):
    code, message = "MESSAGE_NOT_FOUND", "no such message"


class UnknownChannel(ValidationFailed):
    code, message = "CHANNEL_UNKNOWN", f"channel must be one of {', '.join(CHANNELS)}"


class TemplateInvalid(ValidationFailed):
    code = "TEMPLATE_INVALID"


def check_template(template: str, params: dict[str, Any]) -> dict[str, str]:
    try:
        return DEFAULT_REGISTRY.check(template, params)
    except TemplateError as exc:
        raise TemplateInvalid(exc.message) from None


MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


def seal_attachments(runtime: Runtime, attachments: list[tuple[str, bytes, str]]) -> list[dict]:
    """Attachments (e.g. the signed PDF) kept SM4-encrypted in the message row until sent."""
    if sum(len(data) for _, data, _ in attachments) > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed("attachments exceed 10 MB", code="ATTACHMENTS_TOO_LARGE")
    return [{"filename": name, "mime": mime,
             "data_enc": runtime.cipher.encrypt(data, "message.attachment")}
            for name, data, mime in attachments]


def open_attachments(runtime: Runtime, stored: list[dict]) -> list[tuple[str, bytes, str]]:
    return [(a["filename"], runtime.cipher.decrypt_bytes(a["data_enc"], "message.attachment"),
             a["mime"]) for a in stored]


async def queue_message(tenant: Tenant, runtime: Runtime, *, channel: str, recipient: str,
                        template: str, params: dict[str, Any],
                        idempotency_key: str | None = None,
                        attachments: list[tuple[str, bytes, str]] = (),
                        unit_ref: str | None = None,
                        business_line: str | None = None) -> OutboundMessage:
    """``unit_ref``/``business_line``: whom the SMS is billed to (default: the open
    ``metering.billing_scope``). A quota hold taken by ``check_quota`` for ``sms.sent`` passes
    to the message (``sms:<id>``) until it is sent or fails."""
    if channel not in CHANNELS:
        raise UnknownChannel()
    clean = check_template(template, params)
    key = idempotency_key or uuid.uuid4().hex
    unit_ref, business_line = metering.attribution(unit_ref, business_line)
    async with in_transaction("default"):
        existing = await OutboundMessage.get_or_none(tenant_id=tenant.id, idempotency_key=key)
        if existing:
            return existing
        message = await OutboundMessage.create(
            tenant=tenant, channel=channel, template=template,
            recipient_masked=mask_recipient(recipient),
            recipient_enc=runtime.cipher.encrypt(recipient, "message.recipient"),
            recipient_index=runtime.cipher.blind_index(recipient, f"recipient:{channel}"),
            params_enc=runtime.cipher.encrypt(json.dumps(clean, ensure_ascii=False),
                                              "message.params"),
            idempotency_key=key, attachments=seal_attachments(runtime, list(attachments)),
            unit_ref=unit_ref, business_line=business_line)
        await audit.record("message.queue", f"message:{message.id}",
                           details={"channel": channel, "template": template})
        for kind in metering.message_kinds(channel):
            await metering.hold_for(tenant.id, kind, f"sms:{message.id}")
    await enqueue_delivery(runtime, message)
    return message


async def enqueue_delivery(runtime: Runtime, message: OutboundMessage) -> None:
    await runtime.jobs.enqueue(DELIVER_JOB, key=f"deliver:{message.id}",
                               message_id=str(message.id), retries=MAX_ATTEMPTS,
                               retry_delay=runtime.settings.job_retry_delay_seconds)


async def requeue_stale(runtime: Runtime, older_than_seconds: int = 120) -> int:
    """Re-enqueue messages still ``queued`` long after creation (lost enqueue, crashed worker)."""
    cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=older_than_seconds)
    stale = await OutboundMessage.filter(status="queued", created_at__lt=cutoff).limit(1000)
    for message in stale:
        await enqueue_delivery(runtime, message)
    return len(stale)


async def get_message(tenant: Tenant, message_id: str) -> OutboundMessage:
    message = await OutboundMessage.get_or_none(id=parse_uuid(message_id, MessageNotFound),
                                                tenant_id=tenant.id)
    if message is None:
        raise MessageNotFound()
    return message


async def present_message(message: OutboundMessage) -> dict[str, Any]:
    attempts = await DeliveryAttempt.filter(message_id=message.id).order_by("number")
    return {
        "id": str(message.id), "channel": message.channel, "template": message.template,
        "recipient": message.recipient_masked, "status": message.status,
        "provider_message_id": message.provider_message_id, "attempts": message.attempts,
        "last_error": message.last_error,
        "attachments": [a["filename"] for a in message.attachments],
        "created_at": message.created_at.isoformat(),
        "sent_at": message.sent_at.isoformat() if message.sent_at else None,
        "delivered_at": message.delivered_at.isoformat() if message.delivered_at else None,
        "attempt_log": [{"number": a.number, "outcome": a.outcome, "error_code": a.error_code,
                         "error_message": a.error_message,
                         "started_at": a.started_at.isoformat()} for a in attempts],
    }
