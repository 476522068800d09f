"""HTTP layer: blueprints, middleware and the error handler. Handlers stay thin."""
from __future__ import annotations

from sanic import Sanic

from backend.api import (callbacks, errors, health, hooks, identity, messages, middleware,
                         seals, signing_links, whoami)

BLUEPRINTS = (health.bp, whoami.bp, callbacks.bp, signing_links.bp, messages.bp, hooks.bp,
              identity.bp, seals.bp)

from backend.api import admin, org, sso  # noqa: E402 - organisation, SSO, admin console

BLUEPRINTS = BLUEPRINTS + (org.bp, sso.bp, admin.bp)

from backend.api import documents, templates  # noqa: E402 - templates and file centre

BLUEPRINTS = BLUEPRINTS + (templates.bp, documents.bp)


def register(app: Sanic) -> None:
    errors.register(app)
    middleware.register(app)
    for bp in BLUEPRINTS:
        app.blueprint(bp)
    _one_signal_finalize(app)


def _one_signal_finalize(app: Sanic) -> None:
    """Start in ~1 s instead of ~12: sanic-ext adds the automatic HEAD/OPTIONS routes (~230)
    one by one after start-up began, and each ``add_route`` re-built the signal router (a
    code-generated matcher). The signal router is set aside just before sanic-ext's listener
    (priority -1000; higher runs first) and built once right after it: the same routes."""
    @app.before_server_start(priority=-999)
    def _hold_signals(app: Sanic) -> None:
        if app.signal_router.finalized:
            app.signal_router.reset()
            app.ctx.signals_held = True

    @app.before_server_start(priority=-1001)
    def _build_signals(app: Sanic) -> None:
        if getattr(app.ctx, "signals_held", False):
            app.ctx.signals_held = False
            app.signalize(app.config.TOUCHUP)

from backend.api import metrics as metrics_api  # noqa: E402 - /metrics, request metrics

BLUEPRINTS = BLUEPRINTS + (metrics_api.bp,)

from backend.api import admin_pages  # noqa: E402 - statistics page and CSV exports

BLUEPRINTS = BLUEPRINTS + (admin_pages.bp,)

from backend.api import billing as billing_api  # noqa: E402 - usage metering and billing

BLUEPRINTS = BLUEPRINTS + (billing_api.bp,)

from backend.api import envelopes  # noqa: E402 - signing flows

BLUEPRINTS = BLUEPRINTS + (envelopes.bp,)

from backend.api import front_reports as front_reports_api  # noqa: E402 - front-server reports

BLUEPRINTS = BLUEPRINTS + (front_reports_api.bp,)

from backend.api import issuance  # noqa: E402

BLUEPRINTS = BLUEPRINTS + (issuance.bp,)
