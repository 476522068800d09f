"""The file centre [文件中心]: documents, their revisions, access grants and evidence events.

File bytes live in the content-addressed store (``runtime.storage()``), rows keep their
SHA-256/SM3/size. Evidence events form one SM3 hash chain per document [数据存证].
"""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

DOCUMENT_STATES = ("draft", "signing", "signed", "voided", "superseded")


class Document(Model):
    """A file of a tenant: generated from a template version or uploaded."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    title = fields.CharField(max_length=200)
    doc_type = fields.CharField(max_length=32, default="", db_index=True)
    business_no = fields.CharField(max_length=64, default="", db_index=True)
    policy_no = fields.CharField(max_length=64, default="", db_index=True)
    unit_ref = fields.CharField(max_length=64, default="hq", db_index=True)
    template_version = fields.ForeignKeyField("models.TemplateVersion", related_name=False,
                                              null=True, on_delete=fields.RESTRICT)
    template_code = fields.CharField(max_length=64, default="")
    template_version_number = fields.IntField(null=True)
    status = fields.CharField(max_length=16, default="draft", db_index=True)
    current_sha256 = fields.CharField(max_length=64)
    current_sm3 = fields.CharField(max_length=64, default="")
    current_size = fields.IntField(default=0)
    original_sha256 = fields.CharField(max_length=64)
    original_sm3 = fields.CharField(max_length=64, default="")
    original_size = fields.IntField(default=0)
    #: [{"role", "ref", "name_masked"}] - names are stored masked only.
    signers = fields.JSONField(default=list)
    short_code = fields.CharField(max_length=16, unique=True)
    retention_until = fields.DateField(null=True)
    created_by = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)
    voided_at = fields.DatetimeField(null=True)
    void_reason = fields.CharField(max_length=300, default="")
    superseded_by = fields.UUIDField(null=True)

    class Meta:
        table = "document"


class DocumentRevision(Model):
    """Every content a document had (generated, uploaded, signed ...), in order."""
    id = fields.BigIntField(primary_key=True)
    document = fields.ForeignKeyField("models.Document", related_name="revisions",
                                      on_delete=fields.CASCADE)
    number = fields.IntField()
    kind = fields.CharField(max_length=16)
    sha256 = fields.CharField(max_length=64)
    sm3 = fields.CharField(max_length=64, default="")
    size = fields.IntField(default=0)
    actor = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "document_revision"
        unique_together = (("document", "number"),)


class DocumentAccess(Model):
    """A grant to see a document: to a user, a role or a unit."""
    id = fields.BigIntField(primary_key=True)
    document = fields.ForeignKeyField("models.Document", related_name="grants",
                                      on_delete=fields.CASCADE)
    grantee_type = fields.CharField(max_length=8)  # user | role | unit
    grantee_ref = fields.CharField(max_length=64)
    granted_by = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "document_access"
        unique_together = (("document", "grantee_type", "grantee_ref"),)


class EvidenceEvent(Model):
    """One step in a document's evidence chain, hash = SM3(prev_hash || canonical event)."""
    id = fields.BigIntField(primary_key=True)
    document = fields.ForeignKeyField("models.Document", related_name="evidence",
                                      on_delete=fields.CASCADE)
    seq = fields.IntField()
    kind = fields.CharField(max_length=32)
    actor = fields.CharField(max_length=200, default="")
    ip = fields.CharField(max_length=64, default="")
    device = fields.CharField(max_length=300, default="")
    payload = fields.JSONField(default=dict)
    occurred_at = fields.DatetimeField()
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "evidence_event"
        unique_together = (("document", "seq"),)
