"""How fast does ``fenxiao serve`` acknowledge webhooks, next to a bare Flask app on the same
server stack, and how long until every acknowledged event is processed?

Starts everything itself on loopback and stops it at the end:

    python bench/webhook_ack.py                       # embedded default: SQLite + in-process job thread
    python bench/webhook_ack.py --postgres URL --redis URL --workers 2   # production mode

Each request is a signed Shopify ``orders/paid`` with its own ``X-Shopify-Webhook-Id`` and order
id, so every one is a new event that fenxiao verifies, stores and enqueues. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from sqlalchemy import create_engine, text

from plugin.cli_demo import sample, signed_headers
from plugin.runtime import normalize_database_url

HERE = Path(__file__).resolve().parent
FENXIAO = shutil.which("fenxiao", path=str(Path(sys.executable).parent)) or "fenxiao"
INVITE_CODE = "INV-B7K2"  # the ref code carried by the sample order
FIRST_ORDER_ID = 9_100_000_000_000_000


# -- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A child process in its own process group, its output in a log file; ``stop`` ends the group."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], workdir: Path):
        self.name, self.log = name, workdir / f"{name}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, env=env, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, url: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited early:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise SystemExit(f"{self.name} not ready after {timeout:.0f}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)


def fenxiao(*args: str, env: dict[str, str], workdir: Path) -> str:
    result = subprocess.run([FENXIAO, *args], env=env, cwd=workdir, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise SystemExit(f"fenxiao {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


# -- load --------------------------------------------------------------------------------------


@dataclass
class Result:
    target: str
    requests: int
    seconds: float
    latencies: list[float]  # of accepted (200) requests, seconds
    errors: int
    started: float
    finished: float

    @property
    def accepted_per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if ordered else float("nan")


def orders_paid(order_number: int, secret: str) -> tuple[bytes, dict]:
    order = json.loads(sample("orders_paid"))
    order["id"] = FIRST_ORDER_ID + order_number
    order["name"] = f"#B{order_number}"
    body = json.dumps(order).encode()
    return body, signed_headers("orders/paid", body, secret, str(uuid.uuid4()))


def post_all(target: str, url: str, deliveries: list[tuple[bytes, dict]], concurrency: int) -> Result:
    """Post every delivery once from ``concurrency`` threads, each with its own keep-alive session."""
    lock, position = threading.Lock(), iter(range(len(deliveries)))
    latencies: list[float] = []
    errors = [0]
    start = threading.Barrier(concurrency + 1)

    def client() -> None:
        session = requests.Session()
        start.wait()
        while True:
            with lock:
                index = next(position, None)
            if index is None:
                return
            body, headers = deliveries[index]
            began = time.perf_counter()
            try:
                status = session.post(url, data=body, headers=headers, timeout=30).status_code
            except requests.RequestException:
                status = None
            took = time.perf_counter() - began
            with lock:
                if status == 200:
                    latencies.append(took)
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    finished = time.perf_counter()
    return Result(target, len(deliveries), finished - started, latencies, errors[0], started, finished)


def wait_processed(database_url: str, shop_id: int, expected: int, timeout: float) -> tuple[dict, float]:
    """Poll the inbox until ``expected`` events of the shop are done; (counts by status, when)."""
    engine = create_engine(normalize_database_url(database_url))
    query = text("SELECT status, count(*) FROM inbox_event WHERE shop_id = :shop GROUP BY status")
    deadline = time.perf_counter() + timeout
    try:
        while True:
            with engine.connect() as conn:
                counts = dict(conn.execute(query, {"shop": shop_id}).all())
            now = time.perf_counter()
            done = sum(n for status, n in counts.items() if status not in ("received", "failed"))
            if done >= expected or now >= deadline:
                return counts, now
            time.sleep(0.02)
    finally:
        engine.dispose()


# -- main --------------------------------------------------------------------------------------


def loopback_only(url: str | None, what: str) -> None:
    host = urlsplit(url).hostname if url else None
    if host is None:
        return
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"{what} must be on a loopback address, not {host}")


def table(results: list[Result]) -> str:
    rows = [f"{'target':<8} | {'requests':>8} | {'accepted/s':>10} | {'p50 ms':>7} | {'p99 ms':>7} | {'errors':>6}"]
    rows.append("-" * len(rows[0]))
    for r in results:
        rows.append(f"{r.target:<8} | {r.requests:>8} | {r.accepted_per_second:>10.1f} | {r.percentile(50):>7.1f}"
                    f" | {r.percentile(99):>7.1f} | {r.errors:>6}")
    bare, ours = results
    rows.append(f"{'ratio':<8} | {'fx/bare':>8} | {ours.accepted_per_second / bare.accepted_per_second:>9.2f}x"
                f" | {ours.percentile(50) / bare.percentile(50):>6.2f}x | {ours.percentile(99) / bare.percentile(99):>6.2f}x"
                f" | {'':>6}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per target")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads of both servers")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured requests sent first to each target")
    parser.add_argument("--postgres", metavar="URL", help="production mode: this PostgreSQL (loopback)")
    parser.add_argument("--redis", metavar="URL", help="production mode: this Redis (loopback)")
    parser.add_argument("--workers", type=int, default=1, help="fenxiao worker processes (production mode)")
    parser.add_argument("--drain-timeout", type=float, default=120, help="stop waiting for processing after this")
    args = parser.parse_args()
    if bool(args.postgres) != bool(args.redis):
        parser.error("production mode needs both --postgres and --redis")
    loopback_only(args.postgres, "--postgres")
    loopback_only(args.redis, "--redis")

    workdir = Path(tempfile.mkdtemp(prefix="fenxiao-bench-"))
    database_url = args.postgres or f"sqlite:///{workdir / 'bench.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("FENXIAO_JOBS", None)
    env.pop("REDIS_URL", None)
    if args.redis:
        env["REDIS_URL"] = args.redis
    started: list[Server] = []
    try:
        fenxiao("db", "upgrade", env=env, workdir=workdir)
        secret = secrets.token_urlsafe(24)
        shop = json.loads(fenxiao("shop", "add", "--platform", "shopify", "--name", "Bench shop",
                                  "--webhook-secret", secret, env=env, workdir=workdir))
        ports = {"fenxiao": free_port(), "bare": free_port()}
        web = Server("fenxiao", [FENXIAO, "serve", "--port", str(ports["fenxiao"]), "--threads", str(args.threads)],
                     env, workdir)
        started.append(web)
        bare = Server("bare", [sys.executable, str(HERE / "bare_app.py"), "--port", str(ports["bare"]),
                               "--threads", str(args.threads)], env, workdir)
        started.append(bare)
        for _ in range(args.workers if args.redis else 0):
            started.append(Server(f"worker{len(started) - 1}", [FENXIAO, "worker"], env, workdir))
        base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        web.wait_ready(f"{base['fenxiao']}/healthz")
        bare.wait_ready(f"{base['bare']}/healthz")
        mode = "PostgreSQL + Redis/RQ workers" if args.redis else "embedded SQLite + in-process job thread"
        auth = {"X-Api-Key": shop["api_key"]}
        member = requests.post(f"{base['fenxiao']}/api/v1/shops/{shop['shop_id']}/members", headers=auth,
                               json={"platform": "shopify", "external_id": "bench-inviter"}, timeout=10).json()
        requests.post(f"{base['fenxiao']}/api/v1/shops/{shop['shop_id']}/distributors", headers=auth,
                      json={"member_id": member["member_id"], "invite_code": INVITE_CODE}, timeout=10)

        results = []
        for target in ("bare", "fenxiao"):
            deliveries = [orders_paid(i, secret) for i in range(args.warmup + args.requests)]
            url = f"{base[target]}/webhooks/shopify/{shop['shop_id']}"
            post_all(target, url, deliveries[:args.warmup], args.concurrency)
            results.append(post_all(target, url, deliveries[args.warmup:], args.concurrency))
        ours = results[1]
        total = args.warmup + args.requests
        counts, done_at = wait_processed(database_url, shop["shop_id"], total - ours.errors, args.drain_timeout)

        print(f"fenxiao webhook acknowledgement: {mode}; waitress threads {args.threads}, "
              f"{args.concurrency} client threads, {os.cpu_count()} CPUs, loopback")
        print(table(results))
        processed = sum(n for status, n in counts.items() if status not in ("received", "failed"))
        print(f"inbox after the burst: {dict(sorted(counts.items()))}")
        print(f"processed {processed}/{total - ours.errors} accepted events "
              f"{done_at - ours.finished:.2f} s after the last acknowledgement "
              f"({done_at - ours.started:.2f} s after the first; "
              f"{args.requests / (done_at - ours.started):.0f} events/s overall); goal: within 1 s of the burst")
    finally:
        for server in reversed(started):
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
