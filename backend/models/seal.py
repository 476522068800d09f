"""Electronic seals and their life cycle, grants, uses and risk alerts [印章管控]."""
from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

SEAL_KINDS = ("official", "contract", "finance", "legal_rep", "personal")
SEAL_STATES = ("pending", "active", "suspended", "revoked")


class Seal(Model):
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    #: The owning unit (headquarters or a branch) by its id in the organisation tree.
    unit_ref = fields.CharField(max_length=64, default="hq")
    kind = fields.CharField(max_length=16)
    name = fields.CharField(max_length=100)
    status = fields.CharField(max_length=16, default="pending")
    version = fields.IntField(default=1)
    source = fields.CharField(max_length=16)  # generated | uploaded
    spec = fields.JSONField(default=dict)
    image_png = fields.BinaryField()
    black_png = fields.BinaryField()
    #: GB/T 38540 SESeal (DER), signed by the platform's seal-making key.
    seseal_der = fields.BinaryField()
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    created_by = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)
    approved_by = fields.CharField(max_length=200, null=True)
    approved_at = fields.DatetimeField(null=True)
    suspended_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "seal"


class SealVersion(Model):
    """Every image/SESeal a seal ever had: a change makes a new version, the old one is kept."""
    id = fields.BigIntField(primary_key=True)
    seal = fields.ForeignKeyField("models.Seal", related_name="versions", on_delete=fields.CASCADE)
    version = fields.IntField()
    name = fields.CharField(max_length=100)
    spec = fields.JSONField(default=dict)
    image_png = fields.BinaryField()
    seseal_der = fields.BinaryField()
    reason = fields.CharField(max_length=300, default="")
    created_by = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "seal_version"
        unique_together = (("seal", "version"),)


class SealDevice(Model):
    """A physical seal or U-key registered so that its use is logged too [实体印章/UKey]."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    seal = fields.ForeignKeyField("models.Seal", related_name="devices", null=True,
                                  on_delete=fields.SET_NULL)
    kind = fields.CharField(max_length=16)  # physical | ukey
    serial = fields.CharField(max_length=100)
    holder = fields.CharField(max_length=200, default="")
    location = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "seal_device"
        unique_together = (("tenant", "kind", "serial"),)


class SealGrant(Model):
    """Who may use a seal, for which document types / flows, when, how many times [赋权]."""
    id = fields.UUIDField(primary_key=True)
    seal = fields.ForeignKeyField("models.Seal", related_name="grants", on_delete=fields.CASCADE)
    grantee_type = fields.CharField(max_length=8)  # user | role | unit
    grantee_ref = fields.CharField(max_length=64)
    document_types = fields.JSONField(default=list)  # empty = any
    flows = fields.JSONField(default=list)  # empty = any
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    max_uses = fields.IntField(null=True)
    used_count = fields.IntField(default=0)
    granted_by = fields.CharField(max_length=200)
    reason = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "seal_grant"


class SealUse(Model):
    """Every attempt to use a seal, allowed or refused [用印记录]."""
    id = fields.BigIntField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    seal = fields.ForeignKeyField("models.Seal", related_name="uses", on_delete=fields.CASCADE)
    grant = fields.ForeignKeyField("models.SealGrant", related_name="uses", null=True,
                                   on_delete=fields.SET_NULL)
    user_ref = fields.CharField(max_length=64)
    document_ref = fields.CharField(max_length=64)
    document_type = fields.CharField(max_length=32, default="")
    flow = fields.CharField(max_length=32, default="")
    ip = fields.CharField(max_length=64, default="")
    device = fields.CharField(max_length=200, default="")
    region = fields.CharField(max_length=64, default="")
    result = fields.CharField(max_length=16)  # allowed | refused
    reason = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "seal_use"


class RiskAlert(Model):
    """A rule fired on a sensitive seal use [风险预警], handled with a note."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    seal = fields.ForeignKeyField("models.Seal", related_name="alerts", on_delete=fields.CASCADE)
    use = fields.ForeignKeyField("models.SealUse", related_name="alerts", null=True,
                                 on_delete=fields.SET_NULL)
    rule = fields.CharField(max_length=32)
    severity = fields.CharField(max_length=8)  # low | medium | high
    message = fields.CharField(max_length=300)
    status = fields.CharField(max_length=16, default="open")  # open | acknowledged | resolved
    handled_by = fields.CharField(max_length=200, null=True)
    note = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    handled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "risk_alert"


class CertificateBinding(Model):
    """A company bound to its signing certificate(s) and algorithm [证书绑定]."""
    id = fields.UUIDField(primary_key=True)
    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    company_name = fields.CharField(max_length=200)
    uscc = fields.CharField(max_length=18, default="")
    algorithm = fields.CharField(max_length=8)  # sm2 | rsa | dual
    sm2_key_id = fields.CharField(max_length=64, null=True)
    sm2_cert_pem = fields.TextField(null=True)
    rsa_key_id = fields.CharField(max_length=64, null=True)
    rsa_cert_pem = fields.TextField(null=True)
    chain_pem = fields.TextField(default="")
    source = fields.CharField(max_length=16)  # internal | imported
    not_after = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)
    disabled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "certificate_binding"
