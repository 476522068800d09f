#!/usr/bin/env python
"""End-to-end throughput benchmark (not a test): e-policies through the REST API.

Starts the real server (``python app.py``, WORKERS processes) on 127.0.0.1 against PostgreSQL and
Redis, creates a tenant (``python -m backend.admin create-tenant``), imports the example templates,
makes + approves an official seal, binds a dual (SM2 + RSA) certificate and grants the seal; then
N concurrent clients (asyncio + httpx, signed requests) each loop over one e-policy:

    POST /api/v1/templates/e_policy/fill   (Idempotency-Key; a new policy number each time)
    POST /api/v1/documents/{id}/seal       (silent company seal: SM2 then RSA, stored)

for ``--seconds`` after a ``--warmup``; or, with ``--batch N``, each client posts N e-policies
per ``POST /api/v1/templates/e_policy/issue`` (bulk issuance: fill + seal + store in one
transaction). Prints policies/s, p50/p95/p99 latency (fill + seal, and
each step), CPU seconds per policy (the server process and its children; PostgreSQL, Redis and
this load generator shown apart), and the server's RSS after warm-up vs at the end (memory flat).
Writes JSON (``bench-results/e2e_bench.json`` or ``--json PATH``).

    .venv/bin/python scripts/bench/e2e_bench.py [--seconds 60] [--clients 16] [--workers 2]
    .venv/bin/python scripts/bench/e2e_bench.py --seconds 600      # the issue's 10 minutes
    .venv/bin/python scripts/bench/e2e_bench.py --batch 100 --clients 8   # bulk issuance

The database named by ``--db`` (default ``e2e_bench``) is created when missing and its schema is
reset (``--keep-db`` keeps it); Redis database ``--redis-db`` (default 7) is flushed.
Target on the 2-core reference machine: >= 250 policies/s.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from backend.signing_scheme import signed_headers  # noqa: E402

COMPANY = "基准测试人寿保险股份有限公司"
OP = {"X-Operator": "u-clerk-1", "X-Operator-Unit": "branch-sh", "X-Operator-Roles": "clerk"}
ADMIN = {"X-Operator": "sec-admin-01"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志文玉兰红梅林海波宁安康晨曦宇航"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


# ------------------------------------------------------------------------------ /proc
def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(p) for p in fh.read().split()]
    except OSError:
        pass
    return out


def process_tree(pid: int) -> list[int]:
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of live processes (and of their reaped children)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        except OSError:
            pass
    return total / CLK_TCK


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    return {pid: cpu_seconds([pid]) for pid in pids}


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * PAGE_KB
        except OSError:
            pass
    return total / 1024


def pids_named(name: str, cmdline_has: str = "") -> list[int]:
    """Processes whose name starts with ``name`` (and whose command line has ``cmdline_has``:
    PostgreSQL backends show their database there)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as fh:
                    if not fh.read().strip().startswith(name):
                        continue
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if cmdline_has.encode() in fh.read():
                        out.append(int(entry))
            except OSError:
                pass
    return out


# ------------------------------------------------------------------------------ set-up
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(url: str, keep: bool) -> None:
    import asyncpg

    base, _, name = url.rpartition("/")

    async def run() -> None:
        admin = await asyncpg.connect(f"{base}/postgres")
        try:
            if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        if not keep:
            conn = await asyncpg.connect(url)
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
            await conn.close()

    asyncio.run(run())


def server_env(a: argparse.Namespace, data_dir: pathlib.Path, port: int) -> dict[str, str]:
    return {**os.environ, "ENV": "test", "HOST": "127.0.0.1", "PORT": str(port),
            "WORKERS": str(a.workers), "DATABASE_URL": a.database_url,
            "REDIS_URL": a.redis_url, "DATA_DIR": str(data_dir),
            "DATA_KEYS": "b1:00112233445566778899aabbccddeeff",
            "BLIND_INDEX_KEY": "ffeeddccbbaa99887766554433221100",
            "SEAL_ADMIN_CHECK": "false", "AUTO_MIGRATE": "true", "LOG_LEVEL": a.log_level,
            "DB_POOL_MAX": str(a.pool), "RISK_WORK_HOURS": "0-24",
            "RISK_MAX_USES_PER_HOUR": "100000000"}


