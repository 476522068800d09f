"""Tamper-evident operation log: each entry's hash covers the previous entry's hash."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    id = fields.BigIntField(primary_key=True)
    #: Gap-free position in the chain (not the row id): a missing number is a deleted entry.
    seq = fields.BigIntField(unique=True)
    tenant_id = fields.UUIDField(null=True, db_index=True)
    actor = fields.CharField(max_length=200)
    action = fields.CharField(max_length=100, db_index=True)
    target = fields.CharField(max_length=200, default="")
    result = fields.CharField(max_length=32, default="ok")
    ip = fields.CharField(max_length=64, default="")
    user_agent = fields.CharField(max_length=300, default="")
    request_id = fields.CharField(max_length=64, default="")
    details = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64, unique=True)

    class Meta:
        table = "audit_entry"
