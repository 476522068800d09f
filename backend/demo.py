"""Demo data for ./scripts/run.sh: one demo tenant, its secret printed once."""
from __future__ import annotations

import json
import pathlib

from backend.fieldcrypt import FieldCipher
from backend.models.tenant import Tenant
from backend.services.create_tenant import create_tenant

DEMO_TENANT_NAME = "演示保险公司 Demo Insurance"


async def ensure_demo_tenant(cipher: FieldCipher) -> None:
    existing = await Tenant.get_or_none(name=DEMO_TENANT_NAME)
    if existing:
        print(f"[demo] demo tenant exists: app_key={existing.app_key} "
              "(its secret was printed when it was created)", flush=True)
        return
    created = await create_tenant(DEMO_TENANT_NAME, cipher)
    print("[demo] demo tenant created; keep this secret, it is shown once:", flush=True)
    print(json.dumps(created.to_dict()), flush=True)
