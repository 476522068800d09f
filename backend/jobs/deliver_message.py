"""Deliver one queued message through its channel, recording every attempt.

Never sends twice: a per-message lock serialises workers, a message that left ``queued`` is not
sent again, and the channel's own duplicate guard (keyed by the message id) answers a retry of an
accepted send from its result store. Retryable failures (timeouts, throttling, provider 5xx)
raise ``RetryableJobError`` so that the queue retries with exponential backoff; definite ones
(invalid number, template) mark the message failed at once.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from tortoise.transactions import in_transaction

from backend import audit
from backend.jobs.registry import RetryableJobError, job
from backend.models.message import DeliveryAttempt, OutboundMessage
from backend.services import metering
from notify.api import ChannelError, Message

RECIPIENT_LIMIT_PER_HOUR = 20


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@job("deliver_message")
async def deliver_message(ctx: dict[str, Any], message_id: str) -> str:
    return await deliver(ctx["runtime"], message_id)


async def deliver(runtime, message_id: str) -> str:
    from backend.services.messages import MAX_ATTEMPTS

    async with runtime.cache.lock(f"deliver:{message_id}", ttl=120, wait=30):
        message = await OutboundMessage.get_or_none(id=message_id)
        if message is None:  # enqueued inside a transaction not yet committed
            raise RetryableJobError(f"message {message_id} not visible yet")
        if message.status != "queued":
            return message.status
        if await runtime.cache.hit_rate_limit(
                f"recipient:{message.channel}:{message.recipient_index}",
                RECIPIENT_LIMIT_PER_HOUR, 3600):
            await _record(message, "retry", "RECIPIENT_RATE_LIMITED",
                          "per-recipient hourly limit reached", final=False)
            raise RetryableJobError("recipient rate limit")
        started = _now()
        try:
            result = await runtime.channel(message.channel).send(_to_message(runtime, message))
        except ChannelError as exc:
            final = not exc.retryable or message.attempts + 1 >= MAX_ATTEMPTS
            await _record(message, "failed" if final else "retry", exc.code, exc.message,
                          final=final, started=started)
            if not final:
                raise RetryableJobError(exc.code) from exc
            return "failed"
        await _record(message, "sent", "", "", final=True, started=started,
                      provider_message_id=result.provider_message_id)
        return "sent"


def _to_message(runtime, row: OutboundMessage) -> Message:
    from backend.services.messages import open_attachments

    return Message(
        attachments=open_attachments(runtime, row.attachments),
        channel=row.channel, template=row.template, idempotency_key=str(row.id),
        recipient=runtime.cipher.decrypt(row.recipient_enc, "message.recipient"),
        params=json.loads(runtime.cipher.decrypt(row.params_enc, "message.params")))


async def _record(message: OutboundMessage, outcome: str, code: str, error: str, *, final: bool,
                  started: dt.datetime | None = None,
                  provider_message_id: str | None = None) -> None:
    """Log the attempt (``started`` = when the provider call began) and move the message on."""
    now = _now()
    async with in_transaction("default"):
        message.attempts += 1
        await DeliveryAttempt.create(message=message, number=message.attempts,
                                     started_at=started or now,
                                     finished_at=now, outcome=outcome, error_code=code,
                                     error_message=error[:500],
                                     provider_message_id=provider_message_id)
        message.last_error = f"{code}: {error}"[:500] if code else ""
        if outcome == "sent":
            message.status, message.sent_at = "sent", now
            message.provider_message_id = provider_message_id
        elif final:
            message.status, message.failed_at = "failed", now
        await message.save()
        if final:
            await audit.record(f"message.{message.status}", f"message:{message.id}",
                               result=message.status, tenant_id=str(message.tenant_id),
                               details={"attempts": message.attempts, "error": code})
        await metering.meter_message(message)
