"""Status-callback events, their deliveries to each endpoint, and every attempt [状态回调]."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class CallbackEvent(Model):
    """A state change the business system hears about, with a stable id for de-duplication."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    type = fields.CharField(max_length=64, db_index=True)
    data = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "callback_event"


class CallbackDelivery(Model):
    """One event to one endpoint: at-least-once, retried with backoff, every attempt logged."""
    id = fields.UUIDField(primary_key=True)
    event = fields.ForeignKeyField("models.CallbackEvent", related_name="deliveries",
                                   on_delete=fields.CASCADE)
    endpoint = fields.ForeignKeyField("models.CallbackEndpoint", related_name="deliveries",
                                      on_delete=fields.CASCADE)
    status = fields.CharField(max_length=16, default="pending")  # pending|delivered|failed
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "callback_delivery"
        unique_together = (("event", "endpoint"),)


class CallbackAttempt(Model):
    id = fields.BigIntField(primary_key=True)
    delivery = fields.ForeignKeyField("models.CallbackDelivery", related_name="attempt_log",
                                      on_delete=fields.CASCADE)
    number = fields.IntField()
    status_code = fields.IntField(null=True)
    error = fields.CharField(max_length=300, default="")
    duration_ms = fields.IntField(default=0)
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "callback_attempt"
