"""``fenxiao worker``: an RQ worker for the fenxiao queues, plus RQ's cron scheduler for the
periodic sweeps (in a child process, so a busy job never delays a sweep)."""

from __future__ import annotations

import logging
import multiprocessing

from redis import Redis
from rq import SimpleWorker
from rq.cron import CronScheduler

from plugin import runtime
from plugin.config import Config
from plugin.jobs import context, tasks
from plugin.jobs.queues import EVENTS, PAYOUTS, SETTLEMENT

log = logging.getLogger(__name__)


def run_cron(redis_url: str) -> None:
    """Register every sweep with RQ's ``CronScheduler`` and run it until stopped."""
    scheduler = CronScheduler(
        connection=Redis.from_url(redis_url), name=f"fenxiao-cron-{multiprocessing.current_process().pid}"
    )
    for func, queue_name, seconds in tasks.SWEEPS:
        scheduler.register(func, queue_name, interval=seconds, job_timeout=600)
    scheduler.start()


def run_worker(config: Config, *, burst: bool = False, with_cron: bool = True) -> None:
    """Work the events, settlement and payouts queues (``burst``: until they are empty)."""
    if not config.redis_url:
        raise SystemExit("fenxiao worker needs REDIS_URL (the embedded default runs jobs in-process)")
    rt = runtime.build(config)
    cron = None
    if with_cron and not burst:
        cron = multiprocessing.get_context("spawn").Process(
            target=run_cron, args=(config.redis_url,), name="fenxiao-cron", daemon=True
        )
        cron.start()
    try:
        # SimpleWorker runs jobs in this process: a job is a short database transaction, and
        # forking per job (rq's Worker) cost ~10x in cold connections and imports (bench/).
        worker = SimpleWorker([EVENTS, SETTLEMENT, PAYOUTS], connection=rt.queue.connection)
        with context.using(rt):
            worker.work(burst=burst, with_scheduler=not burst, logging_level="INFO")
    finally:
        rt.close()
        if cron is not None:
            cron.terminate()
            cron.join(5)
