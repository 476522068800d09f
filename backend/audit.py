"""Tamper-evident operation log [操作日志, 日志审计].

Every sensitive action appends an entry whose hash is SM3(previous hash || canonical entry).
Appending happens inside the caller's transaction, so the entry exists exactly when the state
change does. ``verify_chain`` (``python -m backend.audit verify``) walks the chain and reports the
first broken link: an edited row (hash mismatch), a deleted row (gap in ``seq``) or reordered rows
(``prev_hash`` mismatch).

Concurrent appends are serialised per database: a transaction-scoped advisory lock on PostgreSQL,
and the single writer of SQLite plus an in-process lock.

The in-process lock is taken only on SQLite and only inside the transaction. (It used to be
taken on PostgreSQL too, before the transaction and the advisory lock: a transaction appending
twice — a seal use and its risk alert — then waited for the in-process lock held by a request
that itself waited for the advisory lock the first transaction held, and both hung.)
"""
from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import datetime as dt
import json
import sys
import weakref
from typing import Any

from tortoise.transactions import in_transaction

from backend.models.audit import AuditEntry
from backend.services import stat_counters
from sign.crypto.sm3 import sm3_digest

GENESIS_HASH = "0" * 64
_PG_LOCK_ID = 0x45534947  # "ESIG"
#: One lock per event loop, forgotten with the loop (tests run many loops in one process).
_local_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = \
    weakref.WeakKeyDictionary()


def _local_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    return _local_locks.setdefault(loop, asyncio.Lock())


@dataclasses.dataclass(frozen=True)
class AuditContext:
    """Who is acting and from where; set per request by the web layer, read by services."""
    actor: str = "system"
    tenant_id: str | None = None
    ip: str = ""
    user_agent: str = ""
    request_id: str = ""


current_context: contextvars.ContextVar[AuditContext] = contextvars.ContextVar(
    "audit_context", default=AuditContext())


def canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def _hashable_fields(row: AuditEntry) -> dict[str, Any]:
    return {
        "seq": row.seq, "tenant_id": str(row.tenant_id) if row.tenant_id else None,
        "actor": row.actor, "action": row.action, "target": row.target, "result": row.result,
        "ip": row.ip, "user_agent": row.user_agent, "request_id": row.request_id,
        "details": row.details, "created_at": _iso(row.created_at),
    }


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return sm3_digest(bytes.fromhex(prev_hash) + canonical(fields)).hex()


async def _lock_chain(conn) -> None:
    """On PostgreSQL, the chain's advisory lock, held to commit (granted at once when the same
    transaction asks again)."""
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_PG_LOCK_ID])


async def record(action: str, target: str = "", *, result: str = "ok",
                 details: dict[str, Any] | None = None, actor: str | None = None,
                 tenant_id: str | None = None) -> AuditEntry:
    """Append one entry in the current transaction (or a new one when none is open)."""
    return (await record_many([Entry(action, target, result, details, actor, tenant_id)]))[0]


@dataclasses.dataclass(frozen=True)
class Entry:
    """One entry to append (``record``'s arguments)."""
    action: str
    target: str = ""
    result: str = "ok"
    details: dict[str, Any] | None = None
    actor: str | None = None
    tenant_id: str | None = None


async def record_many(entries: list[Entry]) -> list[AuditEntry]:
    """Append several entries in order with one chain lock, one read of the chain's end, one
    multi-row insert and one counter upsert (bulk issuance logs four entries per policy)."""
    async with in_transaction("default") as conn:
        if conn.capabilities.dialect == "postgres":
            await _lock_chain(conn)
            return await _append(conn, entries)
        async with _local_lock():
            return await _append(conn, entries)


async def _append(conn, entries: list[Entry]) -> list[AuditEntry]:
    ctx = current_context.get()
    last = await AuditEntry.all().using_db(conn).order_by("-seq").first()
    seq, prev_hash = (last.seq, last.hash) if last else (0, GENESIS_HASH)
    now = dt.datetime.now(dt.timezone.utc)
    rows = []
    for entry in entries:
        seq += 1
        row = AuditEntry(
            seq=seq,
            tenant_id=entry.tenant_id if entry.tenant_id is not None else ctx.tenant_id,
            actor=entry.actor or ctx.actor, action=entry.action, target=entry.target,
            result=entry.result, ip=ctx.ip, user_agent=ctx.user_agent[:300],
            request_id=ctx.request_id, details=entry.details or {}, created_at=now,
            prev_hash=prev_hash)
        row.hash = prev_hash = chain_hash(row.prev_hash, _hashable_fields(row))
        rows.append(row)
    if len(rows) == 1:
        await rows[0].save(using_db=conn, force_create=True)  # keeps the row id for callers
    else:
        await AuditEntry.bulk_create(rows, using_db=conn)
    await stat_counters.bump_many(conn, rows)  # statistics counters, same transaction
    return rows


@dataclasses.dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    broken_at: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


async def verify_chain(batch: int = 1000) -> ChainReport:
    """Recompute the chain in ``seq`` order; report the first entry that does not link."""
    prev_hash, expected_seq, count = GENESIS_HASH, 1, 0
    while True:
        rows = await AuditEntry.filter(seq__gte=expected_seq).order_by("seq").limit(batch)
        if not rows:
            return ChainReport(ok=True, entries=count)
        for row in rows:
            problem = _check_link(row, expected_seq, prev_hash)
            if problem:
                return ChainReport(ok=False, entries=count, broken_at=expected_seq, reason=problem)
            prev_hash, expected_seq, count = row.hash, expected_seq + 1, count + 1


def _check_link(row: AuditEntry, expected_seq: int, prev_hash: str) -> str:
    if row.seq != expected_seq:
        return f"entry {expected_seq} is missing (next entry is {row.seq}): deleted"
    if row.prev_hash != prev_hash:
        return f"entry {row.seq} does not follow entry {row.seq - 1}: reordered or replaced"
    if chain_hash(row.prev_hash, _hashable_fields(row)) != row.hash:
        return f"entry {row.seq} content does not match its hash: edited"
    return ""


async def _main(argv: list[str]) -> int:
    from backend.db import close_db, init_db
    from backend.settings import Settings

    if argv[:1] != ["verify"]:
        print("usage: python -m backend.audit verify", file=sys.stderr)
        return 2
    await init_db(Settings.from_env())
    try:
        report = await verify_chain()
    finally:
        await close_db()
    print(json.dumps(report.to_dict(), ensure_ascii=False))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(_main(sys.argv[1:])))
