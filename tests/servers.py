"""Start REAL servers (redis-server, PostgreSQL, arbitrary long-running processes) for the test session.

Why real servers and not fakes (fakeredis, SQLite)?  The behaviour this project must get right lives in
the servers themselves: PostgreSQL row locks (``SELECT ... FOR UPDATE``), unique constraints hit by two
concurrent transactions, transaction isolation, and rq's use of Redis (queues, job status, BLPOP) from a
separate worker process.  Fakes emulate none of that faithfully, so a test that passes against a fake
proves little.  Every server here is started on loopback, on a free port, in a fresh temporary directory,
and is torn down (process group killed, directory removed) by the returned stop function.

These are plain functions with no dependency on the application, so ``conftest.py`` can wrap them in
fixtures of whatever scope it needs::

    started = start_redis()
    if started is None:
        pytest.skip("redis-server not installed (run .ci/install-services.sh)")
    url, stop = started

Missing binaries: when the environment variable ``CI`` is ``"true"`` the starters raise
:class:`ServerUnavailable` (CI must never silently skip the integration tests); otherwise they return
``None`` so the caller can skip with a clear message.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = [
    "ManagedProcess",
    "ServerUnavailable",
    "find_free_port",
    "find_pg_bin",
    "port_is_open",
    "start_postgres",
    "start_process",
    "start_redis",
    "wait_until",
]

PG_DATABASE = "fenxiao_test"
PG_USER = "postgres"  # superuser created by initdb -U; also the OS user the server runs as under root


class ServerUnavailable(RuntimeError):
    """A server binary is missing (raised instead of skipping when ``CI=true``) or failed to start."""


# --------------------------------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------------------------------


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _missing(what: str) -> None:
    """Binary ``what`` is missing: raise in CI (never silently skip there), else return None."""
    msg = f"{what} not found; run `bash .ci/install-services.sh` (or set PG_BIN for PostgreSQL)"
    if _in_ci():
        raise ServerUnavailable(msg)
    return None


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it; tiny race accepted)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``check()`` until it returns truthy (exceptions count as "not yet"); False on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return True
        except Exception:  # noqa: BLE001 - "not ready yet" takes many forms (refused, reset, ...)
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _tail(path: Path, max_chars: int = 4000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "<no log>"
    return text[-max_chars:]


# Everything started here is also stopped at interpreter exit, in case a caller never reaches its
# teardown (KeyboardInterrupt, crash in a fixture): leaked servers would hold ports and temp dirs.
_cleanups: list[Callable[[], None]] = []
_cleanups_lock = threading.Lock()


def _register_cleanup(fn: Callable[[], None]) -> None:
    with _cleanups_lock:
        _cleanups.append(fn)


def _unregister_cleanup(fn: Callable[[], None]) -> None:
    with _cleanups_lock, contextlib.suppress(ValueError):
        _cleanups.remove(fn)


@atexit.register
def _cleanup_all() -> None:
    with _cleanups_lock:
        pending = list(reversed(_cleanups))
    for fn in pending:
        with contextlib.suppress(Exception):
            fn()


def _make_stop(*steps: Callable[[], None]) -> Callable[[], None]:
    """An idempotent, thread-safe stop function running ``steps`` in order (all run even if one fails)."""
    lock = threading.Lock()
    done = False

    def stop() -> None:
        nonlocal done
        with lock:
            if done:
                return
            done = True
        _unregister_cleanup(stop)
        errors: list[BaseException] = []
        for step in steps:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - run every step, report the first failure
                errors.append(exc)
        if errors:
            raise errors[0]

    _register_cleanup(stop)
    return stop


# --------------------------------------------------------------------------------------------------
# generic long-running process
# --------------------------------------------------------------------------------------------------


class ManagedProcess:
    """A subprocess started by :func:`start_process`, in its own process group, output in a log file."""

    def __init__(self, proc: subprocess.Popen, log_path: Path, stop: Callable[[], None]):
        self.proc = proc
        self.pid = proc.pid
        self.log_path = log_path
        self._stop = stop

    def stop(self) -> None:
        """Signal the whole process group, wait, then SIGKILL whatever is left.  Idempotent."""
        self._stop()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def read_log(self) -> str:
        """Everything the process wrote to stdout/stderr so far."""
        return _tail(self.log_path, max_chars=10**7)

    def __repr__(self) -> str:
        return f"<ManagedProcess pid={self.pid} alive={self.alive()} log={self.log_path}>"


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to process group ``pgid``; False if the group no longer exists."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        # e.g. a member changed uid; fall back to nothing rather than crash the teardown
        return False


def _group_alive(pgid: int) -> bool:
    """Any *running* (non-zombie) process left in group ``pgid``?

    Zombies are ignored: orphans are reaped by PID 1, which in a container may only do so every second
    or so, and a zombie holds no port, file or lock.  Falls back to ``killpg(pgid, 0)`` without /proc.
    """
    if not os.path.isdir("/proc/self"):
        return _signal_group(pgid, 0)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # after "comm)": state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def start_process(
    argv: Sequence[str],
    env: Mapping[str, str | None] | None = None,
    ready_check: Callable[[], object] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = 30.0,
    stop_signal: int = signal.SIGTERM,
    stop_timeout: float = 10.0,
    log_path: str | os.PathLike[str] | None = None,
    user: str | None = None,
    name: str | None = None,
) -> ManagedProcess:
    """Start a long-running process (``rq worker``, the web server, a database) and wait until it is ready.

    The process gets its own session / process group so that :meth:`ManagedProcess.stop` can signal
    *everything* it spawned (an rq worker forks a work-horse per job; killing only the parent would leak
    it).  Stop sends ``stop_signal`` to the group, waits up to ``stop_timeout`` seconds for the leader,
    then SIGKILLs the group (also reaping stragglers that outlived the leader).

    ``env``: variables merged over the current environment (a ``None`` value removes a variable).
    ``ready_check``: called repeatedly (exceptions = not ready) until truthy; if the process exits or
    ``timeout`` passes first, it is stopped and :class:`ServerUnavailable` is raised with its log tail.
    ``user``: run as this OS user (only meaningful when we are root).
    stdout and stderr go to ``log_path`` (default: a temp file, readable after stop, deleted at exit).
    """
    argv = [os.fspath(a) for a in argv]
    name = name or Path(argv[0]).name
    full_env = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value

    if log_path is None:
        fd, tmp = tempfile.mkstemp(prefix=f"fenxiao-{name}-", suffix=".log")
        os.close(fd)
        log = Path(tmp)
        atexit.register(log.unlink, missing_ok=True)  # readable after stop(), gone after the session
    else:
        log = Path(log_path)
    popen_kwargs: dict = {}
    if user is not None and os.geteuid() == 0:
        popen_kwargs.update(user=user, group=_primary_group(user), extra_groups=[])
    with open(log, "ab") as log_fh:
        proc = subprocess.Popen(
            argv,
            env=full_env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log_fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: pgid == pid
            **popen_kwargs,
        )
    pgid = proc.pid

    def _terminate() -> None:
        if proc.poll() is None:
            _signal_group(pgid, stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=stop_timeout)
        # leader gone (or stuck): kill whatever is left of the group, then reap the leader
        _signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        wait_until(lambda: not _group_alive(pgid), timeout=2)

    stop = _make_stop(_terminate)
    managed = ManagedProcess(proc, log, stop)

    if ready_check is None:
        return managed

    def _ready() -> bool:
        if proc.poll() is not None:
            raise _Exited
        return bool(ready_check())

    deadline = time.monotonic() + timeout
    while True:
        try:
            if _ready():
                return managed
        except _Exited:
            stop()
            raise ServerUnavailable(
                f"{name} exited with code {proc.returncode} before becoming ready; log {log}:\n{_tail(log)}"
            ) from None
        except Exception:  # noqa: BLE001 - not ready yet
            pass
        if time.monotonic() >= deadline:
            stop()
            raise ServerUnavailable(f"{name} not ready after {timeout:.0f}s; log {log}:\n{_tail(log)}")
        time.sleep(0.05)


class _Exited(Exception):
    pass


def _primary_group(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_gid


# --------------------------------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------------------------------


def start_redis(*, timeout: float = 30.0) -> tuple[str, Callable[[], None]] | None:
    """Start a private ``redis-server`` on 127.0.0.1 (free port, no persistence, fresh temp dir).

    Returns ``(url, stop)`` with ``url`` like ``redis://127.0.0.1:PORT/0``; ``None`` if redis-server is
    not installed (raises :class:`ServerUnavailable` instead when ``CI=true``).
    """
    binary = shutil.which("redis-server")
    if binary is None:
        return _missing("redis-server")
    import redis  # runtime dependency of the package (rq needs it)

    last_error: Exception | None = None
    for _attempt in range(3):  # the free port may be grabbed by someone else before redis binds it
        port = find_free_port()
        tmpdir = Path(tempfile.mkdtemp(prefix="fenxiao-redis-"))
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, socket_timeout=1)
        try:
            managed = start_process(
                [
                    binary,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(tmpdir),
                    "--protected-mode",
                    "yes",
                ],
                ready_check=client.ping,
                cwd=tmpdir,
                timeout=timeout,
                log_path=tmpdir / "redis.log",
                name="redis-server",
            )
        except ServerUnavailable as exc:
            last_error = exc
            shutil.rmtree(tmpdir, ignore_errors=True)
            continue
        finally:
            client.close()

        stop = _make_stop(managed.stop, lambda d=tmpdir: shutil.rmtree(d, ignore_errors=True))
        return f"redis://127.0.0.1:{port}/0", stop
    raise ServerUnavailable(f"could not start redis-server: {last_error}")


# --------------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------------

_PG_TOOLS = ("initdb", "postgres", "pg_ctl")


def _has_pg_tools(directory: str | os.PathLike[str]) -> bool:
    return all(os.access(os.path.join(directory, tool), os.X_OK) for tool in _PG_TOOLS)


def _pg_version_key(directory: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/15/bin -> (15,)
    version = Path(directory).parent.name
    return tuple(int(p) for p in version.split(".") if p.isdigit()) or (0,)


def find_pg_bin() -> Path | None:
    """Directory holding ``initdb``/``postgres``/``pg_ctl``.

    Order: env ``PG_BIN``; the directory of ``pg_ctl`` on PATH (symlinks resolved first, so
    /usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin); the newest /usr/lib/postgresql/*/bin.
    """
    env_dir = os.environ.get("PG_BIN")
    if env_dir:
        return Path(env_dir) if _has_pg_tools(env_dir) else None
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        for candidate in (os.path.dirname(os.path.realpath(pg_ctl)), os.path.dirname(pg_ctl)):
            if _has_pg_tools(candidate):
                return Path(candidate)
    candidates = [d for d in glob.glob("/usr/lib/postgresql/*/bin") if _has_pg_tools(d)]
    if candidates:
        return Path(max(candidates, key=_pg_version_key))
    return None


