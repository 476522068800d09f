"""HTTP layer: blueprints, middleware and the error handler. Handlers stay thin."""
from __future__ import annotations

from sanic import Sanic

from backend.api import (callbacks, errors, health, hooks, identity, messages, middleware,
                         signing_links, whoami)

BLUEPRINTS = (health.bp, whoami.bp, callbacks.bp, signing_links.bp, messages.bp, hooks.bp,
              identity.bp)


def register(app: Sanic) -> None:
    errors.register(app)
    middleware.register(app)
    for bp in BLUEPRINTS:
        app.blueprint(bp)
