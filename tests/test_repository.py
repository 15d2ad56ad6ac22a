"""A clone tests itself anywhere: nothing in src/, tests/, bench/ or .ci/ reads outside the repository.

The suite once read the sibling folder beside the clone (by a relative ``..`` path and by its
absolute path); a clone elsewhere failed. This
scans every tracked text file of those folders for three ways out — ``..`` literals escaping the
repository, ``Path(__file__)`` parents above its root, absolute filesystem paths — and names
each finding ``file:line``. System locations (``/usr/bin/unzip``, ``/dev/null``, ``/proc/stat``,
``/etc/...``) are the machine's, not data, and pass; anything else needs an explicit entry below.
"""

from __future__ import annotations

import gzip
import hashlib
import posixpath
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, TCGA_DATA

SCANNED = ("src", "tests", "bench", ".ci")
SKIPPED_SUFFIXES = (".gz", ".dcm", ".png", ".jpg", ".parquet", ".pyc")
# Third-party files shipped unmodified for browsers (tests/api/test_docs.py checks their SHA-256 against
# their README): minified code whose "../" strings are a browser's URLs, never a path Ria reads.
VENDORED = ("src/ria/api/static/swagger/swagger-ui-bundle.js", "src/ria/api/static/swagger/swagger-ui.css")
SYSTEM_PREFIXES = ("/usr/", "/bin/", "/sbin/", "/lib/", "/dev/", "/proc/", "/sys/", "/etc/")
# Absolute paths that are values, never read: each with its reason.
ALLOWED_ABSOLUTE = {
    ("tests/test_settings.py", "/srv/ria"): "a RIA_DATA_DIR value parsed, not opened",
    ("tests/test_settings.py", "/srv/ria/blobs"): "the blob folder derived from it",
    ("bench/README.md", "/tmp"): "prose: '/tmp-style scratch script'",
}
# Hostile names tests prove are refused (they escape on purpose; nothing opens them).
HOSTILE = {
    "../etc",
    "../../etc",
    "../../etc/passwd",
    "../escape.dcm",
    "series/../../escape.dcm",
    "../../{path.relative_to(corpus.root)}",
}
FS_ROOTS = (
    "bin|boot|dev|etc|home|lib|lib64|media|mnt|opt|proc|root|run|sbin|srv|sys|tmp|usr|var"
    "|work|shared|data|scratch|Users|Volumes|nfs|workspace"
)
# Not after a word, a URL scheme or host, a placeholder (<data-dir>/x, {root}/x) or a relative path.
ABSOLUTE = re.compile(rf"(?<![\w.:/~<>{{}})\]$-])/(?:{FS_ROOTS})(?![\w.-])(?:/[^\s\"'`)\],;:]*)?")
DOTDOT = re.compile(r"(?<![\w.:/-])(?:[\w.{}()-]+/)*\.\./[^\s\"'`\],;:]*")
PARENTS = re.compile(r"__file__.*?\.parents\[(\d+)\]")
PARENT_CHAIN = re.compile(r"__file__[^\n]*?((?:\.parent\b)+)")
ROOT_PARENT = re.compile(r"\bROOT\.parent\b")


def tracked_files() -> list[str]:
    """Tracked files of the scanned folders; a tree without git (an sdist) is walked instead."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--", *SCANNED], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = [
            p.relative_to(ROOT).as_posix()
            for folder in SCANNED
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ]
    return sorted(
        name for name in listed if not name.endswith(SKIPPED_SUFFIXES) and not name.startswith(VENDORED)
    )


def escapes(name: str, literal: str) -> bool:
    """Whether a ``..`` literal leaves the repository from the file's folder or from its root."""
    folder = posixpath.dirname(name)
    return any(posixpath.normpath(posixpath.join(base, literal)).startswith("..") for base in (folder, "."))


