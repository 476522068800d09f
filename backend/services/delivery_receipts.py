"""Apply provider delivery receipts (Aliyun SmsReport) to the delivery log."""
from __future__ import annotations

from tortoise.transactions import in_transaction

from backend import audit
from backend.models.message import OutboundMessage
from notify.api import DeliveryReceipt


async def apply_receipts(receipts: list[DeliveryReceipt], channel: str = "sms") -> int:
    """Mark each known message delivered or failed; unknown ids are ignored. Returns matches."""
    matched = 0
    for receipt in receipts:
        async with in_transaction("default"):
            message = await OutboundMessage.get_or_none(
                channel=channel, provider_message_id=receipt.provider_message_id)
            if message is None or message.status in ("delivered", "failed"):
                continue
            matched += 1
            if receipt.status == "delivered":
                message.status, message.delivered_at = "delivered", receipt.received_at
            else:
                message.status, message.failed_at = "failed", receipt.received_at
                message.last_error = f"RECEIPT: {receipt.error_code or 'failed'}"
            await message.save()
            await audit.record(f"message.{message.status}", f"message:{message.id}",
                               result=message.status, tenant_id=str(message.tenant_id),
                               actor=f"provider:{channel}",
                               details={"receipt_error": receipt.error_code})
    return matched
