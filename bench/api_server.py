"""The pieces of bench/api.py that run things: a throwaway PostgreSQL database, ``ria serve`` as a subprocess,
and CPU accounting that tells our load from other processes'. Split from ``api.py`` to keep modules small.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

try:
    import requests
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("bench/api.py needs requests: pip install requests (or pip install -e '.[bench]')")

from api_catalogue import BenchError
from common import machine_busy_seconds, process_cpu, stop_process
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from ria.catalog.database import normalise_url
from ria.settings import Settings

# The real CLI, started from this interpreter's environment (as bench/ingest.py does).

RIA_CLI: tuple[str, ...] = (sys.executable, "-c", "from ria.cli.main import main; main()")
SERVER_START_TIMEOUT = 120.0
SERVER_STOP_TIMEOUT = 30.0
HTTP_TIMEOUT = 600.0
QUIET_LIMIT = 0.25  # cores other processes may use during a phase before it is flagged


# --------------------------------------------------------------------------- PostgreSQL


@contextlib.contextmanager
def throwaway_database(url: str, keep: bool) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server ``url`` names; dropped on exit unless ``keep``."""
    base = make_url(normalise_url(url))
    if base.get_backend_name() != "postgresql":
        raise BenchError(f"--database-url must be a postgresql:// URL, got {base.drivername}")
    name = f"{base.database or 'ria'}_api_bench_{os.getpid()}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise BenchError(f"cannot create database {name}: {reason}") from exc
    target: URL = base.set(database=name)
    print(f"  PostgreSQL: created database {name}")
    try:
        yield target.render_as_string(hide_password=False)
    finally:
        if keep:
            print(f"kept database {target.render_as_string(hide_password=True)}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            print(f"  PostgreSQL: dropped database {name}")
        admin.dispose()


def server_version(url: str) -> str:
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class BackendCpu:
    """CPU used so far by the PostgreSQL backends connected to one database of a local server.

    They work for ``ria serve``, so it is the archive's CPU, not another process's.
    Backends that exit between two readings take their CPU with them (the pool is
    stable once warmed up, so this stays small).
    """

    def __init__(self, url: str) -> None:
        self.engine = create_engine(normalise_url(url))

    def __call__(self) -> float:
        query = text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        with self.engine.connect() as conn:
            pids = [int(pid) for pid in conn.execute(query).scalars()]
        return sum(cpu for pid in pids if (cpu := process_cpu(pid)) is not None)

    def close(self) -> None:
        self.engine.dispose()


class Server:
    """``ria serve`` on a free loopback port, its output in ``log_path``; stopped by :meth:`stop`."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        # Documented defaults, except the catalogue URL, which goes through the environment
        # so that a password never shows in the process list.
        env = {k: v for k, v in os.environ.items() if not k.startswith("RIA_")}
        if settings.database_url:
            env["RIA_DATABASE_URL"] = settings.database_url
        command = [
            *RIA_CLI,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(settings.data_dir),
        ]
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )

    def _log_tail(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]

    def wait_ready(self, timeout: float = SERVER_START_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last_error = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"ria serve exited with {self.process.returncode}:\n{self._log_tail()}")
            try:
                response = requests.get(f"{self.url}/api/v1/health", timeout=5)
                if response.status_code == 200:
                    health: dict[str, Any] = response.json()
                    return health
                last_error = f"HTTP {response.status_code} {response.text[:200]}"
            except requests.RequestException as exc:
                last_error = str(exc)
            time.sleep(0.2)
        raise BenchError(f"ria serve did not become healthy within {timeout:.0f} s ({last_error})")

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server process has used so far (Linux only)."""
        return process_cpu(self.process.pid)

    def stop(self) -> None:
        stop_process(self.process, self._log, "ria serve", SERVER_STOP_TIMEOUT)


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


class CpuWatch:
    """How many cores *other* processes kept busy during a phase: machine CPU minus server and client CPU.

    A shared machine (a test suite running alongside) slows the server and the
    client down; the figure goes next to each result so such runs are recognisable.
    """

    def __init__(self, server_cpu: Callable[[], float | None]) -> None:
        self.server_cpu = server_cpu
        self.other_cores: float | None = None
        self._start: tuple[float | None, float | None, float, float] = (None, None, 0.0, 0.0)

    def __enter__(self) -> CpuWatch:
        self._start = (machine_busy_seconds(), self.server_cpu(), own_cpu(), time.perf_counter())
        return self

    def __exit__(self, *exc: object) -> None:
        machine, server_cpu, client, started = self._start
        machine_now, server_now = machine_busy_seconds(), self.server_cpu()
        seconds = time.perf_counter() - started
        if machine is None or machine_now is None or server_cpu is None or server_now is None or seconds <= 0:
            return
        ours = (server_now - server_cpu) + (own_cpu() - client)
        self.other_cores = max(0.0, (machine_now - machine - ours) / seconds)

    def note(self) -> str:
        if self.other_cores is None:
            return "other processes' CPU: not measured"
        shared = self.other_cores > QUIET_LIMIT
        warning = " (WARNING: the machine was shared; figures unreliable)" if shared else ""
        return f"other processes kept {self.other_cores:.2f} cores busy{warning}"
