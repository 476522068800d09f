"""An insurer using the platform. Every business row carries a tenant."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Tenant(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=200)
    app_key = fields.CharField(max_length=64, unique=True)
    #: HMAC secret of the business API, SM4-encrypted (context "tenant.app_secret").
    app_secret_enc = fields.TextField()
    disabled_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tenant"

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None
