"""Outbound messages [短信/微信/钉钉/邮件] and every delivery attempt."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class OutboundMessage(Model):
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    channel = fields.CharField(max_length=16)
    template = fields.CharField(max_length=64)
    recipient_masked = fields.CharField(max_length=100)
    #: SM4-encrypted recipient (context "message.recipient") and its blind index.
    recipient_enc = fields.TextField()
    recipient_index = fields.CharField(max_length=64, db_index=True)
    #: SM4-encrypted JSON template parameters (they may contain names and links).
    params_enc = fields.TextField()
    #: Files to attach (e.g. the signed PDF), by storage reference.
    attachments = fields.JSONField(default=list)
    idempotency_key = fields.CharField(max_length=128)
    status = fields.CharField(max_length=16, default="queued")  # queued|sent|delivered|failed
    provider_message_id = fields.CharField(max_length=128, null=True, db_index=True)
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    failed_at = fields.DatetimeField(null=True)
    #: Billing attribution of the SMS (business unit and line of the flow that sent it).
    unit_ref = fields.CharField(max_length=64, default="")
    business_line = fields.CharField(max_length=64, default="")

    class Meta:
        table = "outbound_message"
        unique_together = (("tenant", "idempotency_key"),)


class DeliveryAttempt(Model):
    id = fields.BigIntField(primary_key=True)
    message = fields.ForeignKeyField("models.OutboundMessage", related_name="attempt_log",
                                     on_delete=fields.CASCADE)
    number = fields.IntField()
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    outcome = fields.CharField(max_length=16)  # sent|retry|failed|skipped
    error_code = fields.CharField(max_length=64, default="")
    error_message = fields.CharField(max_length=500, default="")
    provider_message_id = fields.CharField(max_length=128, null=True)

    class Meta:
        table = "delivery_attempt"
        unique_together = (("message", "number"),)
