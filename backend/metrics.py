"""Prometheus metrics [服务监控]: one registry per process, rendered at ``GET /metrics``.

What is measured, and where it is recorded:

* HTTP requests by route name, method and status, with latency (``backend.api.metrics``'s
  request/response middleware);
* jobs by function (label ``function``: Prometheus reserves ``job`` for the scrape job): runs by
  outcome, run time and queue wait (``instrument_worker``, hooked into
  the SAQ worker by ``backend.jobs.worker.build_worker``);
* signatures by algorithm (``signature_made(alg)``: the seal-application route counts its
  signatures from its answer; signing flows that sign outside that route call it themselves);
* outside providers (SMS/WeChat/DingTalk/e-mail channels, identity/enterprise/face providers):
  call latency and failures (``instrumented(obj, provider)`` wraps every public coroutine method;
  ``provider_call(provider, operation)`` is the context manager for anything else);
* at scrape time (``snapshot_metrics``): job queue depth, database pool use, certificates and
  keys nearing expiry (``backend.cert_check``).

Processes. Each process has its own registry: a Sanic worker serves its own counters at
``/metrics``, and a job worker serves its counters on ``WORKER_METRICS_PORT``. With ``WORKERS`` >
1, either scrape every worker (one port each, behind no load balancer) or set the
``PROMETHEUS_MULTIPROC_DIR`` environment variable to an empty directory before the server starts
(prometheus_client's multiprocess mode): ``/metrics`` then adds up the counters and histograms
of every worker process of that host. Queue depth is global (Redis): aggregate it with ``max``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import inspect
import logging
import os
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

log = logging.getLogger("esign.metrics")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REGISTRY = CollectorRegistry(auto_describe=True)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)

HTTP_REQUESTS = Counter("esign_http_requests_total", "HTTP requests answered",
                        ["route", "method", "status"], registry=REGISTRY)
HTTP_LATENCY = Histogram("esign_http_request_duration_seconds", "HTTP request latency",
                         ["route", "method"], buckets=LATENCY_BUCKETS, registry=REGISTRY)
JOB_RUNS = Counter("esign_job_runs_total",
                   "job attempts by outcome (complete, retry, failed, aborted)",
                   ["function", "outcome"], registry=REGISTRY)
JOB_DURATION = Histogram("esign_job_duration_seconds", "run time of one job attempt", ["function"],
                         buckets=JOB_BUCKETS, registry=REGISTRY)
JOB_WAIT = Histogram("esign_job_queue_wait_seconds",
                     "time from enqueue (or scheduled retry) to the start of an attempt", ["function"],
                     buckets=JOB_BUCKETS, registry=REGISTRY)
SIGNATURES = Counter("esign_signatures_total", "signatures made, by algorithm", ["alg"],
                     registry=REGISTRY)
PROVIDER_CALLS = Counter("esign_provider_calls_total",
                         "calls to outside providers by outcome (ok, error)",
                         ["provider", "operation", "outcome"], registry=REGISTRY)
PROVIDER_LATENCY = Histogram("esign_provider_call_duration_seconds",
                             "latency of calls to outside providers", ["provider", "operation"],
                             buckets=LATENCY_BUCKETS, registry=REGISTRY)


# ----------------------------------------------------------------------------- recording hooks
def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_LATENCY.labels(route, method).observe(max(seconds, 0.0))


def signature_made(alg: str, count: int = 1) -> None:
    """Count ``count`` signatures made with ``alg`` (sm2, rsa, ...)."""
    SIGNATURES.labels(alg).inc(count)


@contextlib.asynccontextmanager
async def provider_call(provider: str, operation: str) -> AsyncIterator[None]:
    """Time one call to an outside provider; an exception counts as a failure (and goes on)."""
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        PROVIDER_LATENCY.labels(provider, operation).observe(time.perf_counter() - started)
        PROVIDER_CALLS.labels(provider, operation, outcome).inc()


_NOT_MEASURED = frozenset({"aclose", "close"})


class Instrumented:
    """A transparent proxy: public coroutine methods are timed as provider calls, everything
    else (attributes, plain methods such as ``LocalChannel.recent``) passes through."""

    def __init__(self, target: Any, provider: str) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_provider", provider)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name.startswith("_") or name in _NOT_MEASURED or not inspect.iscoroutinefunction(value):
            return value
        provider = self._provider

        async def measured(*args: Any, **kwargs: Any) -> Any:
            async with provider_call(provider, name):
                return await value(*args, **kwargs)

        return measured

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __repr__(self) -> str:
        return f"Instrumented({self._target!r}, {self._provider!r})"


def instrumented(target: Any, provider: str) -> Any:
    """``target`` with its coroutine methods measured under ``provider`` (idempotent)."""
    return target if isinstance(target, Instrumented) else Instrumented(target, provider)


# ----------------------------------------------------------------------------- job worker
def _job_outcome(job: Any, ctx: dict[str, Any]) -> str:
    status = str(getattr(getattr(job, "status", None), "value", getattr(job, "status", "")))
    if status in ("complete", "failed", "aborted"):
        return status
    return "retry" if "exception" in ctx else (status or "unknown")


def instrument_worker(worker: Any, port: int = 0) -> Any:
    """Add run/latency/outcome hooks to a SAQ ``Worker``; ``port`` > 0 also serves this
    process's metrics over HTTP (``/metrics`` on that port) from the worker's start-up."""
    async def before(ctx: dict[str, Any]) -> None:
        job = ctx.get("job")
        if job is None:
            return
        ctx["metrics_started"] = time.perf_counter()
        # SAQ: queued/started in epoch milliseconds, scheduled (retries, delays) in seconds
        ready_ms = max(getattr(job, "queued", 0) or 0, (getattr(job, "scheduled", 0) or 0) * 1000)
        started_ms = getattr(job, "started", 0) or 0
        if ready_ms and started_ms:
            JOB_WAIT.labels(job.function).observe(max(started_ms - ready_ms, 0) / 1000)

    async def after(ctx: dict[str, Any]) -> None:
        job = ctx.get("job")
        if job is None or "metrics_started" not in ctx:
            return
        JOB_DURATION.labels(job.function).observe(time.perf_counter() - ctx["metrics_started"])
        JOB_RUNS.labels(job.function, _job_outcome(job, ctx)).inc()

    worker.before_process = [*(worker.before_process or []), before]
    worker.after_process = [*(worker.after_process or []), after]
    if port:
        async def serve(ctx: dict[str, Any]) -> None:
            start_http_exporter(port)

        worker.startup = [*(worker.startup or []), serve]
    return worker


_exporters: dict[int, Any] = {}


def start_http_exporter(port: int, addr: str = "0.0.0.0") -> None:
    """Serve this process's registry on ``port`` (once per port per process)."""
    from prometheus_client import start_http_server

    if port not in _exporters:
        _exporters[port] = start_http_server(port, addr=addr, registry=_exposed_registry())
        log.info("job worker metrics on :%s/metrics", port)


