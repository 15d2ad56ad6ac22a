"""Same query, same answer? QIDO-RS wildcard queries on SQLite and PostgreSQL, counted.

Usage (from the repository root, PostgreSQL reachable at ``RIA_TEST_POSTGRES_URL``,
default ``postgresql://postgres@127.0.0.1:5432/test``)::

    python bench/matching_agreement.py

Builds the mixed-case corpus of ``tests/catalog/test_matching_interfaces.py`` (8 patients,
16 studies; names such as ``Doe^Jane``/``DOE^JOHN``/``doe^jim``, ``Müller``/``MÜLLER``),
ingests it into a fresh SQLite and a fresh PostgreSQL archive, and prints how many studies
each QIDO-RS query finds on each, next to the count ``fnmatch.fnmatchcase`` gives over what
pydicom reads from the files.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.catalog.test_matching import dicom_match, fuzzy_match
from tests.catalog.test_matching_interfaces import COLLECTION, _truth, _write_corpus

from ria.access import ANONYMOUS
from ria.archive import Archive
from ria.catalog.database import normalise_url
from ria.dicomweb.qido import parse_query, search
from ria.settings import Settings

QUERIES = [
    ("PatientName", "doe*", False),
    ("PatientName", "DOE^J*", False),
    ("PatientName", "*üller*", False),
    ("StudyDescription", "*chest*", False),
    ("StudyDescription", "CT*", False),
    ("PatientName", "müller", True),
    ("PatientName", "MÜLLER", True),
]


def count(archive: Archive, keyword: str, pattern: str, fuzzy: bool) -> int:
    params = [(keyword, pattern)] + ([("fuzzymatching", "true")] if fuzzy else [])
    return len(search(archive.engine, parse_query("study", params), "", ANONYMOUS).items)


def main() -> None:
    admin_url = os.environ.get("RIA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"ria_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            _write_corpus(root / "corpus")
            studies, _series = _truth(root / "corpus")
            pg_url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            with (
                Archive(Settings(data_dir=root / "lite", workers=1)) as lite,
                Archive(Settings(data_dir=root / "pg", database_url=pg_url, workers=1)) as pg,
            ):
                for archive in (lite, pg):
                    archive.ingest([root / "corpus"], COLLECTION, write_report=False)
                print(f"{'query':<40} {'files':>5} {'SQLite':>6} {'PostgreSQL':>10}")
                for keyword, pattern, fuzzy in QUERIES:
                    match = fuzzy_match if fuzzy else dicom_match
                    truth = sum(1 for values in studies.values() if match(pattern, values[keyword]))
                    label = f"{keyword}={pattern}" + ("&fuzzymatching=true" if fuzzy else "")
                    print(f"{label:<40} {truth:>5} {count(lite, keyword, pattern, fuzzy):>6} "
                          f"{count(pg, keyword, pattern, fuzzy):>10}")  # fmt: skip
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
