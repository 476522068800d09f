"""Database set-up: Tortoise config, migrations, primary/replica routing.

Writes and reads that must see the latest state go to ``default`` (the primary). Reads that can
tolerate replication lag (listings, statistics, audit queries) use ``replica()``, which is the
``DATABASE_REPLICA_URL`` connection when configured and the primary otherwise.
"""
from __future__ import annotations

import pathlib
from typing import Any

from tortoise import Tortoise, connections
from tortoise.exceptions import TransactionManagementError
from tortoise.backends.base.client import BaseDBAsyncClient

from backend.models import MODEL_MODULES
from backend.settings import Settings

MIGRATIONS_MODULE = "backend.migrations"


def _connection(url: str, settings: Settings) -> str | dict[str, Any]:
    if url.startswith("sqlite://"):
        path = url[len("sqlite://"):]
        if path != ":memory:" and not pathlib.Path(path).is_absolute():
            path = str(settings.data_path.parent / path) if path.startswith(settings.data_dir) \
                else str(pathlib.Path(path).resolve())
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite://{path}"
    url = url.replace("postgresql://", "postgres://", 1)
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}minsize=1&maxsize={settings.db_pool_max}"


def tortoise_config(settings: Settings) -> dict[str, Any]:
    conns: dict[str, Any] = {"default": _connection(settings.database_url, settings)}
    if settings.database_replica_url:
        conns["replica"] = _connection(settings.database_replica_url, settings)
    return {
        "connections": conns,
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default",
                            "migrations": MIGRATIONS_MODULE}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _patch_pooled_transactions() -> None:
    """Make a failed transaction give its pooled connection back and end its context.

    tortoise-orm 1.1.9 ``TransactionContextPooled`` leaks when the connection dies (PostgreSQL
    restarted, ``pg_terminate_backend``, network cut): when ``BEGIN`` fails in ``__aenter__`` the
    connection is never released and the task's connection context keeps pointing at the dead
    transaction; when releasing fails in ``__aexit__`` (asyncpg cannot reset a closed connection)
    the context is not reset either. Sanic serves the requests of one keep-alive connection in
    one task, so every later request on that connection then failed with "connection has been
    released back to the pool". Here the context is always reset and a release failure (the
    connection is already terminated by asyncpg, its pool slot freed) does not hide the outcome.
    """
    import logging

    from tortoise.backends.base.client import TransactionContextPooled
    from tortoise.connection import get_connections

    if getattr(TransactionContextPooled, "_esign_safe", False):
        return
    log = logging.getLogger("esign.db")

    async def release(ctx: TransactionContextPooled) -> None:
        pool = ctx.client._parent._pool
        try:
            if pool and ctx.client._connection is not None:
                await pool.release(ctx.client._connection)
        except Exception as exc:  # noqa: BLE001 - asyncpg has terminated the connection
            log.warning("dropped a broken database connection: %s: %s", type(exc).__name__, exc)
        finally:
            get_connections().reset(ctx.token)

    async def aenter(self: TransactionContextPooled):
        await self.ensure_connection()
        self.client._connection = await self.client._parent._pool.acquire()
        self.token = get_connections().set(self.connection_name, self.client)
        try:
            await self.client.begin()
        except BaseException:
            await release(self)
            raise
        return self.client

    async def aexit(self: TransactionContextPooled, exc_type, exc_val, exc_tb) -> None:
        try:
            if not self.client._finalized:
                if exc_type:
                    if exc_type is not TransactionManagementError:
                        await self.client.rollback()
                else:
                    await self.client.commit()
        finally:
            await release(self)

    TransactionContextPooled.__aenter__ = aenter  # type: ignore[method-assign]
    TransactionContextPooled.__aexit__ = aexit  # type: ignore[method-assign]
    TransactionContextPooled._esign_safe = True  # type: ignore[attr-defined]


_patch_pooled_transactions()


async def init_db(settings: Settings) -> None:
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def migrate(settings: Settings) -> None:
    """Apply every pending migration (idempotent)."""
    from tortoise.migrations.api import migrate as run_migrations

    await run_migrations(config=tortoise_config(settings))


def primary() -> BaseDBAsyncClient:
    return connections.get("default")


def replica() -> BaseDBAsyncClient:
    """The read replica when configured, else the primary."""
    try:
        return connections.get("replica")
    except Exception:  # noqa: BLE001 - tortoise raises ConfigurationError when absent
        return connections.get("default")


def dialect() -> str:
    return primary().capabilities.dialect


async def ping() -> bool:
    try:
        await primary().execute_query("SELECT 1")
        return True
    except Exception:  # any failure means "not ready"
        return False


async def insert_with_ids(model, rows: list) -> None:
    """Insert rows of a model with a serial id and set each row's id (bulk paths need them:
    metering keys, references). PostgreSQL: the ids come from the table's sequence in one query
    and the rows go in one ``executemany``; SQLite (the demo): one insert per row."""
    from tortoise.transactions import in_transaction

    if not rows:
        return
    async with in_transaction("default") as conn:
        if conn.capabilities.dialect != "postgres":
            for row in rows:
                await row.save(using_db=conn, force_create=True)
            return
        table = model._meta.db_table
        _, ids = await conn.execute_query(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) AS id "
            "FROM generate_series(1, $1)", [len(rows)])
        for row, got in zip(rows, ids):
            row.id = int(got["id"])
            row._custom_generated_pk = True  # tortoise then inserts the id given
        await bulk_insert(model, rows, conn)


async def bulk_insert(model, rows: list, conn=None) -> None:
    """``bulk_create`` that leaves the rows usable as saved instances (tortoise does not mark
    them, and refuses to reference an unsaved row)."""
    if rows:
        await model.bulk_create(rows, using_db=conn)
        for row in rows:
            row._saved_in_db = True