def start_server(env: dict[str, str], log_path: pathlib.Path,
                 profile: str | None = None) -> subprocess.Popen:
    log = open(log_path, "wb")
    prefix = ["-m", "cProfile", "-o", profile] if profile else []
    proc = subprocess.Popen([sys.executable, *prefix, str(ROOT / "app.py")], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not start:\n{log_path.read_text()[-3000:]}")


def create_tenant(env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-m", "backend.admin", "create-tenant", COMPANY],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


class Api:
    """Signed async requests (the async twin of backend.client.ApiClient)."""

    def __init__(self, http: httpx.AsyncClient, app_key: str, app_secret: str) -> None:
        self.http, self.key, self.secret = http, app_key, app_secret

    async def post(self, path: str, body: dict, headers: dict | None = None,
                   idempotency_key: str | None = None) -> httpx.Response:
        raw = json.dumps(body, ensure_ascii=False).encode()
        h = signed_headers(self.key, self.secret, "POST", path, "", raw)
        h["Content-Type"] = "application/json"
        if idempotency_key:
            h["Idempotency-Key"] = idempotency_key
        h.update(headers or {})
        return await self.http.post(path, content=raw, headers=h)


def _ok(response: httpx.Response, what: str) -> dict:
    if response.status_code not in (200, 201):
        raise SystemExit(f"{what}: HTTP {response.status_code} {response.text[:500]}")
    return response.json()


async def setup_tenant(api: Api) -> str:
    _ok(await api.post("/api/v1/templates/import-examples", {}, OP), "import templates")
    seal = _ok(await api.post("/api/v1/seals", {"kind": "official", "name": COMPANY}, ADMIN),
               "create seal")
    _ok(await api.post(f"/api/v1/seals/{seal['id']}/transitions",
                       {"action": "approve", "reason": "审批通过"}, ADMIN), "approve seal")
    _ok(await api.post("/api/v1/certificates", {"company_name": COMPANY, "algorithm": "dual"},
                       ADMIN), "bind certificate")
    now = time.time()
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    _ok(await api.post(f"/api/v1/seals/{seal['id']}/grants",
                       {"grantee_type": "user", "grantee_ref": "u-sealer", "reason": "出单用印",
                        "valid_from": iso(now - 60), "valid_until": iso(now + 86400)}, ADMIN),
        "grant seal")
    return seal["id"]


# ------------------------------------------------------------------------------ load
class Stats:
    def __init__(self) -> None:
        self.recording = False
        self.total: list[float] = []
        self.fill: list[float] = []
        self.seal: list[float] = []
        self.errors: dict[str, int] = {}
        self.done_all = 0
        self.policies = 0  # while recording

    def done(self, policies: int, total: float, steps: tuple[float, float] | None = None) -> None:
        self.done_all += policies
        if self.recording:
            self.policies += policies
            self.total.append(total)
            if steps:
                self.fill.append(steps[0])
                self.seal.append(steps[1])

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def one_policy(api: Api, seal_id: str, sample: dict, rnd: random.Random, stats: Stats) -> None:
    policy_no = "PB" + uuid.uuid4().hex[:14].upper()
    params = dict(sample, policy_no=policy_no,
                  holder_name=rnd.choice(SURNAMES) + "".join(rnd.sample(GIVEN, 2)),
                  insured_name=rnd.choice(SURNAMES) + "".join(rnd.sample(GIVEN, 2)))
    t0 = time.perf_counter()
    filled = await api.post("/api/v1/templates/e_policy/fill",
                            {"params": params, "signers": [
                                {"role": "policyholder", "name": params["holder_name"],
                                 "ref": f"p-{policy_no}"}]},
                            OP, idempotency_key=f"fill-{policy_no}")
    t1 = time.perf_counter()
    if filled.status_code != 201:
        stats.error(f"fill {filled.status_code} {filled.text[:80]}")
        return
    sealed = await api.post(f"/api/v1/documents/{filled.json()['id']}/seal",
                            {"seal_id": seal_id, "company_name": COMPANY, "role": "insurer",
                             "user_ref": "u-sealer", "device": "e2e-bench"}, OP)
    t2 = time.perf_counter()
    if sealed.status_code != 201:
        stats.error(f"seal {sealed.status_code} {sealed.text[:80]}")
        return
    stats.done(1, t2 - t0, (t1 - t0, t2 - t1))


async def one_batch(api: Api, seal_id: str, sample: dict, rnd: random.Random, stats: Stats,
                    size: int) -> None:
    """``size`` e-policies in one ``POST /api/v1/templates/e_policy/issue`` (bulk issuance)."""
    items = []
    for _ in range(size):
        policy_no = "PB" + uuid.uuid4().hex[:14].upper()
        params = dict(sample, policy_no=policy_no,
                      holder_name=rnd.choice(SURNAMES) + "".join(rnd.sample(GIVEN, 2)),
                      insured_name=rnd.choice(SURNAMES) + "".join(rnd.sample(GIVEN, 2)))
        items.append({"params": params, "signers": [
            {"role": "policyholder", "name": params["holder_name"], "ref": f"p-{policy_no}"}]})
    t0 = time.perf_counter()
    issued = await api.post("/api/v1/templates/e_policy/issue",
                            {"items": items, "seal": {
                                "seal_id": seal_id, "company_name": COMPANY, "role": "insurer",
                                "user_ref": "u-sealer", "device": "e2e-bench"}},
                            OP, idempotency_key=f"issue-{uuid.uuid4().hex}")
    if issued.status_code != 201:
        stats.error(f"issue {issued.status_code} {issued.text[:80]}")
        return
    stats.done(size, time.perf_counter() - t0)


async def client_loop(api: Api, seal_id: str, sample: dict, seed: int, stats: Stats,
                      stop: asyncio.Event, batch: int = 0) -> None:
    rnd = random.Random(seed)
    while not stop.is_set():
        try:
            if batch:
                await one_batch(api, seal_id, sample, rnd, stats, batch)
            else:
                await one_policy(api, seal_id, sample, rnd, stats)
        except httpx.HTTPError as exc:
            stats.error(f"http {type(exc).__name__}")
            await asyncio.sleep(0.05)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q / 100 * len(values)))] * 1000


