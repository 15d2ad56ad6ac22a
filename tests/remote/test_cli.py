"""``ria fetch-remote`` as a user runs it: a real process, its summary, JSON and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ria.access import OPERATOR
from ria.archive import Archive
from ria.catalog.search import SeriesFilter
from ria.settings import Settings
from tests.remote.conftest import Chosen, Written, write_series

RIA = [sys.executable, "-c", "from ria.cli.main import main; main()"]


def ria(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RIA, *args], capture_output=True, text=True, timeout=300)


def db_args(settings: Settings) -> list[str]:
    database = ["--database-url", settings.database_url] if settings.database_url else []
    return ["--data-dir", str(settings.data_dir), *database]


def test_fetch_a_collection_then_named_series(
    archive: Archive,
    settings: Settings,
    mirror: Path,
    chosen: list[Chosen],
    mirrored: dict[str, list[Written]],
) -> None:
    remote_total = len(archive.catalog.series(SeriesFilter(collection="TCGA-CHOL"), principal=OPERATOR))
    # One chosen series gets a stray file of the other: that one fails, the other is fetched.
    bad, good = chosen
    write_series(mirror / bad.key, good, 1)
    done = ria("fetch-remote", "-c", "TCGA-CHOL", "--remote-root", str(mirror), "--json", *db_args(settings))
    assert done.returncode == 1, done.stderr
    body = json.loads(done.stdout)
    assert [r["series_instance_uid"] for r in body["fetched"]] == [good.series_uid]
    assert body["fetched"][0]["image_count"] == len(mirrored[good.series_uid])
    assert list(body["failed"]) == [bad.series_uid] and "belongs to series" in body["failed"][bad.series_uid]
    assert len(body["not_in_mirror"]) == remote_total - 2

    for stray in (mirror / bad.key).iterdir():
        if stray.name not in {w.path.name for w in mirrored[bad.series_uid]}:
            stray.unlink()
    plain = ria(
        "fetch-remote", bad.series_uid, good.series_uid, "--remote-root", str(mirror), *db_args(settings)
    )
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.splitlines()[0].startswith(
        f"1 series fetched ({len(mirrored[bad.series_uid])} instances,"
    )
    assert "1 already local, 0 not in the mirror, 0 failed" in plain.stdout
    rows = {
        r.series_instance_uid: r
        for r in archive.catalog.series(SeriesFilter(collection="TCGA-CHOL"), principal=OPERATOR)
    }
    assert not rows[bad.series_uid].is_remote and not rows[good.series_uid].is_remote
    assert archive.check().consistent


def test_usage_errors(settings: Settings, mirror: Path, mirrored: dict[str, list[Written]]) -> None:
    nothing = ria("fetch-remote", "--remote-root", str(mirror), *db_args(settings))
    assert nothing.returncode == 2 and "--collection" in nothing.stderr
    unconfigured = ria("fetch-remote", "1.2.3", *db_args(settings))
    assert unconfigured.returncode != 0 and "RIA_REMOTE_ROOT" in unconfigured.stderr
    unknown = ria("fetch-remote", "1.2.3", "--remote-root", str(mirror), *db_args(settings))
    assert unknown.returncode == 1 and "1.2.3: not in the catalogue" in unknown.stdout
    no_collection = ria("fetch-remote", "-c", "NOPE", "--remote-root", str(mirror), *db_args(settings))
    assert no_collection.returncode == 1 and "NOPE" in no_collection.stderr


def test_two_processes_fetching_one_series_both_succeed(
    archive: Archive,
    settings: Settings,
    mirror: Path,
    chosen: list[Chosen],
    mirrored: dict[str, list[Written]],
) -> None:
    target = chosen[0]
    args = [
        *RIA,
        "fetch-remote",
        target.series_uid,
        "--remote-root",
        str(mirror),
        "--json",
        *db_args(settings),
    ]
    running = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [process.communicate(timeout=300) for process in running]
    assert [process.returncode for process in running] == [0, 0], [err for _, err in outputs]
    bodies = [json.loads(out) for out, _ in outputs]
    ingested = [r["ingested"] for body in bodies for r in body["fetched"]]
    # Every file ingested exactly once over both processes; the other saw duplicates or a local series.
    assert sum(ingested) == len(mirrored[target.series_uid])
    row = archive.catalog.series(SeriesFilter(series_instance_uid=target.series_uid), principal=OPERATOR)[0]
    assert (row.is_remote, row.image_count) == (False, len(mirrored[target.series_uid]))
    assert archive.check(verify_hashes=True).consistent
