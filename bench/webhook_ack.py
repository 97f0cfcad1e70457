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
import re
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
from datetime import datetime
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
CLIENTS = 32  # paced phase: enough that a 100 ms acknowledgement still allows 300/s


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
    accepted: int
    percentiles: dict[str, float]  # "50", "99" -> ms, as wrk measured them
    errors: int
    started: float
    finished: float

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.seconds

    def percentile(self, p: int) -> float:
        return self.percentiles.get(str(p), float("nan"))


def orders_paid(order_number: int, secret: str) -> tuple[bytes, dict]:
    order = json.loads(sample("orders_paid"))
    order["id"] = FIRST_ORDER_ID + order_number
    order["name"] = f"#B{order_number}"
    body = json.dumps(order).encode()
    return body, signed_headers("orders/paid", body, secret, str(uuid.uuid4()))


def write_requests(path: Path, deliveries: list[tuple[bytes, dict]]) -> None:
    """The file ``replay.lua`` reads: webhook id, HMAC and body, tab-separated, one per line."""
    with open(path, "w") as out:
        for body, headers in deliveries:
            out.write(
                f"{headers['X-Shopify-Webhook-Id']}\t{headers['X-Shopify-Hmac-Sha256']}\t{body.decode()}\n"
            )


def run_wrk(target: str, url: str, requests_file: Path, args: argparse.Namespace) -> Result:
    """Drive ``url`` with wrk for ``--seconds`` from ``--connections`` connections."""
    threads = min(args.connections, 2)
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{args.connections}",
        f"-d{args.seconds}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    argv += ["-s", str(HERE / "replay.lua"), url, "--", str(requests_file), str(threads)]
    began = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    finished = time.perf_counter()
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    seconds = float(re.search(r"requests in ([\d.]+)s", out).group(1))
    percentiles = {p: _millis(v) for p, v in re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", out, re.M)}
    return Result(target, total, seconds, total - errors, percentiles, errors, began, finished)


def _millis(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def paced(url: str, deliveries: list[tuple[bytes, dict]], rate: float) -> tuple[int, float]:
    """Post ``deliveries`` at ``rate`` per second (``CLIENTS`` threads); how many were accepted,
    and in how many seconds (a slow server makes the clients fall behind the rate)."""
    interval, start, accepted = 1 / rate, time.perf_counter(), [0]
    lock, position = threading.Lock(), iter(enumerate(deliveries))

    def client() -> None:
        session = requests.Session()
        while True:
            with lock:
                item = next(position, None)
            if item is None:
                return
            index, (body, headers) = item
            time.sleep(max(0.0, start + index * interval - time.perf_counter()))
            with contextlib.suppress(requests.RequestException):
                if session.post(url, data=body, headers=headers, timeout=30).status_code == 200:
                    with lock:
                        accepted[0] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return accepted[0], time.perf_counter() - start


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
    parser.add_argument("--seconds", type=int, default=10, help="wrk burst length per target")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--web-workers", type=int, default=None, help="gunicorn processes (2; embedded 1)")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per process, both servers")
    parser.add_argument("--rate", type=float, default=300, help="paced phase: deliveries per second")
    parser.add_argument("--paced-seconds", type=int, default=30, help="paced phase length (0: skip)")
    parser.add_argument("--postgres", metavar="URL", help="production mode: this PostgreSQL (loopback)")
    parser.add_argument("--redis", metavar="URL", help="production mode: this Redis (loopback)")
    parser.add_argument("--workers", type=int, default=2, help="fenxiao worker processes (production mode)")
    parser.add_argument("--drain-timeout", type=float, default=180, help="seconds to wait for processing")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (database, server logs)")
    args = parser.parse_args()
    if bool(args.postgres) != bool(args.redis):
        parser.error("production mode needs both --postgres and --redis")
    args.web_workers = args.web_workers or (2 if args.redis else 1)
    if min(args.seconds, args.connections, args.threads, args.workers, args.web_workers) < 1:
        parser.error("--seconds, --connections, --threads and the worker counts must be at least 1")
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


def latencies(database_url: str, shop_id: int, after_id: int) -> tuple[float, float, int]:
    """p50 and p99 (ms) of received -> processed for the shop's events after ``after_id``."""
    engine = create_engine(normalize_database_url(database_url))
    query = text(
        "SELECT received_at, processed_at FROM inbox_event"
        " WHERE shop_id = :shop AND id > :after AND processed_at IS NOT NULL"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"shop": shop_id, "after": after_id}).all()
    engine.dispose()
    waits = sorted((_moment(done) - _moment(got)).total_seconds() * 1000 for got, done in rows)
    if not waits:
        return float("nan"), float("nan"), 0
    return waits[len(waits) // 2], waits[min(len(waits) - 1, int(0.99 * len(waits)))], len(waits)


def _moment(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def last_event_id(database_url: str, shop_id: int) -> int:
    engine = create_engine(normalize_database_url(database_url))
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT max(id) FROM inbox_event WHERE shop_id = :s"), {"s": shop_id}
        ).scalar()
    engine.dispose()
    return found or 0


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
            argv = [*command, "--port", str(ports[name]), "--workers", str(args.web_workers)]
            started.append(Server(name, [*argv, "--threads", str(args.threads)], env, workdir))
        for number in range(1, 1 + (args.workers if args.redis else 0)):
            started.append(Server(f"worker-{number}", [FENXIAO, "worker"], env, workdir))
        for server in started[:2]:
            server.wait_ready(f"{base[server.name]}/healthz")
        seed_inviter(base["fenxiao"], shop)

        burst = [orders_paid(i, secret) for i in range(2500 * args.seconds)]
        requests_file = workdir / "requests.tsv"
        write_requests(requests_file, burst)
        results = []
        for target in ("bare", "fenxiao"):  # the floor first, so fenxiao's job work cannot slow it down
            url = f"{base[target]}/webhooks/shopify/{shop['shop_id']}"
            results.append(run_wrk(target, url, requests_file, args))
        ours = results[1]
        stored = last_event_id(database_url, shop["shop_id"])
        counts, done_at = wait_processed(database_url, shop["shop_id"], stored, args.drain_timeout)
        mode = (
            f"PostgreSQL + Redis + {args.workers} RQ worker processes"
            if args.redis
            else "embedded SQLite + in-process job thread"
        )
        print(
            f"fenxiao webhooks: {mode}; gunicorn {args.web_workers}x{args.threads} gthread both, "
            f"wrk {args.connections} connections x {args.seconds} s, {os.cpu_count()} CPUs, loopback"
        )
        print(table(results))
        print(f"inbox after the burst: {dict(sorted(counts.items()))}")
        drained = done(counts)
        print(
            f"drain: {drained}/{stored} processed {done_at - ours.started:.1f} s after the burst began"
            f" = {drained / (done_at - ours.started):.0f} paid orders/s end to end"
        )
        if args.paced_seconds:
            count = int(args.rate * args.paced_seconds)
            deliveries = [orders_paid(len(burst) + i, secret) for i in range(count)]
            accepted, seconds = paced(
                f"{base['fenxiao']}/webhooks/shopify/{shop['shop_id']}", deliveries, args.rate
            )
            wait_processed(database_url, shop["shop_id"], stored + accepted, args.drain_timeout)
            p50, p99, n = latencies(database_url, shop["shop_id"], stored)
            print(
                f"paced: {args.rate:.0f}/s offered for {args.paced_seconds} s, {accepted} accepted "
                f"in {seconds:.1f} s ({accepted / seconds:.0f}/s); "
                f"paid -> ledger (received -> processed) p50 {p50:.0f} ms, p99 {p99:.0f} ms over {n} orders"
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
