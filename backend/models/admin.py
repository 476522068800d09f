"""Administration [三员分立]: admin roles, SSO sessions and used one-time tickets."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

ADMIN_ROLES = ("system", "security", "audit")


class AdminRole(Model):
    """At most one admin role per user (unique ``user``): nobody holds two of the three."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    user = fields.OneToOneField("models.User", related_name=False, on_delete=fields.CASCADE)
    role = fields.CharField(max_length=16)  # system|security|audit
    granted_by = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "admin_role"


class Session(Model):
    """A signed-in user. Only the SHA-256 of the bearer token is stored."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("models.User", related_name=False, on_delete=fields.CASCADE)
    token_hash = fields.CharField(max_length=64, unique=True)
    via = fields.CharField(max_length=16)  # oidc|ticket|dingtalk
    ip = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "user_session"


class UsedTicket(Model):
    """A consumed SSO ticket id (jti): a second use is a replay."""
    jti = fields.CharField(max_length=200, primary_key=True)  # "<tenant id>:<jti>"
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "used_ticket"
