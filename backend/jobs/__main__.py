"""``python -m backend.jobs worker``: run a job worker against REDIS_URL."""
from __future__ import annotations

import argparse
import asyncio

from backend import logs
from backend.jobs.worker import build_worker
from backend.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m backend.jobs")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("worker", help="process jobs until stopped")
    run.add_argument("--concurrency", type=int, default=10)
    run.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    args = parser.parse_args()
    settings = Settings.from_env()
    logs.configure(settings.log_level, settings.log_json)
    worker = build_worker(settings, concurrency=args.concurrency, burst=args.burst)
    asyncio.run(worker.start())


if __name__ == "__main__":
    main()
