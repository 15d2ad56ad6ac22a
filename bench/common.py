"""What every benchmark script shares: which ria is measured, process CPU time and peak memory,
stopping a server."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["PeakRss", "machine_busy_seconds", "process_cpu", "ria_source_state", "stop_process", "workspace"]


def ria_source_state() -> str:
    """Where the ria being measured comes from: its git commit, and whether src/ has local changes."""
    import ria

    package = Path(ria.__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(package), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(package), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"from {package}"
    return f"from {package} at commit {head}" + (" with uncommitted changes" if dirty else "")


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds process ``pid`` has used so far (Linux only)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakRss:
    """The highest resident set size of process ``pid`` and its children, sampled in a thread.

    Use it as a ``with`` block; :meth:`reset` starts a new peak from the current size, for
    one server measured phase after phase. Children count because a server hands some
    work (de-identification, ingestion) to worker processes. psutil is imported here, not
    at the top, so that scripts which never sample memory do not need it.
    """

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        import psutil

        self._error: type[Exception] = psutil.Error
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        """The tree's resident set size now; a child that exits meanwhile counts for nothing."""
        total = 0
        for member in [self.process, *self.process.children(recursive=True)]:
            with contextlib.suppress(self._error):
                total += int(member.memory_info().rss)
        return total

    def reset(self) -> None:
        self.peak = self.rss()

    def _run(self) -> None:
        while True:
            with contextlib.suppress(self._error):
                self.peak = max(self.peak, self.rss())
            if self._done.wait(self.interval):
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def stop_process(process: subprocess.Popen[bytes], log: IO[bytes], name: str, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it does not stop within ``timeout``; always closes its log."""
    try:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                print(f"  {name} did not stop on SIGTERM; killing it", file=sys.stderr)
                process.kill()
                process.wait(timeout=timeout)
    finally:
        log.close()


@contextlib.contextmanager
def workspace(keep: bool, prefix: str = "ria-bench-") -> Iterator[Path]:
    """One temporary folder for a benchmark's corpus, data and logs; removed unless ``keep``."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield root
    finally:
        if keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores have spent not idle (nor waiting for I/O) since boot; Linux only."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal ...
    busy = sum(int(value) for index, value in enumerate(fields[1:9]) if index not in (3, 4))
    return busy / os.sysconf("SC_CLK_TCK")
