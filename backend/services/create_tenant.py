"""Create a tenant (an insurer) with a fresh app key and secret; the secret is returned once."""
from __future__ import annotations

import dataclasses
import secrets

from tortoise.transactions import in_transaction

from backend import audit
from backend.errors import ValidationFailed
from backend.fieldcrypt import FieldCipher
from backend.models.tenant import Tenant


@dataclasses.dataclass(frozen=True)
class NewTenant:
    tenant_id: str
    app_key: str
    app_secret: str

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


async def create_tenant(name: str, cipher: FieldCipher) -> NewTenant:
    name = name.strip()
    if not (1 <= len(name) <= 200):
        raise ValidationFailed("tenant name must be 1 to 200 characters", code="TENANT_NAME_INVALID")
    app_key = "ak_" + secrets.token_hex(12)
    app_secret = secrets.token_urlsafe(32)
    async with in_transaction("default"):
        tenant = await Tenant.create(
            name=name, app_key=app_key,
            app_secret_enc=cipher.encrypt(app_secret, "tenant.app_secret"))
        await audit.record("tenant.create", f"tenant:{tenant.id}", tenant_id=str(tenant.id),
                           details={"name": name, "app_key": app_key})
    return NewTenant(str(tenant.id), app_key, app_secret)
