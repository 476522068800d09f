"""Usage metering and billing [计费清分]: metered events, price plans and monthly statements.

Amounts are integer fen (分) throughout, never floats. A ``UsageEvent`` is written in the same
transaction as the billable state change, keyed by a unique idempotency key so that a retried job
or a repeated request never meters twice.
"""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class UsageEvent(Model):
    """One billable event of a tenant, metered exactly once (unique key)."""
    id = fields.BigIntField(primary_key=True)
    tenant_id = fields.UUIDField(db_index=True)
    kind = fields.CharField(max_length=32, description="e.g. signature.sm2, sms.sent, timestamp")
    key = fields.CharField(max_length=128, unique=True,
                           description="idempotency key, e.g. sms:<message id>")
    unit_ref = fields.CharField(max_length=64, default="", description="business unit, may be empty")
    business_line = fields.CharField(max_length=64, default="",
                                     description="business line (e.g. the flow), may be empty")
    provider = fields.CharField(max_length=32, default="",
                                description="outside provider to clear with, empty = platform")
    quantity = fields.IntField(default=1)
    month = fields.CharField(max_length=7, description="YYYY-MM in Beijing time")
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "usage_event"
        indexes = (("tenant_id", "month", "kind"),)


class PricePlan(Model):
    """A tenant's price plan: per kind a unit price, tiers or a monthly package, and a quota."""
    id = fields.BigIntField(primary_key=True)
    tenant_id = fields.UUIDField(unique=True)
    name = fields.CharField(max_length=100)
    currency = fields.CharField(max_length=3, default="CNY")
    items = fields.JSONField(default=dict, description="kind -> pricing, amounts in fen")
    provider_costs = fields.JSONField(default=dict,
                                      description="provider -> kind -> cost in fen (clearing)")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "price_plan"


class UsageCounter(Model):
    """The month's metered quantity per tenant and kind (the sum of its usage events), bumped by
    every ``meter`` in the event's transaction; its row is the lock that makes hard quotas exact."""
    id = fields.BigIntField(primary_key=True)
    tenant_id = fields.UUIDField()
    month = fields.CharField(max_length=7)
    kind = fields.CharField(max_length=32)
    used = fields.BigIntField(default=0)

    class Meta:
        table = "usage_counter"
        unique_together = (("tenant_id", "month", "kind"),)


class QuotaHold(Model):
    """Units of a hard quota reserved for an action in progress (admitted, not metered yet).

    Deleted when the action's event is metered (same transaction) or when it fails. A hold with
    an expiry that is past no longer counts (a crashed process cannot leak quota for long)."""
    id = fields.BigIntField(primary_key=True)
    tenant_id = fields.UUIDField()
    month = fields.CharField(max_length=7)
    kind = fields.CharField(max_length=32)
    quantity = fields.IntField(default=1)
    ref = fields.CharField(max_length=128, null=True, unique=True,
                           description="the usage event key it becomes, when known")
    expires_at = fields.DatetimeField(null=True, description="null = until released")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "quota_hold"
        indexes = (("tenant_id", "month", "kind"),)


class Statement(Model):
    """A monthly statement of a tenant (unit_ref *) or of one of its units: a draft (recomputed
    on every read) until the month is closed, then frozen (``closed_at``, ``body``)."""
    id = fields.BigIntField(primary_key=True)
    tenant_id = fields.UUIDField()
    month = fields.CharField(max_length=7)
    unit_ref = fields.CharField(max_length=64, default="*",
                                description="* = the whole tenant, empty = no unit given")
    lines = fields.JSONField(default=list)
    total = fields.BigIntField(default=0, description="fen, the exact sum of the lines")
    generated_at = fields.DatetimeField()
    sha256 = fields.CharField(max_length=64, description="SHA-256 of the canonical statement JSON")
    closed_at = fields.DatetimeField(null=True, description="set when the month was closed")
    body = fields.JSONField(null=True, description="the frozen statement, as issued")
    csv_sha256 = fields.CharField(max_length=64, default="", description="SHA-256 of its CSV")

    class Meta:
        table = "billing_statement"
        unique_together = (("tenant_id", "month", "unit_ref"),)
