"""Organisation synced from business systems and DingTalk [组织架构同步]: units, departments, users.

Each synced row keeps the id it has in each source (``push_id``: the business systems' push API;
``dingtalk_id``: DingTalk contacts), unique per tenant. Users who leave are disabled, never deleted.
"""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

SOURCES = ("push", "dingtalk")
UNIT_KINDS = ("hq", "branch", "sub_branch")


class Unit(Model):
    """A headquarters, branch (分公司) or non-legal-entity sub-branch (支公司/营业部)."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    parent = fields.ForeignKeyField("models.Unit", related_name=False, null=True,
                                    on_delete=fields.SET_NULL)
    kind = fields.CharField(max_length=16)  # hq|branch|sub_branch
    name = fields.CharField(max_length=200)
    push_id = fields.CharField(max_length=64, null=True)
    dingtalk_id = fields.CharField(max_length=64, null=True)
    disabled_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "org_unit"
        unique_together = (("tenant", "push_id"), ("tenant", "dingtalk_id"))


class Department(Model):
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    unit = fields.ForeignKeyField("models.Unit", related_name=False, on_delete=fields.CASCADE)
    parent = fields.ForeignKeyField("models.Department", related_name=False, null=True,
                                    on_delete=fields.SET_NULL)
    name = fields.CharField(max_length=200)
    push_id = fields.CharField(max_length=64, null=True)
    dingtalk_id = fields.CharField(max_length=64, null=True)
    disabled_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "org_department"
        unique_together = (("tenant", "push_id"), ("tenant", "dingtalk_id"))


class User(Model):
    """An employee or agent. The mobile is SM4-encrypted (context "user.mobile"), searched by
    blind index; it also links the same person across sources."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    unit = fields.ForeignKeyField("models.Unit", related_name=False, null=True,
                                  on_delete=fields.SET_NULL)
    department = fields.ForeignKeyField("models.Department", related_name=False, null=True,
                                        on_delete=fields.SET_NULL)
    name = fields.CharField(max_length=100)
    mobile_enc = fields.TextField(null=True)
    mobile_index = fields.CharField(max_length=64, null=True, db_index=True)
    mobile_masked = fields.CharField(max_length=32, default="")
    push_id = fields.CharField(max_length=64, null=True)
    dingtalk_id = fields.CharField(max_length=64, null=True)
    status = fields.CharField(max_length=16, default="active")  # active|disabled
    disabled_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "org_user"
        unique_together = (("tenant", "push_id"), ("tenant", "dingtalk_id"))


class SyncRun(Model):
    """One synchronisation and its report."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    source = fields.CharField(max_length=16)  # push|dingtalk
    mode = fields.CharField(max_length=16)  # full|incremental
    trigger = fields.CharField(max_length=16, default="api")  # api|schedule|manual
    status = fields.CharField(max_length=16, default="running")  # running|ok|failed
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    created = fields.IntField(default=0)
    updated = fields.IntField(default=0)
    disabled = fields.IntField(default=0)
    unchanged = fields.IntField(default=0)
    counts = fields.JSONField(default=dict)  # per kind: {"users": {"created": 1, ...}, ...}
    conflicts = fields.JSONField(default=list)
    error = fields.CharField(max_length=500, default="")

    class Meta:
        table = "org_sync_run"