async def run_load(a: argparse.Namespace, base_url: str, tenant: dict, server_pid: int) -> dict:
    sample = json.loads((ROOT / "templates/e_policy.sample.json").read_text(encoding="utf-8"))
    # Bulk requests open a connection each: a kept-alive connection stays with the worker that
    # accepted it, and a few long requests on a few connections can all land on one worker
    # (seen: one worker at 100 %, the other idle); a new connection goes to the worker that
    # accepts first, i.e. the less busy one (a load balancer's least_conn does the same).
    keepalive = 0 if a.batch else a.clients + 4
    limits = httpx.Limits(max_connections=a.clients + 4, max_keepalive_connections=keepalive)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:
        api = Api(http, tenant["app_key"], tenant["app_secret"])
        seal_id = await setup_tenant(api)
        stats, stop = Stats(), asyncio.Event()
        tasks = [asyncio.create_task(client_loop(api, seal_id, sample, i, stats, stop, a.batch))
                 for i in range(a.clients)]
        print(f"warm-up {a.warmup:.0f} s with {a.clients} clients ...", flush=True)
        await asyncio.sleep(a.warmup)
        server = process_tree(server_pid)
        # the backends of this database (not other databases on the same PostgreSQL); Redis
        # is the whole server (it cannot be split by database)
        others = {"postgres": pids_named("postgres", f" {a.db} "),
                  "redis": pids_named("redis-server")}
        rss_warm = rss_mb(server)
        cpu0 = {"server": cpu_by_pid(server), **{k: cpu_by_pid(v) for k, v in others.items()}}
        self0 = time.process_time()
        stats.recording, t0 = True, time.perf_counter()
        samples = [(0.0, rss_warm)]
        print(f"measuring {a.seconds:.0f} s ...", flush=True)
        while (elapsed := time.perf_counter() - t0) < a.seconds:
            await asyncio.sleep(min(a.sample_every, a.seconds - elapsed))
            samples.append((round(time.perf_counter() - t0, 1), rss_mb(process_tree(server_pid))))
            if a.progress:
                print(f"  {samples[-1][0]:6.0f} s  {stats.policies / samples[-1][0]:7.1f} "
                      f"policies/s  RSS {samples[-1][1]:.0f} MB  errors {sum(stats.errors.values())}",
                      flush=True)
        stats.recording, wall = False, time.perf_counter() - t0
        server_end = process_tree(server_pid)
        ends = {"server": server_end, "postgres": pids_named("postgres", f" {a.db} "),
                "redis": pids_named("redis-server")}
        cpu1 = {k: cpu_by_pid(v) for k, v in ends.items()}
        client_cpu = time.process_time() - self0
        rss_end = rss_mb(server_end)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    n = stats.policies
    # processes alive at the end: their CPU since the start (all of it when they are new)
    cpu = {k: sum(t - cpu0[k].get(pid, 0.0) for pid, t in cpu1[k].items()) for k in cpu0}
    cpu["load generator"] = client_cpu
    return {
        "policies": n, "seconds": round(wall, 2), "policies_per_s": round(n / wall, 1),
        "latency_ms": {name: {"p50": round(pct(v, 50), 1), "p95": round(pct(v, 95), 1),
                              "p99": round(pct(v, 99), 1),
                              "mean": round(statistics.fmean(v) * 1000, 1) if v else None}
                       for name, v in (("request", stats.total), ("fill", stats.fill),
                                       ("seal", stats.seal)) if v},
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
        "cpu_ms_per_policy": {k: round(v / n * 1000, 2) if n else None for k, v in cpu.items()},
        "server_processes": len(server_end),
        "rss_mb": {"after_warmup": round(rss_warm, 1), "end": round(rss_end, 1),
                   "growth": round(rss_end - rss_warm, 1),
                   "samples": [(t, round(m, 1)) for t, m in samples]},
        "errors": stats.errors,
    }


