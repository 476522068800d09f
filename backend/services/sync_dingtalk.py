"""Synchronise a tenant's organisation from DingTalk contacts (scheduled job and manual trigger).

The DingTalk corp belongs to the tenant ``DINGTALK_SYNC_TENANT_ID``. ``mode="auto"`` runs a full
sync when that tenant has never completed one from DingTalk (first import) and an incremental one
afterwards; the daily job (``ORG_SYNC_CRON``) runs ``full``, which also disables the users who
left the corp.
"""
from __future__ import annotations

from backend.adapters import dingtalk_contacts
from backend.errors import NotFound, ValidationFailed
from backend.models.org import SyncRun
from backend.models.tenant import Tenant
from backend.services.sync_org import run_sync


class DingTalkTenantMissing(NotFound):
    code, message = ("DINGTALK_TENANT_NOT_FOUND",
                     "DINGTALK_SYNC_TENANT_ID does not name an existing tenant")


async def resolve_mode(tenant_id: str, mode: str) -> str:
    if mode not in ("auto", "full", "incremental"):
        raise ValidationFailed("mode must be auto, full or incremental", code="SYNC_MODE_INVALID")
    if mode != "auto":
        return mode
    done = await SyncRun.filter(tenant_id=tenant_id, source="dingtalk", mode="full",
                                status="ok").exists()
    return "incremental" if done else "full"


async def sync_from_dingtalk(runtime, *, mode: str = "auto", trigger: str = "manual",
                             tenant_id: str | None = None) -> SyncRun:
    settings = runtime.settings
    configured = settings.dingtalk_sync_tenant_id
    if tenant_id is not None and tenant_id != configured:
        raise dingtalk_contacts.DingTalkNotConfigured(
            "DingTalk contacts are not configured for this tenant")
    tenant = await Tenant.get_or_none(id=configured) if configured else None
    if tenant is None:
        raise DingTalkTenantMissing()
    mode = await resolve_mode(str(tenant.id), mode)
    async with dingtalk_contacts.from_settings(settings) as client:
        snapshot = await client.fetch_snapshot(root_name=tenant.name)
    return await run_sync(tenant, "dingtalk", mode, snapshot, cipher=runtime.cipher,
                          cache=runtime.cache, trigger=trigger)
