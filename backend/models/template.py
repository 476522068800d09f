"""Templates [模版中心]: a template, its immutable versions and the edit trail [编辑留痕].

Every change (new PDF or definition, publish, disable, sharing) is recorded as a TemplateEdit,
and a content change makes a new TemplateVersion; documents point at the version they were
made from, so later changes never alter them.
"""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

TEMPLATE_STATES = ("draft", "published", "disabled")


class Template(Model):
    """A fillable template of a tenant, owned by a unit and optionally shared with all units."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    code = fields.CharField(max_length=64)
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    doc_type = fields.CharField(max_length=32, default="")
    status = fields.CharField(max_length=16, default="draft")
    shared = fields.BooleanField(default=True)
    unit_ref = fields.CharField(max_length=64, default="hq")
    current_version = fields.IntField(default=1)
    created_by = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "template"
        unique_together = (("tenant", "code"),)


class TemplateVersion(Model):
    """One immutable version: the base PDF (a blob in the file store) and its definition."""
    id = fields.BigIntField(primary_key=True)
    template = fields.ForeignKeyField("models.Template", related_name="versions",
                                      on_delete=fields.CASCADE)
    number = fields.IntField()
    pdf_sha256 = fields.CharField(max_length=64)
    pdf_sm3 = fields.CharField(max_length=64, default="")
    pdf_size = fields.IntField(default=0)
    definition = fields.JSONField(default=dict)
    source = fields.CharField(max_length=16, default="upload")  # upload | html | example
    created_by = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "template_version"
        unique_together = (("template", "number"),)


class TemplateEdit(Model):
    """Who changed what in a template, and when (the edit trail)."""
    id = fields.BigIntField(primary_key=True)
    template = fields.ForeignKeyField("models.Template", related_name="edits",
                                      on_delete=fields.CASCADE)
    version = fields.IntField(null=True)
    actor = fields.CharField(max_length=200)
    action = fields.CharField(max_length=32)
    summary = fields.CharField(max_length=500, default="")
    diff = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "template_edit"
