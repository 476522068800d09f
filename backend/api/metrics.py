"""Monitoring endpoints: Prometheus ``/metrics`` and ``/healthz/certificates`` (certificates and
keys nearing expiry), plus the request metrics middleware (registered with the blueprint).

Both endpoints need ``Authorization: Bearer <METRICS_TOKEN>`` when that setting is set.
"""
from __future__ import annotations

import hmac
import json as jsonlib
import time

from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json, raw
from sanic_ext import openapi

from backend import metrics
from backend.errors import AppError

SEAL_APPLY_ROUTE = "seals.seal_apply"


class MetricsTokenInvalid(AppError):
    status = 401
    code = "METRICS_TOKEN_INVALID"
    message = "a valid 'Authorization: Bearer <METRICS_TOKEN>' is required"


class _MetricsBlueprint(Blueprint):
    """Registering the blueprint also registers the app-wide request metrics middleware."""

    def register(self, app: Sanic, options: dict) -> None:
        super().register(app, options)
        app.register_middleware(start_timer, "request")
        app.register_middleware(record_request, "response")


bp = _MetricsBlueprint("metrics")


def route_name(request: Request) -> str:
    """The route's name without the app prefix (``seals.seal_apply``); bounded cardinality:
    unrouted requests (404, 405) are all ``unmatched``."""
    route = getattr(request, "route", None)
    if route is None:
        return "unmatched"
    return route.name.split(".", 1)[1] if "." in route.name else route.name


async def start_timer(request: Request) -> None:
    if not hasattr(request.ctx, "metrics_started"):
        request.ctx.metrics_started = time.perf_counter()


async def record_request(request: Request, response: HTTPResponse) -> None:
    started = getattr(request.ctx, "metrics_started", None)
    elapsed = time.perf_counter() - started if started is not None else 0.0
    route = route_name(request)
    metrics.observe_request(route, request.method, response.status, elapsed)
    if route == SEAL_APPLY_ROUTE and response.status == 201 \
            and response.headers.get("Idempotent-Replayed") != "true":
        _count_signatures(response)


def _count_signatures(response: HTTPResponse) -> None:
    try:
        algorithms = jsonlib.loads(response.body or b"{}").get("algorithms") or []
    except (ValueError, AttributeError):
        return
    for alg in algorithms:
        metrics.signature_made(str(alg))


def _check_token(request: Request) -> None:
    token = request.app.ctx.settings.metrics_token
    if not token:
        return
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise MetricsTokenInvalid()


@bp.get("/metrics")
@openapi.summary("Prometheus metrics (text exposition format)")
@openapi.description("Request rate/latency/errors per route, signatures per algorithm, provider "
                     "calls, job queue depth, database pool use, certificate expiry. Needs "
                     "'Authorization: Bearer <METRICS_TOKEN>' when METRICS_TOKEN is set.")
async def metrics_endpoint(request: Request) -> HTTPResponse:
    _check_token(request)
    snapshot = await metrics.snapshot_metrics(request.app.ctx.runtime)
    return raw(metrics.render(snapshot), content_type=metrics.CONTENT_TYPE)


@bp.get("/healthz/certificates")
@openapi.summary("Self-check: platform, company and TSA certificates nearing expiry")
@openapi.description("status is ok, warning (within CERT_EXPIRY_WARNING_DAYS) or expired, the "
                     "worst of the listed certificates. Needs 'Authorization: Bearer "
                     "<METRICS_TOKEN>' when METRICS_TOKEN is set.")
async def certificates_endpoint(request: Request) -> HTTPResponse:
    from backend.cert_check import certificate_report

    _check_token(request)
    return json(await certificate_report(request.app.ctx.runtime))
