"""The SAQ worker: ``python -m backend.jobs worker [--concurrency N] [--burst]``.

Each worker process opens the database and builds its own ``Runtime``; jobs receive it as
``ctx["runtime"]``. A cron job re-enqueues messages left ``queued`` (lost enqueue, crash).
"""
from __future__ import annotations

from typing import Any

from saq import CronJob, Worker

from backend import db, metrics
from backend.jobs.queue import SaqJobQueue
from backend.jobs.registry import functions
from backend.runtime import Runtime
from backend.settings import Settings


async def requeue_stale_messages(ctx: dict[str, Any]) -> int:
    from backend.services.messages import requeue_stale

    return await requeue_stale(ctx["runtime"])


def scheduled_jobs(settings: Settings) -> list[CronJob]:
    """Periodic jobs: re-enqueue stale messages, the daily DingTalk organisation sync
    (ORG_SYNC_CRON) and the hourly purge of used SSO tickets."""
    from backend.jobs import envelopes, sync_org

    jobs = [CronJob(requeue_stale_messages, cron="* * * * *"), *sync_org.cron_jobs(settings),
            *envelopes.cron_jobs(settings)]
    if settings.front_server_mode:  # front-server reports a lost enqueue left pending
        jobs.append(CronJob(requeue_front_reports, cron="*/5 * * * *"))
    return jobs


async def requeue_front_reports(ctx: dict[str, Any]) -> int:
    from backend.services.front_reports import requeue_pending

    return await requeue_pending(ctx["runtime"])


def build_worker(settings: Settings, *, concurrency: int = 10, burst: bool = False,
                 runtime: Runtime | None = None, manage_db: bool = True) -> Worker:
    if not settings.redis_url:
        raise SystemExit("the worker needs REDIS_URL (without Redis, jobs run inside the server)")
    queue = SaqJobQueue(settings.redis_url).saq

    async def startup(ctx: dict[str, Any]) -> None:
        if manage_db:
            await db.init_db(settings)
        ctx["runtime"] = runtime or Runtime.from_settings(settings)
        if not burst:  # batches a killed worker left half done go on at once
            from backend.services.envelopes.batch import resume_running
            await resume_running(ctx["runtime"])

    async def shutdown(ctx: dict[str, Any]) -> None:
        if runtime is None:
            await ctx["runtime"].close()
        if manage_db:
            await db.close_db()

    return metrics.instrument_worker(Worker(  # job metrics (backend.metrics)
        queue, functions=list(functions().items()), concurrency=concurrency,
        startup=startup, shutdown=shutdown, burst=burst, dequeue_timeout=1,
        cron_jobs=[] if burst else scheduled_jobs(settings)),
        port=0 if burst else settings.worker_metrics_port)