def _run_checked(argv: list[str], *, user: str | None, cwd: Path, timeout: float) -> None:
    kwargs: dict = {}
    if user is not None:
        kwargs.update(user=user, group=_primary_group(user), extra_groups=[])
    result = subprocess.run(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        env={**os.environ, "LC_ALL": "C", "LANG": "C"},
        **kwargs,
    )
    if result.returncode != 0:
        raise ServerUnavailable(f"{' '.join(argv)} failed with code {result.returncode}:\n{result.stdout}")


def start_postgres(
    *, dbname: str = PG_DATABASE, timeout: float = 60.0
) -> tuple[str, Callable[[], None]] | None:
    """Start a private PostgreSQL cluster on 127.0.0.1 and create database ``dbname`` in it.

    ``initdb -A trust -U postgres --encoding UTF8 --no-locale`` into a fresh temp dir, then ``postgres``
    in the foreground (listening on 127.0.0.1:PORT, unix socket in the temp dir, fsync off: the data is
    thrown away anyway).  PostgreSQL refuses to run as root, so when we are root the temp dir is chowned
    to the ``postgres`` OS user and the binaries run as that user (``subprocess`` ``user=``/``group=``,
    i.e. setuid in the child, the same effect as ``runuser -u postgres --`` without a wrapper process
    sitting between us and the postmaster); when not root they run as the current user.

    Returns ``(url, stop)`` with a SQLAlchemy URL ``postgresql+psycopg://postgres@127.0.0.1:PORT/dbname``;
    ``None`` if the binaries are missing (raises :class:`ServerUnavailable` instead when ``CI=true``).
    Stop is a "fast" shutdown (SIGINT: open client connections are terminated, no waiting for them).
    """
    pg_bin = find_pg_bin()
    if pg_bin is None:
        return _missing("PostgreSQL binaries (initdb, postgres, pg_ctl)")
    import psycopg  # test extra: psycopg[binary]

    run_as: str | None = None
    if os.geteuid() == 0:
        run_as = "postgres"
        try:
            import pwd

            pw = pwd.getpwnam(run_as)
        except KeyError:
            raise ServerUnavailable("running as root but there is no `postgres` OS user to run PostgreSQL")

    tmpdir = Path(tempfile.mkdtemp(prefix="fenxiao-pg-"))
    remove_tmpdir = lambda: shutil.rmtree(tmpdir, ignore_errors=True)  # noqa: E731
    datadir = tmpdir / "data"
    try:
        if run_as is not None:
            os.chown(tmpdir, pw.pw_uid, pw.pw_gid)
        _run_checked(
            [
                str(pg_bin / "initdb"),
                "-D",
                str(datadir),
                "-A",
                "trust",
                "-U",
                PG_USER,
                "--encoding",
                "UTF8",
                "--no-locale",
                "--no-sync",  # nothing here needs to survive a power cut
            ],
            user=run_as,
            cwd=tmpdir,
            timeout=timeout,
        )
    except BaseException:
        remove_tmpdir()
        raise

    last_error: Exception | None = None
    for _attempt in range(3):  # retry if the free port got taken before the postmaster bound it
        port = find_free_port()
        conninfo = f"host=127.0.0.1 port={port} user={PG_USER} dbname=postgres connect_timeout=2"

        def _accepts(conninfo: str = conninfo) -> bool:
            with psycopg.connect(conninfo) as conn:
                conn.execute("SELECT 1")
            return True

        try:
            managed = start_process(
                [
                    str(pg_bin / "postgres"),
                    "-D",
                    str(datadir),
                    "-p",
                    str(port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"unix_socket_directories={tmpdir}",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                env={"LC_ALL": "C", "LANG": "C"},
                ready_check=_accepts,
                cwd=tmpdir,
                timeout=timeout,
                stop_signal=signal.SIGINT,  # fast shutdown; SIGTERM ("smart") waits for clients
                stop_timeout=20.0,
                log_path=tmpdir / "postgres.log",  # opened by us; the child inherits the fd
                user=run_as,
                name="postgres",
            )
        except ServerUnavailable as exc:
            last_error = exc
            continue

        stop = _make_stop(managed.stop, remove_tmpdir)
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{dbname}"')
        except BaseException:
            stop()
            raise
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}/{dbname}", stop

    remove_tmpdir()
    raise ServerUnavailable(f"could not start PostgreSQL: {last_error}")


if __name__ == "__main__":  # manual smoke test: python tests/servers.py
    for starter in (start_redis, start_postgres):
        t0 = time.monotonic()
        started = starter()
        if started is None:
            print(f"{starter.__name__}: binaries missing", file=sys.stderr)
            continue
        url, stop_fn = started
        print(f"{starter.__name__}: {url} ({time.monotonic() - t0:.2f}s)")
        stop_fn()