# ------------------------------------------------------------------------------ main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60, help="measured duration (600 = the issue's 10 min)")
    ap.add_argument("--warmup", type=float, default=10)
    ap.add_argument("--clients", type=int, default=16, help="concurrent clients")
    ap.add_argument("--workers", type=int, default=2, help="server WORKERS")
    ap.add_argument("--batch", type=int, default=0,
                    help="e-policies per POST .../issue request (0: fill + seal one by one)")
    ap.add_argument("--pool", type=int, default=10, help="server DB_POOL_MAX (per worker)")
    ap.add_argument("--db", default="e2e_bench", help="PostgreSQL database (created if missing)")
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--redis-db", type=int, default=7)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379")
    ap.add_argument("--keep-db", action="store_true", help="do not reset the schema")
    ap.add_argument("--log-level", default="INFO", help="server LOG_LEVEL (INFO logs every request)")
    ap.add_argument("--sample-every", type=float, default=10, help="RSS sampling interval, s")
    ap.add_argument("--progress", action="store_true", help="print a line per RSS sample")
    ap.add_argument("--profile", metavar="PATH",
                    help="run the server (one process) under cProfile, write the stats to PATH")
    ap.add_argument("--json", default=str(ROOT / "bench-results" / "e2e_bench.json"))
    a = ap.parse_args()
    if a.profile:
        a.workers = 1
    a.database_url = f"{a.pg}/{a.db}"
    a.redis_url = f"{a.redis}/{a.redis_db}"

    import redis

    prepare_database(a.database_url, a.keep_db)
    redis.Redis.from_url(a.redis_url).flushdb()
    out_dir = pathlib.Path(a.json).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = out_dir / "e2e_bench_data"
    subprocess.run(["rm", "-rf", str(data_dir)], check=True)
    port = free_port()
    env = server_env(a, data_dir, port)
    log_path = out_dir / "e2e_bench_server.log"
    print(f"starting server (WORKERS={a.workers}) on {a.database_url}, {a.redis_url} ...", flush=True)
    proc = start_server(env, log_path, a.profile)
    try:
        tenant = create_tenant(env)
        result = asyncio.run(run_load(a, f"http://127.0.0.1:{port}", tenant, proc.pid))
    finally:
        proc.send_signal(signal.SIGINT)  # a clean stop (cProfile writes its stats)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    lat, cpu = result["latency_ms"], result["cpu_ms_per_policy"]
    print()
    print(f"{'clients':>7} {'batch':>5} {'workers':>7} {'policies':>8} {'policies/s':>10} "
          f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'CPU ms/policy':>13} "
          f"{'RSS warm MB':>11} {'RSS end MB':>10}")
    print(f"{a.clients:>7} {a.batch:>5} {a.workers:>7} {result['policies']:>8} "
          f"{result['policies_per_s']:>10.1f} "
          f"{lat['request']['p50']:>7.1f} {lat['request']['p95']:>7.1f} {lat['request']['p99']:>7.1f} "
          f"{cpu['server']:>13.2f} {result['rss_mb']['after_warmup']:>11.1f} "
          f"{result['rss_mb']['end']:>10.1f}")
    print()
    print("latency by step (ms):  " + "   ".join(
        f"{k} p50 {v['p50']} / p95 {v['p95']} / p99 {v['p99']}" for k, v in lat.items()))
    print("CPU ms per policy:     " + "   ".join(f"{k} {v}" for k, v in cpu.items()))
    cores = sum(v for v in cpu.values() if v)
    print(f"all processes: {cores:.1f} CPU ms per policy -> at most {1000 * os.cpu_count() / cores:.0f}"
          f" policies/s on {os.cpu_count()} cores; 2,000,000/day at a 10x peak (231/s) needs "
          f"{231 * cores / 1000:.1f} cores")
    if result["errors"]:
        print(f"errors: {result['errors']}")
    checks = {">= 250 policies/s": result["policies_per_s"] >= 250,
              "RSS growth after warm-up < 10%": result["rss_mb"]["growth"]
              < 0.1 * result["rss_mb"]["after_warmup"],
              "no errors": not result["errors"]}
    for k, ok in checks.items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {k}")
    result.update({"checks": checks, "clients": a.clients, "batch": a.batch, "workers": a.workers,
                   "db_pool_max": a.pool, "warmup_seconds": a.warmup,
                   "log_level": a.log_level, "cpu_count": os.cpu_count(),
                   "load_average": os.getloadavg(), "python": sys.version.split()[0],
                   "platform": platform.platform(), "cpu": platform.processor() or platform.machine(),
                   "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    path = pathlib.Path(a.json)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"wrote {path} (server log {log_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
