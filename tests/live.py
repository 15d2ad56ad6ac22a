"""``ria serve`` as a process of its own, and its memory sampled from outside: for the memory tests.

Memory claims ("flat server memory", "a 300 MiB part costs under 100 MiB") only mean
something for a real server process measured by the operating system, so these tests
start the CLI exactly as a user would and read its resident set size with psutil.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

from tests.api.conftest import free_port
from tests.cli.test_cli import RIA

__all__ = ["PeakRss", "ria_serve"]


@contextlib.contextmanager
def ria_serve(
    data_dir: Path, log: Path, *options: str, database_url: str | None = None
) -> Iterator[tuple[str, int]]:
    """``ria serve`` on a free loopback port once its health check answers: (base URL, pid).

    ``RIA_*`` variables are dropped so that only the arguments choose the archive; the
    output goes to ``log``, which the failure message shows if the server never comes up;
    ``options`` are more ``ria serve`` arguments.
    """
    port = free_port()
    command = [*RIA, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    if database_url:
        command += ["--database-url", database_url]
    command += options
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIA_")}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/health", timeout=5).status_code == 200:
                    break
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class PeakRss:
    """The highest resident set size of process ``pid`` while the ``with`` block runs.

    A thread samples every ``interval`` seconds, and once more at the end, so a short
    peak between two requests is not missed. With ``children`` (the default) the
    process's descendants count too: a server hands some work (de-identification,
    ingestion) to worker processes, and their memory is the server's cost as well.
    ``pid`` None is this process, for servers run in a thread.
    """

    def __init__(self, pid: int | None = None, *, interval: float = 0.01, children: bool = True) -> None:
        self.process = psutil.Process(pid)
        self._interval = interval
        self._children = children
        self.peak = self.rss()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        """The resident set size now (the idle figure, read before the work starts)."""
        members = [self.process, *self.process.children(recursive=True)] if self._children else [self.process]
        total = 0
        for member in members:
            with contextlib.suppress(psutil.NoSuchProcess):  # a worker that exited meanwhile
                total += int(member.memory_info().rss)
        return total

    def sample(self) -> None:
        """Take one sample now: for a caller that knows when memory is at its highest."""
        self.peak = max(self.peak, self.rss())

    def _run(self) -> None:
        while not self._done.wait(self._interval):
            self.sample()

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        self.sample()
