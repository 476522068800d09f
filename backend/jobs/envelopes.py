"""Jobs of the signing flows: ``process_envelope_batch`` (one batch, resumable) and the
minute-by-minute housekeeping (expiry, reminders, lapsed agent agreements, stale claims,
batches left running by a dead worker)."""
from __future__ import annotations

import logging
from typing import Any

from backend.jobs.registry import job

log = logging.getLogger(__name__)


@job("process_envelope_batch")
async def process_envelope_batch(ctx: dict[str, Any], batch_id: str) -> str:
    from backend.services.envelopes.batch import process
    from backend.services.metering import holds_scope

    async with holds_scope():  # quota holds of items that failed are given back at the end
        return await process(ctx["runtime"], batch_id)


async def envelope_housekeeping(ctx: dict[str, Any]) -> dict[str, int]:
    from backend.services.envelopes import agents, batch, flow, reminders

    runtime = ctx["runtime"]
    done = {"expired": await reminders.expire_overdue(runtime),
            "reminded": await reminders.send_due_reminders(runtime),
            "agents_lapsed": await agents.lapse_ended_agreements(runtime),
            "claims_released": await flow.release_stale_claims(runtime),
            "batches_resumed": await batch.resume_running(runtime)}
    if any(done.values()):
        log.info("envelope housekeeping: %s", done)
    return done


def cron_jobs(settings: Any) -> list[Any]:
    from saq import CronJob

    return [CronJob(envelope_housekeeping, cron="* * * * *", timeout=300)]
