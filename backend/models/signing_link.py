"""A short signing link (/s/<token>) for one signer of one document [签署链接]."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class SigningLink(Model):
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    #: SHA-256 of the token: the token itself is never stored.
    token_hash = fields.CharField(max_length=64, unique=True)
    envelope_ref = fields.CharField(max_length=64)
    signer_ref = fields.CharField(max_length=64)
    #: Shown masked on the landing page so that the person knows the link is theirs.
    signer_name_masked = fields.CharField(max_length=100, default="")
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    first_opened_at = fields.DatetimeField(null=True)
    open_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "signing_link"
        indexes = (("tenant_id", "envelope_ref", "signer_ref"),)
