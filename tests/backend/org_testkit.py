"""Helpers of the organisation, SSO and admin tests (fixtures are in conftest.py)."""
from __future__ import annotations

import datetime as dt
import time
import uuid

ORG_TENANT_ID = "5a1e0000-0000-4000-8000-00000000d1d1"

#: A small insurer: headquarters, a branch with a sub-branch, departments and users.
ORG = {
    "units": [
        {"id": "HQ", "name": "总公司", "kind": "hq"},
        {"id": "BJ", "name": "北京分公司", "kind": "branch", "parent_id": "HQ"},
        {"id": "BJ-HD", "name": "海淀支公司", "kind": "sub_branch", "parent_id": "BJ"},
        {"id": "SH", "name": "上海分公司", "kind": "branch", "parent_id": "HQ"},
    ],
    "departments": [
        {"id": "D-IT", "name": "信息技术部", "unit_id": "HQ"},
        {"id": "D-RISK", "name": "风险管理部", "unit_id": "HQ"},
        {"id": "D-HD-SALES", "name": "个险部", "unit_id": "BJ-HD"},
    ],
    "users": [
        {"id": "E0001", "name": "系统管理员甲", "mobile": "13900000001", "unit_id": "HQ",
         "department_id": "D-IT"},
        {"id": "E0002", "name": "安全管理员乙", "mobile": "13900000002", "unit_id": "HQ",
         "department_id": "D-RISK"},
        {"id": "E0003", "name": "审计管理员丙", "mobile": "13900000003", "unit_id": "HQ"},
        {"id": "E0004", "name": "业务员丁", "mobile": "13900000004", "unit_id": "BJ-HD",
         "department_id": "D-HD-SALES"},
        {"id": "E0005", "name": "业务员戊", "mobile": "13900000005", "unit_id": "SH"},
    ],
}


def make_ticket(tenant, sub: str, *, exp_in: int = 60, jti: str | None = None,
                secret: str | None = None) -> str:
    from backend.services.sso_ticket import sign_hs256

    return sign_hs256({"iss": tenant.app_key, "sub": sub, "exp": int(time.time()) + exp_in,
                       "jti": jti or uuid.uuid4().hex}, secret or tenant.app_secret)


def bearer(session: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['token']}"}


async def make_seal(tenant_id: str, unit_ref: str, name: str):
    """An active seal of ``unit_ref`` (stored directly: the tests are about the organisation)."""
    from backend.models.seal import Seal

    now = dt.datetime.now(dt.timezone.utc)
    return await Seal.create(tenant_id=tenant_id, unit_ref=unit_ref, kind="contract", name=name,
                             status="active", source="generated", image_png=b"png",
                             black_png=b"png", seseal_der=b"der", valid_from=now,
                             valid_until=now + dt.timedelta(days=365), created_by="test")


async def make_grant(seal, grantee_type: str, grantee_ref: str):
    from backend.models.seal import SealGrant

    now = dt.datetime.now(dt.timezone.utc)
    return await SealGrant.create(seal=seal, grantee_type=grantee_type, grantee_ref=grantee_ref,
                                  valid_from=now, valid_until=now + dt.timedelta(days=30),
                                  granted_by="test")
