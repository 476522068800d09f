"""The cache interface behaves the same on Redis (real server) and in-process."""
from __future__ import annotations

import asyncio

import pytest

from backend.cache import LockTimeout, MemoryCache, RedisCache


@pytest.fixture(params=["redis", "memory"])
async def cache(request, db, test_settings):
    instance = RedisCache(test_settings.redis_url) if request.param == "redis" else MemoryCache()
    yield instance
    await instance.close()


async def test_get_set_delete_and_expiry(cache):
    assert await cache.get("k") is None
    await cache.set("k", b"v", ttl=0.2)
    assert await cache.get("k") == b"v"
    await asyncio.sleep(0.3)
    assert await cache.get("k") is None
    await cache.set("k", b"v")
    await cache.delete("k")
    assert await cache.get("k") is None


async def test_add_only_once(cache):
    assert await cache.add("nonce", b"1", ttl=5)
    assert not await cache.add("nonce", b"1", ttl=5)


async def test_counters_and_rate_limits(cache):
    assert [await cache.incr("c", ttl=5) for _ in range(3)] == [1, 2, 3]
    hits = [await cache.hit_rate_limit("sms:138", limit=2, window=60) for _ in range(3)]
    assert hits == [False, False, True]


async def test_lock_is_mutually_exclusive(cache):
    order = []

    async def worker(name: str) -> None:
        async with cache.lock("doc-1", ttl=5):
            order.append(f"{name}-in")
            await asyncio.sleep(0.05)
            order.append(f"{name}-out")

    await asyncio.gather(worker("a"), worker("b"))
    assert order in (["a-in", "a-out", "b-in", "b-out"], ["b-in", "b-out", "a-in", "a-out"])


async def test_lock_wait_times_out(cache):
    async with cache.lock("doc-2", ttl=5):
        with pytest.raises(LockTimeout):
            async with cache.lock("doc-2", ttl=5, wait=0.1):
                pass


async def test_ping(cache):
    assert await cache.ping()


async def test_unreachable_redis_is_not_ready():
    broken = RedisCache("redis://127.0.0.1:1/0")
    assert not await broken.ping()
    await broken.close()
