"""Where jobs run: RQ on Redis in production, a background thread in the embedded default,
inline in tests and the demo. All three take the same job functions and id-only arguments."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from typing import Protocol

from plugin.jobs.context import using

log = logging.getLogger(__name__)

EVENTS, SETTLEMENT, PAYOUTS = "events", "settlement", "payouts"


class JobQueue(Protocol):
    """What the app and the sweeps need of a queue; ``runtime`` is the one jobs run in."""

    kind: str
    runtime: object

    def enqueue(self, func: Callable, *args, job_id: str, queue_name: str = EVENTS) -> bool:
        """Run ``func(*args)`` as a job; False if it could not be queued (nothing raised)."""

    def wake(self, func: Callable, *, queue_name: str = EVENTS) -> bool:
        """Queue ``func()`` unless a wake-up of ``queue_name`` is queued already and not yet
        taken (``woken``); False if it could not be queued (nothing raised)."""

    def woken(self, queue_name: str = EVENTS) -> None:
        """Called by the job a wake-up queued, when it starts: the next ``wake`` queues again."""

    def ping(self) -> bool:
        """Whether jobs can be queued now."""

    def close(self) -> None:
        """Stop background work."""


class InlineQueue:
    """Runs each job at once in the caller. Deterministic: for tests and the demo."""

    kind = "inline"
    runtime = None

    def enqueue(self, func: Callable, *args, job_id: str, queue_name: str = EVENTS) -> bool:
        with using(self.runtime):
            func(*args)
        return True

    def wake(self, func: Callable, *, queue_name: str = EVENTS) -> bool:
        return self.enqueue(func, job_id=f"wake:{queue_name}", queue_name=queue_name)

    def woken(self, queue_name: str = EVENTS) -> None:
        """Every wake-up runs at once: nothing to take."""

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        """Nothing runs in the background."""


class ThreadQueue:
    """One daemon thread that runs jobs in order, plus a timer for the periodic sweeps.

    Nothing is lost if the process dies with jobs queued: the inbox sweep finds every event
    still marked received and enqueues it again.
    """

    kind = "thread"
    runtime = None

    _STOP = object()

    def __init__(self):
        self._jobs: queue.Queue = queue.Queue()
        self._waking: set[str] = set()  # queues with a wake-up queued and not yet taken
        self._timers: list[threading.Event] = []
        self._thread = threading.Thread(target=self._run, name="fenxiao-jobs", daemon=True)
        self._thread.start()

    def _run(self):
        while True:
            item = self._jobs.get()
            if item is self._STOP:
                self._jobs.task_done()
                return
            func, args = item
            try:
                with using(self.runtime):
                    func(*args)
            except Exception:  # noqa: BLE001 - the job records its own failure; keep the thread alive
                log.exception("in-process job %s failed", getattr(func, "__name__", func))
            finally:
                self._jobs.task_done()

    def close(self, timeout: int = 10) -> None:
        """Stop the timers, let the queued jobs finish, and stop the thread."""
        for stop in self._timers:
            stop.set()
        self._jobs.put(self._STOP)
        self._thread.join(timeout)

    def enqueue(self, func: Callable, *args, job_id: str, queue_name: str = EVENTS) -> bool:
        self._jobs.put((func, args))
        return True

    def wake(self, func: Callable, *, queue_name: str = EVENTS) -> bool:
        if queue_name not in self._waking:  # two threads may both queue one: harmless
            self._waking.add(queue_name)
            self.enqueue(func, job_id=f"wake:{queue_name}", queue_name=queue_name)
        return True

    def woken(self, queue_name: str = EVENTS) -> None:
        self._waking.discard(queue_name)

    def join(self):
        self._jobs.join()

    def every(self, seconds: int, func: Callable) -> threading.Event:
        """Run ``func`` on the job thread every ``seconds`` until the returned event is set."""
        stop = threading.Event()

        def tick():
            while not stop.wait(seconds):
                self.enqueue(func, job_id=f"sweep:{func.__name__}")

        threading.Thread(target=tick, name=f"fenxiao-every-{func.__name__}", daemon=True).start()
        self._timers.append(stop)
        return stop

    def ping(self) -> bool:
        return self._thread.is_alive()


class RQQueue:
    """RQ queues on Redis. ``enqueue`` never raises: if Redis is down the event stays stored
    as received and the inbox sweep enqueues it once Redis is back."""

    kind = "rq"
    runtime = None  # jobs run in the worker's runtime (``fenxiao worker``)

    def __init__(self, redis_url: str):
        from redis import Redis

        self.connection = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)

    def queue(self, name: str):
        from rq import Queue

        return Queue(name, connection=self.connection)

    def enqueue(self, func: Callable, *args, job_id: str, queue_name: str = EVENTS) -> bool:
        try:
            self.queue(queue_name).enqueue(func, *args, job_id=job_id, result_ttl=600, failure_ttl=86400)
            return True
        except Exception as exc:  # noqa: BLE001 - redis down: the sweep will pick the work up
            log.warning("could not enqueue %s (%s); the inbox sweep will retry", job_id, exc)
            return False

    WAKE_TTL = 120  # seconds: a wake-up whose job was lost stops blocking new ones by then

    def wake(self, func: Callable, *, queue_name: str = EVENTS) -> bool:
        """One ``SET NX`` round trip when a wake-up is pending already; else queue the job."""
        flag = self._wake_flag(queue_name)
        try:
            if not self.connection.set(flag, 1, nx=True, ex=self.WAKE_TTL):
                return True  # a queued job will see what was stored before this call
        except Exception as exc:  # noqa: BLE001 - redis down: the sweep will drain the inbox
            log.warning("could not wake the %s workers (%s); the inbox sweep will", queue_name, exc)
            return False
        if self.enqueue(func, job_id=f"wake-{uuid.uuid4().hex}", queue_name=queue_name):
            return True
        with contextlib.suppress(Exception):
            self.connection.delete(flag)
        return False

    def woken(self, queue_name: str = EVENTS) -> None:
        self.connection.delete(self._wake_flag(queue_name))

    @staticmethod
    def _wake_flag(queue_name: str) -> str:
        return f"fenxiao:wake:{queue_name}"

    def ping(self) -> bool:
        try:
            return bool(self.connection.ping())
        except Exception:  # noqa: BLE001
            return False

    def close(self) -> None:
        self.connection.close()
