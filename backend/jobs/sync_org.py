"""Job ``sync_dingtalk_org``: the DingTalk organisation sync (scheduled daily, or enqueued by the
manual trigger ``POST /api/v1/admin/org/dingtalk-sync``)."""
from __future__ import annotations

from typing import Any

from backend.jobs.registry import job


@job("sync_dingtalk_org")
async def sync_dingtalk_org(ctx: dict[str, Any], mode: str = "full",
                            trigger: str = "schedule") -> str:
    from backend.services.sync_dingtalk import sync_from_dingtalk

    run = await sync_from_dingtalk(ctx["runtime"], mode=mode, trigger=trigger)
    return str(run.id)


async def scheduled_dingtalk_sync(ctx: dict[str, Any]) -> str:
    """The cron entry (``ORG_SYNC_CRON``); does nothing when DingTalk is not configured."""
    settings = ctx["runtime"].settings
    if not (settings.dingtalk_contacts_app_key and settings.dingtalk_sync_tenant_id):
        return "skipped"
    return await sync_dingtalk_org(ctx, mode="full", trigger="schedule")


async def purge_used_tickets(ctx: dict[str, Any]) -> int:
    """Forget used SSO ticket ids past their expiry (they cannot be replayed any more)."""
    from backend.services.sso_ticket import purge_used

    return await purge_used()


def cron_jobs(settings: Any) -> list[Any]:
    """The SAQ cron entries of this module, for ``build_worker``'s ``cron_jobs`` list."""
    from saq import CronJob

    return [CronJob(scheduled_dingtalk_sync, cron=settings.org_sync_cron, timeout=1800),
            CronJob(purge_used_tickets, cron="17 * * * *")]
