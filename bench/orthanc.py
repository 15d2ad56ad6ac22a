"""Servers for the benchmarks: a throw-away Orthanc (with its DICOMweb plugin if asked), and ``ria serve``.

Both run as subprocesses on 127.0.0.1 with free ports, their output in a log file,
and are stopped (SIGTERM, then SIGKILL) when their ``with`` block ends, on errors too.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import requests
from common import process_cpu, stop_process

__all__ = [
    "BenchError",
    "LoopbackServer",
    "find_dicomweb_plugin",
    "find_orthanc",
    "free_port",
    "start_orthanc",
    "start_ria",
]

ORTHANC_INSTALL_HINT = "install it with: apt-get install -y orthanc orthanc-dicomweb"
ORTHANC_CANDIDATES = ("Orthanc", "/usr/sbin/Orthanc", "/usr/bin/Orthanc", "/usr/local/bin/Orthanc")
DICOMWEB_PLUGIN_CANDIDATES = (
    "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
    "/usr/lib/orthanc/plugins/libOrthancDicomWeb.so",
    "/usr/local/share/orthanc/plugins/libOrthancDicomWeb.so",
)
ORTHANC_DICOMWEB_ROOT = "/dicom-web/"
# The real CLI, started from this interpreter's environment (as bench/ingest.py does).
RIA_CLI: tuple[str, ...] = (sys.executable, "-c", "from ria.cli.main import main; main()")
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


class BenchError(Exception):
    """A benchmark step failed or a result did not check out."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tree_cpu(pid: int) -> float | None:
    """CPU seconds of process ``pid`` and its living descendants (Linux only)."""
    own = process_cpu(pid)
    if own is None:
        return None
    total = own
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return total
    for task in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except OSError:
            continue
        for child in children:
            total += _tree_cpu(int(child)) or 0.0
    return total


class LoopbackServer:
    """A server subprocess answering on ``url``; ready when ``GET ready_path`` is 200 with JSON."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        port: int,
        ready_path: str,
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ready_path = ready_path
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop())
        try:
            self.process = subprocess.Popen(
                list(command),
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
            )
        except OSError as exc:
            self._log.close()
            raise BenchError(f"cannot start {name}: {exc}") from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def log_tail(self, size: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-size:]

    def wait_ready(self, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last_error = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with {self.process.returncode}; its log ends:\n{self.log_tail()}"
                )
            try:
                response = requests.get(f"{self.url}{self.ready_path}", timeout=5)
                if response.status_code == 200:
                    answer: dict[str, Any] = response.json()
                    return answer
                last_error = f"HTTP {response.status_code} {response.text[:200]}"
            except requests.RequestException as exc:
                last_error = str(exc)
            time.sleep(0.1)
        raise BenchError(
            f"{self.name} did not answer GET {self.ready_path} within {timeout:.0f} s ({last_error})"
        )

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server and its worker processes so far (Linux only)."""
        return _tree_cpu(self.process.pid)

    def stop(self) -> None:
        stop_process(self.process, self._log, self.name, STOP_TIMEOUT)


def find_orthanc(explicit: str | None) -> Path:
    for candidate in (explicit,) if explicit else ORTHANC_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return Path(found)
    where = explicit or ", ".join(ORTHANC_CANDIDATES)
    raise BenchError(f"Orthanc executable not found (looked for {where}); {ORTHANC_INSTALL_HINT}")


def find_dicomweb_plugin(explicit: str | None) -> Path:
    for candidate in (explicit,) if explicit else DICOMWEB_PLUGIN_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    where = explicit or ", ".join(DICOMWEB_PLUGIN_CANDIDATES)
    raise BenchError(f"Orthanc's DICOMweb plugin not found (looked for {where}); {ORTHANC_INSTALL_HINT}")


def orthanc_config(work: Path, http_port: int, plugin: Path | None = None) -> dict[str, Any]:
    """Throw-away settings; everything not listed keeps Orthanc's (and its plugin's) defaults."""
    config: dict[str, Any] = {
        "Name": "ria-bench",
        "StorageDirectory": str(work / "storage"),
        "IndexDirectory": str(work / "index"),
        "StorageCompression": False,
        "HttpServerEnabled": True,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomServerEnabled": False,
        "DicomPort": free_port(),  # unused (server disabled), but never a port someone else holds
        "Plugins": [],
    }
    if plugin is not None:
        config["Plugins"] = [str(plugin)]
        config["DicomWeb"] = {"Enable": True, "Root": ORTHANC_DICOMWEB_ROOT}
    return config


def start_orthanc(executable: Path, plugin: Path | None, work: Path) -> LoopbackServer:
    """Orthanc with ``work/orthanc.json`` (storage and index under ``work``); wait with ``wait_ready``.

    ``plugin`` is the DICOMweb plugin to load, or ``None`` for Orthanc alone (its REST API)."""
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config_path = work / "orthanc.json"
    config_path.write_text(json.dumps(orthanc_config(work, port, plugin), indent=2), encoding="utf-8")
    return LoopbackServer(
        "Orthanc", [str(executable), str(config_path)], port, "/system", work / "orthanc.log", cwd=work
    )


def start_ria(
    data_dir: Path, log_path: Path, *, database_url: str | None = None, pythonpath: str | None = None
) -> LoopbackServer:
    """``ria serve`` over ``data_dir`` with its defaults (SQLite catalogue); ``RIA_*`` variables ignored.

    ``database_url`` is the catalogue instead, passed in the environment so that a password
    never shows in the process list; ``pythonpath`` runs another ria source (``git archive``
    of an older commit) for a before/after comparison.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIA_")}
    env["RIA_LOCAL_CURATORS"] = "1"  # the benchmark is the operator: STOW-RS from loopback without a token
    if database_url:
        env["RIA_DATABASE_URL"] = database_url
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    command = [*RIA_CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
    return LoopbackServer("ria serve", command, port, "/api/v1/health", log_path, env=env)