# ----------------------------------------------------------------------------- scrape time
@dataclasses.dataclass(eq=False)  # hashable: registered as a collector
class Snapshot:
    """Gauges read at scrape time (they need awaiting, so they are gathered before rendering)."""
    queue: dict[str, int] = dataclasses.field(default_factory=dict)
    inprocess_jobs: int | None = None
    pools: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    certificates: list[Any] = dataclasses.field(default_factory=list)

    def collect(self) -> Iterable[Metric]:
        if self.queue:
            depth = GaugeMetricFamily("esign_job_queue_depth",
                                      "jobs in the SAQ queue by state (queued, active, incomplete)",
                                      labels=["state"])
            for state, count in self.queue.items():
                depth.add_metric([state], count)
            yield depth
        if self.inprocess_jobs is not None:
            yield GaugeMetricFamily("esign_inprocess_jobs_pending",
                                    "jobs running or waiting in the in-process queue (no Redis)",
                                    value=self.inprocess_jobs)
        if self.pools:
            fams = {key: GaugeMetricFamily(f"esign_db_pool_{key}", text, labels=["connection"])
                    for key, text in (("size", "open connections in this worker's pool"),
                                      ("in_use", "connections checked out of the pool"),
                                      ("max", "largest allowed pool size (DB_POOL_MAX)"))}
            for name, pool in self.pools.items():
                for key, fam in fams.items():
                    fam.add_metric([name], pool[key])
            yield from fams.values()
        if self.certificates:
            left = GaugeMetricFamily("esign_certificate_expiry_seconds",
                                     "seconds until the certificate expires (negative: expired)",
                                     labels=["kind", "alg", "subject", "id"])
            end = GaugeMetricFamily("esign_certificate_not_after_timestamp_seconds",
                                    "certificate notAfter as a Unix time",
                                    labels=["kind", "alg", "subject", "id"])
            now = time.time()
            for cert in self.certificates:
                labels = [cert.kind, cert.alg, cert.subject, cert.id]
                left.add_metric(labels, cert.not_after.timestamp() - now)
                end.add_metric(labels, cert.not_after.timestamp())
            yield left
            yield end


async def snapshot_metrics(runtime: Any) -> Snapshot:
    snap = Snapshot()
    jobs = runtime.jobs
    saq = getattr(jobs, "saq", None)
    if saq is not None:
        try:
            for state in ("queued", "active", "incomplete"):
                snap.queue[state] = await saq.count(state)
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail on Redis
            log.warning("queue depth unavailable: %s", exc)
            snap.queue.clear()
    elif hasattr(jobs, "_tasks"):
        snap.inprocess_jobs = len(jobs._tasks)  # noqa: SLF001 - the in-process queue's tasks
    snap.pools = database_pools()
    try:
        from backend.cert_check import certificate_expiries

        snap.certificates = await certificate_expiries(runtime)
    except Exception as exc:  # noqa: BLE001
        log.warning("certificate check failed: %s", exc)
    return snap


def database_pools() -> dict[str, dict[str, int]]:
    """asyncpg pool use of this process's Tortoise connections (PostgreSQL only)."""
    from tortoise import connections

    pools: dict[str, dict[str, int]] = {}
    for name in ("default", "replica"):
        try:
            client = connections.get(name)
        except Exception:  # noqa: BLE001 - not configured
            continue
        pool = getattr(client, "_pool", None)
        if pool is None or not hasattr(pool, "get_size"):
            continue
        size = pool.get_size()
        pools[name] = {"size": size, "in_use": size - pool.get_idle_size(),
                       "max": pool.get_max_size()}
    return pools


def _exposed_registry() -> CollectorRegistry:
    """REGISTRY, or in multiprocess mode a registry adding up every process's files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def render(snapshot: Snapshot | None = None) -> bytes:
    """The text exposition of this process (plus a scrape-time snapshot)."""
    text = generate_latest(_exposed_registry())
    if snapshot is not None:
        extra = CollectorRegistry(auto_describe=False)
        extra.register(snapshot)  # type: ignore[arg-type] - has collect()
        text += generate_latest(extra)
    return text
