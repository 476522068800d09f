"""The job queue: SAQ on Redis in real deployments and tests, in-process for the zero-setup demo.

Why SAQ: asyncio-native like the rest of the stack (Celery and Dramatiq are thread/process based),
jobs with unique keys (enqueueing the same key twice is a no-op, which makes "enqueue after
commit" retries safe), per-job retries with exponential backoff, burst workers for tests, and a
Redis 7 client compatible with the one we use (arq pins redis<6).
"""
from __future__ import annotations

import abc
import asyncio
import logging
from typing import Any

from backend.jobs.registry import RetryableJobError, functions

log = logging.getLogger("esign.jobs")
QUEUE_NAME = "esign"
#: Exponential backoff (with jitter) is capped at 15 minutes between attempts.
MAX_RETRY_DELAY = 900.0


class JobQueue(abc.ABC):
    @abc.abstractmethod
    async def enqueue(self, function: str, *, key: str, retries: int = 6,
                      retry_delay: float = 2.0, timeout: int = 60, **kwargs: Any) -> None:
        """Enqueue once per ``key``; retries use exponential backoff from ``retry_delay``."""

    async def close(self) -> None:
        return None


class SaqJobQueue(JobQueue):
    def __init__(self, redis_url: str) -> None:
        from saq import Queue

        self.saq = Queue.from_url(redis_url, name=QUEUE_NAME)
        self._connected = False

    async def _connect(self) -> None:
        if not self._connected:
            await self.saq.connect()
            self._connected = True

    async def enqueue(self, function: str, *, key: str, retries: int = 6,
                      retry_delay: float = 2.0, timeout: int = 60, **kwargs: Any) -> None:
        await self._connect()
        await self.saq.enqueue(function, key=key, retries=retries, retry_delay=retry_delay,
                               retry_backoff=MAX_RETRY_DELAY, timeout=timeout, **kwargs)

    async def close(self) -> None:
        if self._connected:
            await self.saq.disconnect()
            self._connected = False


class InProcessJobQueue(JobQueue):
    """Runs jobs as tasks of the current process (demo only: nothing survives a restart)."""

    def __init__(self, context: dict[str, Any] | None = None) -> None:
        self.context = context or {}
        self._tasks: set[asyncio.Task] = set()
        self._keys: set[str] = set()

    async def enqueue(self, function: str, *, key: str, retries: int = 6,
                      retry_delay: float = 2.0, timeout: int = 60, **kwargs: Any) -> None:
        if key in self._keys:
            return
        self._keys.add(key)
        task = asyncio.create_task(self._run(function, key, retries, retry_delay, kwargs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, function: str, key: str, retries: int, delay: float,
                   kwargs: dict[str, Any]) -> None:
        fn = functions()[function]
        _outside_transactions()
        try:
            for attempt in range(1, retries + 1):
                try:
                    await fn(self.context, **kwargs)
                    return
                except RetryableJobError as exc:
                    log.warning("job %s attempt %s failed: %s", function, attempt, exc)
                    await asyncio.sleep(min(MAX_RETRY_DELAY, delay * 2 ** (attempt - 1)))
        finally:
            self._keys.discard(key)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _outside_transactions() -> None:
    """A task inherits a copy of its creator's context, where the creator's open transaction
    is the current connection: a job enqueued inside a transaction would run inside it (sharing
    its connection and savepoints, which breaks on SQLite). Point each connection alias back at
    its root client, so the job waits for the database like any other caller."""
    from tortoise.connection import get_connections

    try:
        handler = get_connections()
        storage = handler._copy_storage()  # noqa: SLF001 - tortoise keeps no public API for it
    except Exception:  # noqa: BLE001 - tortoise not initialised (unit tests of the queue)
        return
    changed = False
    for alias, client in storage.items():
        root = client
        while getattr(root, "_parent", None) is not None:
            root = root._parent  # noqa: SLF001
        if root is not client:
            storage[alias], changed = root, True
    if changed:
        handler._set_storage(storage)  # noqa: SLF001


def create_queue(redis_url: str) -> JobQueue:
    return SaqJobQueue(redis_url) if redis_url else InProcessJobQueue()
