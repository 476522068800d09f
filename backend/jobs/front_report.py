"""Deliver one front-server report to the central platform (``backend.services.front_reports``)."""
from __future__ import annotations

from typing import Any

from backend.jobs.registry import job


@job("deliver_front_report")
async def deliver_front_report(ctx: dict[str, Any], report_id: str) -> str:
    from backend.services.front_reports import deliver

    return await deliver(ctx["runtime"], report_id)
