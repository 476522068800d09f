"""Job functions by name. A job function is ``async def fn(ctx: dict, **kwargs)``.

A job raises ``RetryableJobError`` to be retried with exponential backoff; any other outcome
(including a definite failure it has recorded itself) finishes the job.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

JobFunction = Callable[..., Awaitable[Any]]
_FUNCTIONS: dict[str, JobFunction] = {}


class RetryableJobError(Exception):
    """A transient failure: the queue retries the job later."""


def job(name: str) -> Callable[[JobFunction], JobFunction]:
    def register(fn: JobFunction) -> JobFunction:
        _FUNCTIONS[name] = fn
        return fn
    return register


def functions() -> dict[str, JobFunction]:
    import backend.jobs.deliver_callback  # noqa: F401 - registers its job
    import backend.jobs.deliver_message  # noqa: F401 - registers its job
    import backend.jobs.front_report  # noqa: F401 - registers deliver_front_report
    import backend.jobs.envelopes  # noqa: F401 - batches of envelopes
    import backend.jobs.sync_org  # noqa: F401 - registers sync_dingtalk_org

    return dict(_FUNCTIONS)
