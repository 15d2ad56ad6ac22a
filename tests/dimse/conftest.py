"""A real DICOM node in-process on a free loopback port, and dcmtk's real command-line tools."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pydicom
import pytest

from ria.archive import Archive
from ria.dimse import DicomNode, NodeConfig
from ria.settings import Settings

Run = Callable[..., subprocess.CompletedProcess[str]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dcmtk_tool(name: str) -> str:
    """dcmtk's own ``name`` (PATH may hold same-named Python shims that are not dcmtk)."""
    folders = ["/usr/bin", "/usr/local/bin", *os.environ.get("PATH", "").split(os.pathsep)]
    for folder in folders:
        candidate = Path(folder) / name
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        try:
            version = subprocess.run(
                [str(candidate), "--version"], capture_output=True, text=True, timeout=20
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        if "dcmtk" in version:
            return str(candidate)
    pytest.fail(f"dcmtk's {name} is not installed: these tests need dcmtk (apt-get install dcmtk)")


@pytest.fixture(scope="session")
def dcmtk() -> Run:
    """``dcmtk("findscu", arg, ...)``: run a dcmtk tool, return the finished process."""
    found: dict[str, str] = {}

    def run(name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        if name not in found:
            found[name] = dcmtk_tool(name)
        return subprocess.run([found[name], *args], capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture
def sqlite_archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive(Settings(data_dir=tmp_path / "data", workers=1, batch_size=50)) as opened:
        yield opened


def start_node(archive: Archive, **config: object) -> DicomNode:
    values: dict[str, object] = {"ae_title": "RIA", "port": 0, "collection": "TCGA-LUAD"} | config
    node = DicomNode(archive, NodeConfig(**values))  # type: ignore[arg-type]
    node.start()
    return node


@pytest.fixture
def node(sqlite_archive: Archive) -> Iterator[DicomNode]:
    with start_node(sqlite_archive) as running:
        yield running


def dataset_bytes(data: bytes) -> bytes:
    """A Part 10 file's data set: what follows the File Meta Information group (its length is required)."""
    assert data[128:132] == b"DICM", "not a Part 10 file"
    assert data[132:136] == b"\x02\x00\x00\x00" and data[136:138] == b"UL"
    group_length = int.from_bytes(data[140:144], "little")
    return data[144 + group_length :]


def read(path: Path | bytes) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = io.BytesIO(path) if isinstance(path, bytes) else path
        return pydicom.dcmread(source, stop_before_pixels=True)


class StoreSCP:
    """dcmtk's storescp on a free port, writing what it receives, bit for bit, into a folder."""

    def __init__(
        self, tool: str, folder: Path, port: int | None = None, accept: tuple[str, ...] = ("+xa",)
    ) -> None:
        """``accept``: storescp's transfer syntax options (default ``+xa``: every syntax)."""
        self.folder = folder
        self.port = port or free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [tool, "+B", *accept, "-aet", "DEST", "-od", str(folder), str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"storescp did not start on port {self.port}")

    def files(self) -> list[Path]:
        return sorted(path for path in self.folder.iterdir() if path.is_file())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[StoreSCP]:
    scp = StoreSCP(dcmtk_tool("storescp"), tmp_path / "received")
    yield scp
    scp.stop()


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target
