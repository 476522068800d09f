"""Database set-up: Tortoise config, migrations, primary/replica routing.

Writes and reads that must see the latest state go to ``default`` (the primary). Reads that can
tolerate replication lag (listings, statistics, audit queries) use ``replica()``, which is the
``DATABASE_REPLICA_URL`` connection when configured and the primary otherwise.
"""
from __future__ import annotations

import pathlib
from typing import Any

from tortoise import Tortoise, connections
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
