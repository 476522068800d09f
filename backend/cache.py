"""Cache, one-time markers (nonces), counters (rate limits) and locks behind one small interface.

``RedisCache`` is for real deployments and tests; ``MemoryCache`` is the zero-setup default for a
single process. Choose with ``create_cache(REDIS_URL)``.
"""
from __future__ import annotations

import abc
import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

from backend.errors import Conflict


class LockTimeout(Conflict):
    code, message = "LOCK_TIMEOUT", "the resource is busy, retry later"


class Cache(abc.ABC):
    @abc.abstractmethod
    async def get(self, key: str) -> bytes | None: ...

    @abc.abstractmethod
    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...

    @abc.abstractmethod
    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        """Set only if absent; True when this call created it (used for nonces and locks)."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None: ...

    @abc.abstractmethod
    async def incr(self, key: str, ttl: float) -> int:
        """Increment a counter that expires ``ttl`` seconds after its first increment."""

    @abc.abstractmethod
    async def _release(self, key: str, token: bytes) -> None: ...

    @abc.abstractmethod
    async def ping(self) -> bool: ...

    async def close(self) -> None:
        return None

    async def hit_rate_limit(self, key: str, limit: int, window: float) -> bool:
        """Count one hit in a fixed window; True when the limit is exceeded."""
        return await self.incr(f"rl:{key}:{int(time.time() // window)}", window) > limit

    @contextlib.asynccontextmanager
    async def lock(self, name: str, ttl: float = 30, wait: float = 10) -> AsyncIterator[None]:
        """A mutual-exclusion lock shared by every process using the same cache."""
        key, token = f"lock:{name}", uuid.uuid4().bytes
        deadline = time.monotonic() + wait
        while not await self.add(key, token, ttl):
            if time.monotonic() > deadline:
                raise LockTimeout()
            await asyncio.sleep(0.01)
        try:
            yield
        finally:
            await self._release(key, token)


class MemoryCache(Cache):
    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}

    def _live(self, key: str) -> tuple[bytes, float | None] | None:
        item = self._data.get(key)
        if item and item[1] is not None and item[1] <= time.monotonic():
            del self._data[key]
            return None
        return item

    async def get(self, key: str) -> bytes | None:
        item = self._live(key)
        return item[0] if item else None

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        self._data[key] = (value, time.monotonic() + ttl if ttl else None)

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        if self._live(key):
            return False
        await self.set(key, value, ttl)
        return True

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def incr(self, key: str, ttl: float) -> int:
        item = self._live(key)
        count = int(item[0]) + 1 if item else 1
        expiry = item[1] if item else time.monotonic() + ttl
        self._data[key] = (str(count).encode(), expiry)
        return count

    async def _release(self, key: str, token: bytes) -> None:
        item = self._live(key)
        if item and item[0] == token:
            del self._data[key]

    async def ping(self) -> bool:
        return True


_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisCache(Cache):
    def __init__(self, url: str, prefix: str = "esign:") -> None:
        import redis.asyncio as redis_asyncio

        self._redis = redis_asyncio.from_url(url, socket_timeout=5, socket_connect_timeout=3)
        self._prefix = prefix

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> bytes | None:
        return await self._redis.get(self._k(key))

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self._redis.set(self._k(key), value, px=int(ttl * 1000) if ttl else None)

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        return bool(await self._redis.set(self._k(key), value, px=int(ttl * 1000), nx=True))

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._k(key))

    async def incr(self, key: str, ttl: float) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._k(key))
            pipe.pexpire(self._k(key), int(ttl * 1000), nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def _release(self, key: str, token: bytes) -> None:
        await self._redis.eval(_RELEASE_SCRIPT, 1, self._k(key), token)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:  # any connection problem means "not ready"
            return False

    async def close(self) -> None:
        await self._redis.aclose()


def create_cache(redis_url: str) -> Cache:
    return RedisCache(redis_url) if redis_url else MemoryCache()
