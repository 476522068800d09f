"""Where a tenant's business system receives status callbacks [状态回调]."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class CallbackEndpoint(Model):
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name="callback_endpoints",
                                    on_delete=fields.CASCADE)
    url = fields.CharField(max_length=500)
    events = fields.JSONField(default=list)
    description = fields.CharField(max_length=200, default="")
    #: HMAC key for the bodies we send, SM4-encrypted (context "callback.secret").
    secret_enc = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    disabled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "callback_endpoint"
