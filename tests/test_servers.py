"""The server starters in tests/servers.py really start (and really stop) real servers."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from urllib.parse import urlsplit

import pytest

try:  # tests/ as a package (rootdir on sys.path, e.g. `python -m pytest`) ...
    from tests import servers
except ImportError:  # ... or pytest's default "prepend" import mode put tests/ itself on sys.path
    import servers

pytestmark = pytest.mark.integration


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


@pytest.fixture
def redis_server():
    started = servers.start_redis()
    if started is None:
        pytest.skip("redis-server not installed (run `bash .ci/install-services.sh`)")
    url, stop = started
    yield url, stop
    stop()


@pytest.fixture
def postgres_server():
    started = servers.start_postgres()
    if started is None:
        pytest.skip("PostgreSQL binaries not found (set PG_BIN or run `bash .ci/install-services.sh`)")
    url, stop = started
    yield url, stop
    stop()


# -------------------------------------------------------------------------------------------- redis


def test_redis_set_get_then_stop_really_stops(redis_server):
    import redis

    url, stop = redis_server
    assert url.startswith("redis://127.0.0.1:") and url.endswith("/0")
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    assert client.set("fenxiao:probe", "分销") is True
    assert client.get("fenxiao:probe").decode() == "分销"
    assert client.config_get("save") == {"save": ""}
    assert client.config_get("appendonly") == {"appendonly": "no"}
    client.close()

    port = _port(url)
    assert servers.port_is_open(port)
    stop()
    assert not servers.port_is_open(port)
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    stop()  # idempotent


def test_two_redis_servers_are_independent(redis_server):
    import redis

    url_a, _ = redis_server
    started = servers.start_redis()
    assert started is not None
    url_b, stop_b = started
    try:
        assert url_a != url_b
        a = redis.Redis.from_url(url_a)
        b = redis.Redis.from_url(url_b)
        a.set("k", "a")
        assert b.get("k") is None
    finally:
        stop_b()


# ----------------------------------------------------------------------------------------- postgres


def test_postgres_create_insert_select_then_stop_really_stops(postgres_server):
    import sqlalchemy as sa

    url, stop = postgres_server
    assert url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert url.endswith("/fenxiao_test")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE probe (id serial PRIMARY KEY, name text NOT NULL)"))
            conn.execute(sa.text("INSERT INTO probe (name) VALUES (:n)"), [{"n": "分销"}, {"n": "b"}])
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT name FROM probe ORDER BY id")).scalars().all()
            assert rows == ["分销", "b"]
            assert conn.execute(sa.text("SELECT current_database()")).scalar() == "fenxiao_test"
            assert conn.execute(sa.text("SHOW server_encoding")).scalar() == "UTF8"
            assert conn.execute(sa.text("SHOW server_version_num")).scalar() >= "150000"
    finally:
        engine.dispose()

    port = _port(url)
    assert servers.port_is_open(port)
    stop()
    assert not servers.port_is_open(port)
    stop()  # idempotent


def test_postgres_row_locks_are_real(postgres_server):
    """The reason for a real server: a second transaction really blocks on SELECT ... FOR UPDATE."""
    import psycopg

    url, _ = postgres_server
    conninfo = f"host=127.0.0.1 port={_port(url)} user=postgres dbname=fenxiao_test"
    with psycopg.connect(conninfo, autocommit=True) as setup:
        setup.execute("CREATE TABLE wallet (id int PRIMARY KEY, balance int NOT NULL)")
        setup.execute("INSERT INTO wallet VALUES (1, 100)")

    with psycopg.connect(conninfo) as first, psycopg.connect(conninfo) as second:
        first.execute("SELECT balance FROM wallet WHERE id = 1 FOR UPDATE")
        second.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            second.execute("SELECT balance FROM wallet WHERE id = 1 FOR UPDATE")
        second.rollback()
        first.commit()
        assert second.execute("SELECT balance FROM wallet WHERE id = 1 FOR UPDATE").fetchone() == (100,)


def test_postgres_stop_with_open_connection_does_not_hang(postgres_server):
    import psycopg

    url, stop = postgres_server
    conn = psycopg.connect(f"host=127.0.0.1 port={_port(url)} user=postgres dbname=fenxiao_test")
    t0 = time.monotonic()
    stop()
    assert time.monotonic() - t0 < 15
    assert not servers.port_is_open(_port(url))
    conn.close()


# ------------------------------------------------------------------------------------- start_process

_PARENT_WITH_CHILD = textwrap.dedent(
    """
    import subprocess, sys, time, pathlib
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    pathlib.Path(sys.argv[1]).write_text(str(child.pid))
    print("ready", flush=True)
    time.sleep(600)
    """
)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still "exists"; check its state
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_start_process_kills_whole_process_group(tmp_path):
    pidfile = tmp_path / "child.pid"
    managed = servers.start_process(
        [sys.executable, "-c", _PARENT_WITH_CHILD, str(pidfile)],
        env={"FENXIAO_PROBE": "1"},
        ready_check=lambda: pidfile.exists() and pidfile.read_text(),
        timeout=20,
    )
    child_pid = int(pidfile.read_text())
    assert managed.alive() and _pid_alive(child_pid)
    managed.stop()
    assert not managed.alive()
    assert servers.wait_until(lambda: not _pid_alive(child_pid), timeout=5)
    assert "ready" in managed.read_log()
    managed.stop()  # idempotent


def test_start_process_escalates_to_sigkill(tmp_path):
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); "
        "time.sleep(600)"
    )
    log = tmp_path / "p.log"
    managed = servers.start_process(
        [sys.executable, "-c", script],
        ready_check=lambda: "up" in log.read_text(),
        log_path=log,
        stop_timeout=0.5,
    )
    managed.stop()
    assert managed.proc.returncode == -signal.SIGKILL


def test_start_process_reports_early_exit_with_log():
    with pytest.raises(servers.ServerUnavailable, match=r"exited with code 3(.|\n)*boom"):
        servers.start_process(
            [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"],
            ready_check=lambda: False,
            timeout=10,
        )


# ---------------------------------------------------------------------------------- missing binaries


def test_missing_binaries_skip_locally_but_fail_in_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server here
    monkeypatch.setenv("PG_BIN", str(tmp_path))  # no initdb/postgres/pg_ctl here

    monkeypatch.setenv("CI", "false")
    assert servers.start_redis() is None
    assert servers.start_postgres() is None

    monkeypatch.setenv("CI", "true")
    with pytest.raises(servers.ServerUnavailable, match="redis-server"):
        servers.start_redis()
    with pytest.raises(servers.ServerUnavailable, match="PostgreSQL"):
        servers.start_postgres()
