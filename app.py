"""Sanic app factory. ``python app.py`` serves on HOST:PORT (see README for every setting)."""
from __future__ import annotations

import asyncio
import functools
import itertools
import logging

from sanic import Sanic

import miniapp_api
from backend import api, db, logs
from backend.runtime import Runtime
from backend.settings import Settings, SettingsError

log = logging.getLogger("esign.app")
_names = itertools.count()


def create_app(settings: Settings | None = None) -> Sanic:
    settings = settings or Settings.from_env()
    logs.configure(settings.log_level, settings.log_json)
    name = "esign" if not Sanic._app_registry else f"esign_{next(_names)}"
    app = Sanic(name, configure_logging=False)
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.OAS_URL_PREFIX = "/docs"
    app.config.OAS_UI_DEFAULT = "redoc"
    app.config.OAS_UI_SWAGGER = False
    app.config.OAS_AUTODOC = False
    app.ext.openapi.describe("e-sign backend REST API", version="1.0.0",
                             description="Signed requests: see README, 'Calling the API'.")
    app.ext.openapi.add_security_scheme("AppSignature", "apiKey", location="header",
                                        name="X-App-Key")
    app.ctx.settings = settings
    api.register(app)
    miniapp_api.register(app)
    _add_listeners(app, settings)
    return app


async def prepare_database(settings: Settings) -> None:
    """Once per deployment start, before workers fork: migrations and demo data."""
    await db.init_db(settings)
    try:
        if settings.auto_migrate:
            await db.migrate(settings)
        if settings.demo_data:
            from backend.demo import prepare_demo
            await prepare_demo(settings)
    finally:
        await db.close_db()


def _add_listeners(app: Sanic, settings: Settings) -> None:
    @app.before_server_start
    async def open_resources(app: Sanic) -> None:
        app.ctx.runtime = Runtime.from_settings(settings)
        await db.init_db(settings)

    @app.after_server_stop
    async def close_resources(app: Sanic) -> None:
        await app.ctx.runtime.close()
        await db.close_db()


def main() -> None:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise SystemExit(f"invalid settings: {exc}") from None
    asyncio.run(prepare_database(settings))
    log.info("serving on http://%s:%s/ with %s worker(s)", settings.host, settings.port,
             settings.workers)
    try:
        if settings.workers > 1:
            # worker processes are spawned: each builds its app from the factory (an app made
            # here, in __main__, is not found by them)
            from sanic.worker.loader import AppLoader

            loader = AppLoader(factory=functools.partial(create_app, settings))
            app = loader.load()
            app.prepare(host=settings.host, port=settings.port, workers=settings.workers,
                        access_log=False, motd=False)
            Sanic.serve(primary=app, app_loader=loader)
        else:
            create_app(settings).run(host=settings.host, port=settings.port, single_process=True,
                                     access_log=False, motd=False)
    except OSError as exc:
        raise SystemExit(f"cannot serve on {settings.host}:{settings.port}: {exc.strerror} "
                         "(set HOST/PORT)") from None


if __name__ == "__main__":
    main()
