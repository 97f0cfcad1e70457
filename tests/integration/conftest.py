"""Fixtures for production mode on real parts: a PostgreSQL database of its own, a redis-server
the tests may stop and restart, one ``fenxiao serve`` process for the session, and a factory for
``fenxiao worker`` processes. Every test starts from an empty database and an empty Redis."""

from __future__ import annotations

import os
import shutil

import psycopg
import pytest
import requests
from rq import Worker
from sqlalchemy.engine import make_url

import migrations
from tests import servers
from tests.conftest import truncate_all

from .stack import FENXIAO, RestartableRedis, Stack

STACK_DATABASE = "fenxiao_integration"


@pytest.fixture(scope="session")
def stack_database_url(postgres_server) -> str:
    """A database of its own in the session's PostgreSQL, so truncating it touches no other test."""
    url = make_url(postgres_server)
    admin = dict(host=url.host, port=url.port, user=url.username, dbname="postgres", autocommit=True)
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{STACK_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{STACK_DATABASE}"')
    stack_url = url.set(database=STACK_DATABASE).render_as_string(hide_password=False)
    migrations.upgrade(stack_url)
    yield stack_url
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{STACK_DATABASE}" WITH (FORCE)')


@pytest.fixture(scope="session")
def restartable_redis(tmp_path_factory):
    if shutil.which("redis-server") is None:
        if os.environ.get("CI", "").lower() == "true":
            raise servers.ServerUnavailable("redis-server not found; run .ci/install-services.sh")
        pytest.skip("redis-server not installed (run .ci/install-services.sh)")
    server = RestartableRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def web_server(stack_database_url, restartable_redis, tmp_path_factory):
    """``fenxiao serve``: production mode because REDIS_URL is set (FENXIAO_JOBS left unset)."""
    port = servers.find_free_port()
    base_url = f"http://127.0.0.1:{port}"
    workdir = tmp_path_factory.mktemp("web")
    process = servers.start_process(
        [FENXIAO, "serve", "--port", str(port)],
        env={"DATABASE_URL": stack_database_url, "REDIS_URL": restartable_redis.url, "FENXIAO_JOBS": None},
        ready_check=lambda: requests.get(f"{base_url}/healthz", timeout=1).status_code == 200,
        cwd=workdir,
        name="fenxiao-serve",
    )
    yield base_url, process, workdir
    process.stop()


@pytest.fixture
def stack(stack_database_url, restartable_redis, web_server) -> Stack:
    """The running stack with an empty database and an empty (running) Redis."""
    restartable_redis.start()  # a failed test may have left it stopped
    restartable_redis.connection().flushall()
    truncate_all(stack_database_url)
    base_url, process, workdir = web_server
    assert process.alive(), process.read_log()
    handle = Stack(stack_database_url, restartable_redis, base_url, process, workdir)
    yield handle
    handle.engine.dispose()


@pytest.fixture
def start_worker(stack):
    """Start ``fenxiao worker`` processes (same environment as the web); all stopped after the test."""
    started: list[servers.ManagedProcess] = []

    def start() -> servers.ManagedProcess:
        connection = stack.redis.connection()
        known = {worker.name for worker in Worker.all(connection=connection)}
        process = servers.start_process(
            [FENXIAO, "worker"],
            env={**stack.env, "FENXIAO_JOBS": None},
            cwd=stack.workdir,
            name="fenxiao-worker",
            ready_check=lambda: {worker.name for worker in Worker.all(connection=connection)} - known,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
