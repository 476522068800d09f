"""People, companies and the evidence of every identity and intent check [认证中心, 意愿认证]."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Person(Model):
    """A natural person known to a tenant. Numbers are SM4-encrypted, searched by blind index."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    name = fields.CharField(max_length=50)
    id_number_enc = fields.TextField()
    id_number_index = fields.CharField(max_length=64)
    id_number_masked = fields.CharField(max_length=32)
    mobile_enc = fields.TextField(null=True)
    mobile_index = fields.CharField(max_length=64, null=True, db_index=True)
    mobile_masked = fields.CharField(max_length=32, default="")
    #: scrypt hash of the signing password (意愿认证 by password), never the password.
    signing_password_hash = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "person"
        unique_together = (("tenant", "id_number_index"),)


class Enterprise(Model):
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    name = fields.CharField(max_length=200)
    uscc = fields.CharField(max_length=18)
    legal_rep_name = fields.CharField(max_length=50)
    verified_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "enterprise"
        unique_together = (("tenant", "uscc"),)


class IdentityCheck(Model):
    """One check and its answer, as evidence: what was asked (digest), who answered, what."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    person = fields.ForeignKeyField("models.Person", related_name="checks", null=True,
                                    on_delete=fields.CASCADE)
    enterprise = fields.ForeignKeyField("models.Enterprise", related_name="checks", null=True,
                                        on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=24)  # two_factor|three_factor|face|enterprise|legal_rep|...
    provider = fields.CharField(max_length=32)
    outcome = fields.CharField(max_length=16)  # match|mismatch|unknown|passed|failed|error
    from_cache = fields.BooleanField(default=False)
    provider_request_id = fields.CharField(max_length=128, default="")
    raw_code = fields.CharField(max_length=64, default="")
    message = fields.CharField(max_length=300, default="")
    #: SM3 of the canonical request (name, numbers): proves what was asked without storing it.
    request_digest = fields.CharField(max_length=64)
    scores = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    #: Billing attribution (business unit and line of the flow that asked), may be empty.
    unit_ref = fields.CharField(max_length=64, default="")
    business_line = fields.CharField(max_length=64, default="")

    class Meta:
        table = "identity_check"


class IntentChallenge(Model):
    """Intent confirmation before a personal signature: SMS code, face or signing password."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    person = fields.ForeignKeyField("models.Person", related_name="intents",
                                    on_delete=fields.CASCADE)
    method = fields.CharField(max_length=16)  # sms|face|password
    #: SHA-256 (hex) of the document the person was shown and confirms.
    document_hash = fields.CharField(max_length=64)
    purpose = fields.CharField(max_length=200, default="")
    code_hash = fields.CharField(max_length=64, default="")
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField(default=5)
    expires_at = fields.DatetimeField()
    confirmed_at = fields.DatetimeField(null=True)
    locked_at = fields.DatetimeField(null=True)
    client_ip = fields.CharField(max_length=64, default="")
    evidence = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "intent_challenge"
