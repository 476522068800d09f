"""The first answer to a POST carrying an Idempotency-Key, replayed to retries."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class IdempotencyRecord(Model):
    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    key = fields.CharField(max_length=128)
    #: SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint = fields.CharField(max_length=64)
    status_code = fields.SmallIntField(default=0)
    response_body = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idempotency_record"
        unique_together = (("tenant", "key"),)