def findings(name: str, text: str) -> list[str]:
    """Every way out of the repository in one file's text, as ``file:line: what``."""
    depth = len(Path(name).parts)  # parents[depth - 1] of the file is the repository root
    found: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{name}:{number}"
        for match in ABSOLUTE.finditer(line):
            path = match.group(0).rstrip(".")
            system = path.startswith(SYSTEM_PREFIXES) or path in ("/sys", "/dev", "/proc")
            # A usage example's fresh archive (``ria demo --data-dir /tmp/x``) is written, never read first.
            scratch = path.startswith("/tmp/") and line[: match.start()].endswith("--data-dir ")
            if not (system or scratch) and (name, path) not in ALLOWED_ABSOLUTE:
                found.append(f"{where}: absolute path {path}")
        for match in DOTDOT.finditer(line):
            literal = match.group(0)
            if literal not in HOSTILE and escapes(name, literal):
                found.append(f"{where}: {literal} leaves the repository")
        for match in PARENTS.finditer(line):
            if int(match.group(1)) >= depth:
                found.append(f"{where}: parents[{match.group(1)}] of {name} is above the repository")
        for match in PARENT_CHAIN.finditer(line):
            if match.group(1).count(".parent") > depth:
                found.append(f"{where}: {match.group(1)} of {name} is above the repository")
        if ROOT_PARENT.search(line):
            found.append(f"{where}: ROOT.parent is outside the repository")
    return found


def test_nothing_reads_outside_the_repository() -> None:
    files = tracked_files()
    assert "tests/conftest.py" in files and "src/ria/__init__.py" in files
    problems: list[str] = []
    for name in files:
        if name == "tests/test_repository.py":
            continue  # its rules and the samples below spell out what they catch
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue  # binary, or deleted in the work tree
        problems += findings(name, text)
    assert not problems, "reads outside the repository:\n" + "\n".join(problems)


SIBLING = "shared"
"""The sibling folder's name, spelled so that this file itself holds no path to it."""


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("tests/conftest.py", 'candidates = [ROOT.parent / "shared/data/tcga"]'),
        ("tests/conftest.py", f'    "/work/{SIBLING}/data/tcga",'),
        ("tests/access/test_citation.py", f'SHARED_CSV = Path("/work/{SIBLING}/data/tcga-collections.csv")'),
        ("bench/cohort.py", 'default=Path(__file__).resolve().parents[2] / "shared/data/tcga"'),
        ("bench/cohort.py", "here = Path(__file__).parent.parent.parent"),
        ("tests/api/nbia_spec.py", f"# (../{SIBLING}/docs/tcia-api.md says the YAML is wrong)."),
        ("src/ria/x.py", 'open("/home/someone/data.csv")'),
        ("tests/x.py", "data = Path('/tmp/ria-fixtures')"),
    ],
)
def test_the_scan_catches_the_ways_out_it_once_missed(name: str, line: str) -> None:
    assert findings(name, f"x = 1\n{line}\n") != [], line
    assert findings(name, f"x = 1\n{line}\n")[0].startswith(f"{name}:2: ")


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("bench/cohort.py", 'default=Path(__file__).resolve().parents[1] / "tests" / "data" / "tcga"'),
        ("tests/conftest.py", "ROOT = Path(__file__).resolve().parent.parent"),
        ("src/ria/api/app.py", '@router.get("/api/v1/collections")'),
        ("src/ria/x.py", '"https://example.org/work/data" and "s3://idc-open-data/../etc/*"'),
        ("tests/x.py", 'UNZIP = "/usr/bin/unzip"; open("/dev/null"); Path("/proc/stat")'),
        ("src/ria/deid/mapping.py", "created once under ``<data-dir>/private/``"),
        ("tests/x.py", 'open("tests/data/tcga/README.md")'),
        ("bench/x.py", "    ria demo --no-serve --data-dir /tmp/riademo      # the real TCGA catalogue"),
    ],
)
def test_the_scan_passes_what_stays_inside(name: str, line: str) -> None:
    assert findings(name, line) == []


def test_the_tcga_copies_are_the_originals_the_readme_names() -> None:
    """Each gzipped table decompresses to the SHA-256 its README lists for the original."""
    listed = dict(
        re.findall(
            r"^\| (\S+\.gz) \| \S+ \| [\d,]+ \| `([0-9a-f]{64})` \|$",
            (TCGA_DATA / "README.md").read_text(),
            re.M,
        )
    )
    shipped = {p.name for p in TCGA_DATA.glob("*.gz")}
    assert len(shipped) == 11 and set(listed) == shipped
    for name, digest in sorted(listed.items()):
        assert hashlib.sha256(gzip.decompress((TCGA_DATA / name).read_bytes())).hexdigest() == digest, name
