"""Signing envelopes [签署中心]: a signing task with its document, signers and batches.

An envelope holds one document (``Document``) and its signers in stages: stage 1 signs first,
signers of the same stage sign in parallel. Signers are persons (policyholder, insured, agent),
companies (a seal under a grant, applied silently) or approvers (a leader who approves or
rejects, and for a pre-seal node chooses the seal and its position).

The business number is unique per tenant and document type: issuing the same policy twice
returns the first envelope (NULL business numbers are not unique).
"""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

ENVELOPE_STATES = ("draft", "sent", "signing", "completed", "rejected", "expired", "voided")
FINAL_STATES = ("completed", "rejected", "expired", "voided")
SIGNER_KINDS = ("person", "company", "approver")
SIGNER_STATES = ("waiting", "ready", "signing", "signed", "rejected", "stopped")


class EnvelopeBatch(Model):
    """Thousands of envelopes from one template and a list, processed by a resumable job."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=16, default="create", description="create | sign")
    template_code = fields.CharField(max_length=64, default="")
    #: The envelope definition shared by every item (signers, doc_type, send ...).
    spec = fields.JSONField(default=dict)
    status = fields.CharField(max_length=16, default="running",
                              description="running | completed | terminated")
    total = fields.IntField(default=0)
    created_by = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)
    terminated_at = fields.DatetimeField(null=True)
    terminate_reason = fields.CharField(max_length=300, default="")

    class Meta:
        table = "envelope_batch"


class EnvelopeBatchItem(Model):
    """One row of a batch: its parameters and what became of it."""
    id = fields.BigIntField(primary_key=True)
    batch = fields.ForeignKeyField("models.EnvelopeBatch", related_name="items",
                                   on_delete=fields.CASCADE)
    number = fields.IntField()
    business_no = fields.CharField(max_length=64, default="")
    params = fields.JSONField(default=dict)
    #: Signers of this row when they differ per row (an agent per agreement), else empty.
    signers = fields.JSONField(default=list)
    status = fields.CharField(max_length=16, default="pending",
                              description="pending | done | failed | terminated")
    envelope_id = fields.UUIDField(null=True)
    error_code = fields.CharField(max_length=64, default="")
    error = fields.CharField(max_length=300, default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "envelope_batch_item"
        unique_together = (("batch", "number"),)
        indexes = (("batch_id", "status"),)


class Envelope(Model):
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    doc_type = fields.CharField(max_length=32, default="")
    business_no = fields.CharField(max_length=64, null=True)
    title = fields.CharField(max_length=200)
    document = fields.ForeignKeyField("models.Document", related_name=False,
                                      on_delete=fields.RESTRICT)
    status = fields.CharField(max_length=16, default="draft", db_index=True)
    unit_ref = fields.CharField(max_length=64, default="hq")
    business_line = fields.CharField(max_length=64, default="")
    batch = fields.ForeignKeyField("models.EnvelopeBatch", related_name=False, null=True,
                                   on_delete=fields.SET_NULL)
    #: Exemption clauses shown and acknowledged one by one [保险法第十七条].
    clauses = fields.JSONField(default=list)
    #: What an endorsement changes: [{"field", "label", "old", "new"}].
    changes = fields.JSONField(default=list)
    deadline_at = fields.DatetimeField(null=True)
    valid_until = fields.DateField(null=True, description="end of an agreement's validity")
    reminded_at = fields.DatetimeField(null=True)
    created_by = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    sent_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    rejected_at = fields.DatetimeField(null=True)
    expired_at = fields.DatetimeField(null=True)
    voided_at = fields.DatetimeField(null=True)
    end_reason = fields.CharField(max_length=300, default="")
    #: Voiding [解约]: who asked and who confirmed ({"requested_by", "reason", "confirmed": [...]}).
    void_request = fields.JSONField(null=True)
    void_statement_id = fields.UUIDField(null=True)

    class Meta:
        table = "envelope"
        unique_together = (("tenant", "doc_type", "business_no"),)
        indexes = (("tenant_id", "status", "deadline_at"),)


class EnvelopeSigner(Model):
    id = fields.UUIDField(primary_key=True)
    envelope = fields.ForeignKeyField("models.Envelope", related_name="signers",
                                      on_delete=fields.CASCADE)
    stage = fields.IntField(default=1)
    kind = fields.CharField(max_length=16, description="person | company | approver")
    role = fields.CharField(max_length=32)
    #: The business system's own reference of the person (agent number, user id ...).
    ref = fields.CharField(max_length=64, default="", db_index=True)
    name_masked = fields.CharField(max_length=100, default="")
    person = fields.ForeignKeyField("models.Person", related_name=False, null=True,
                                    on_delete=fields.RESTRICT)
    company_name = fields.CharField(max_length=200, default="")
    seal_id = fields.CharField(max_length=64, default="")
    #: The user the seal grant is checked for (company signers, pre-seal approvers).
    user_ref = fields.CharField(max_length=64, default="")
    identity_methods = fields.JSONField(default=list, description="two_factor, three_factor, face")
    intent_method = fields.CharField(max_length=16, default="sms")
    #: {"role": template position} or {"page", "rect"} or {"keyword"}.
    position = fields.JSONField(default=dict)
    materials_required = fields.JSONField(default=list)
    materials = fields.JSONField(default=dict, description="kind -> {sha256, size, ...}")
    status = fields.CharField(max_length=16, default="waiting")
    identity_check_id = fields.UUIDField(null=True)
    identity_checked_at = fields.DatetimeField(null=True)
    clauses_acked = fields.JSONField(default=list)
    intent_id = fields.UUIDField(null=True)
    signed_at = fields.DatetimeField(null=True)
    signed_sha256 = fields.CharField(max_length=64, default="")
    rejected_at = fields.DatetimeField(null=True)
    comment = fields.CharField(max_length=300, default="")
    claimed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "envelope_signer"
        indexes = (("envelope_id", "stage"),)
