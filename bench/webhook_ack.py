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

from plugin.cli.demo import sample, signed_headers
from plugin.runtime import normalize_database_url

HERE = Path(__file__).resolve().parent
FENXIAO = shutil.which("fenxiao", path=str(Path(sys.executable).parent)) or "fenxiao"
INVITE_CODE = "INV-B7K2"  # the ref code carried by the sample order
FIRST_ORDER_ID = 9_100_000_000_000_000
PENDING = ("received", "failed")


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
            self.proc = subprocess.Popen(
                argv,
                env=env,
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

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
    result = subprocess.run(
        [FENXIAO, *args], env=env, cwd=workdir, capture_output=True, text=True, timeout=120
    )
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
            if done(counts) >= expected or now >= deadline:
                return counts, now
            time.sleep(0.02)
    finally:
        engine.dispose()


def done(counts: dict) -> int:
    return sum(n for status, n in counts.items() if status not in PENDING)


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
    rows = [
        f"{'target':<8} | {'requests':>8} | {'accepted/s':>10} | {'p50 ms':>7} | {'p99 ms':>7}"
        f" | {'errors':>6}"
    ]
    rows.append("-" * len(rows[0]))
    for r in results:
        rows.append(
            f"{r.target:<8} | {r.requests:>8} | {r.accepted_per_second:>10.1f}"
            f" | {r.percentile(50):>7.1f} | {r.percentile(99):>7.1f} | {r.errors:>6}"
        )
    bare, ours = results
    ratios = (
        ours.accepted_per_second / bare.accepted_per_second,
        ours.percentile(50) / bare.percentile(50),
        ours.percentile(99) / bare.percentile(99),
    )
    rows.append(
        f"{'fx/bare':<8} | {'':>8} | {ratios[0]:>9.2f}x | {ratios[1]:>6.2f}x | {ratios[2]:>6.2f}x | {'':>6}"
    )
    return "\n".join(rows)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per target")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads of both servers")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured requests first, per target")
    parser.add_argument("--postgres", metavar="URL", help="production mode: this PostgreSQL (loopback)")
    parser.add_argument("--redis", metavar="URL", help="production mode: this Redis (loopback)")
    parser.add_argument("--workers", type=int, default=1, help="fenxiao worker processes (production mode)")
    parser.add_argument("--drain-timeout", type=float, default=120, help="seconds to wait for processing")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, server logs)")
    args = parser.parse_args()
    if bool(args.postgres) != bool(args.redis):
        parser.error("production mode needs both --postgres and --redis")
    if min(args.requests, args.concurrency, args.threads, args.workers) < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency, --threads and --workers must be at least 1")
    loopback_only(args.postgres, "--postgres")
    loopback_only(args.redis, "--redis")
    return args


def seed_inviter(base_url: str, shop: dict) -> None:
    """The distributor who owns the sample order's ref code, so every order earns a commission."""
    auth, prefix = {"X-Api-Key": shop["api_key"]}, f"{base_url}/api/v1/shops/{shop['shop_id']}"
    member = requests.post(
        f"{prefix}/members",
        headers=auth,
        timeout=10,
        json={"platform": "shopify", "external_id": "bench-inviter"},
    )
    member.raise_for_status()
    distributor = requests.post(
        f"{prefix}/distributors",
        headers=auth,
        timeout=10,
        json={"member_id": member.json()["member_id"], "invite_code": INVITE_CODE},
    )
    distributor.raise_for_status()


def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="fenxiao-bench-"))
    database_url = args.postgres or f"sqlite:///{workdir / 'bench.sqlite3'}"
    env = {key: value for key, value in os.environ.items() if key not in ("FENXIAO_JOBS", "REDIS_URL")}
    env["DATABASE_URL"] = database_url
    if args.redis:
        env["REDIS_URL"] = args.redis
    started: list[Server] = []
    try:
        fenxiao("db", "upgrade", env=env, workdir=workdir)
        secret = secrets.token_urlsafe(24)
        shop = json.loads(
            fenxiao(
                "shop",
                "add",
                "--platform",
                "shopify",
                "--name",
                "Bench shop",
                "--webhook-secret",
                secret,
                env=env,
                workdir=workdir,
            )
        )
        ports = {"bare": free_port(), "fenxiao": free_port()}
        base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        commands = {"fenxiao": [FENXIAO, "serve"], "bare": [sys.executable, str(HERE / "bare_app.py")]}
        for name, command in commands.items():
            argv = [*command, "--port", str(ports[name]), "--threads", str(args.threads)]
            started.append(Server(name, argv, env, workdir))
        for number in range(1, 1 + (args.workers if args.redis else 0)):
            started.append(Server(f"worker-{number}", [FENXIAO, "worker"], env, workdir))
        for server in started[:2]:
            server.wait_ready(f"{base[server.name]}/healthz")
        seed_inviter(base["fenxiao"], shop)

        results, warmup_errors = [], 0
        for target in ("bare", "fenxiao"):  # the floor first, so fenxiao's job work cannot slow it down
            deliveries = [orders_paid(i, secret) for i in range(args.warmup + args.requests)]
            url = f"{base[target]}/webhooks/shopify/{shop['shop_id']}"
            if args.warmup:
                warmup_errors = post_all(target, url, deliveries[: args.warmup], args.concurrency).errors
            results.append(post_all(target, url, deliveries[args.warmup :], args.concurrency))
        ours = results[1]
        expected = args.warmup + args.requests - warmup_errors - ours.errors
        counts, done_at = wait_processed(database_url, shop["shop_id"], expected, args.drain_timeout)

        mode = "PostgreSQL + RQ worker processes" if args.redis else "embedded SQLite + in-process job thread"
        print(
            f"fenxiao webhook acknowledgement: {mode}; waitress threads {args.threads}, "
            f"{args.concurrency} client threads, {os.cpu_count()} CPUs, loopback"
        )
        print(table(results))
        print(f"inbox after the burst: {dict(sorted(counts.items()))}")
        if done(counts) >= expected:
            print(
                f"processing: all {expected} accepted events processed, the last "
                f"{done_at - ours.finished:.2f} s after the last acknowledgement (goal: within 1 s)"
            )
        else:
            print(
                f"processing: only {done(counts)}/{expected} accepted events processed when the wait gave "
                f"up, {done_at - ours.finished:.0f} s after the last acknowledgement (goal: within 1 s)"
            )
    finally:
        for server in reversed(started):
            server.stop()
        if args.keep:
            print(f"kept {workdir} (database, *.log)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
