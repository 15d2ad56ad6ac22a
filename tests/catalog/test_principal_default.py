"""In-process reads default to the operator; nothing inside the package relies on that default.

A notebook on its own archive writes ``archive.catalog.series(SeriesFilter(...))`` and
``Cohort(archive, query)`` without knowing about principals (README). The servers must never
get that default silently, so every call site under ``src/ria`` passes ``principal`` itself:
checked here over the syntax tree, so a new route that forgets it fails this test.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import ria
from ria.access import ANONYMOUS
from ria.access.governance import CollectionChanges, change_settings
from ria.archive import Archive
from ria.catalog import Catalog
from ria.catalog.search import SeriesFilter
from ria.cohort import Cohort, CohortQuery
from tests.conftest import Corpus

SOURCE = Path(ria.__file__).parent
LUAD = "TCGA-LUAD"


def _catalog_methods_with_principal() -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(Catalog, inspect.isfunction)
        if "principal" in inspect.signature(member).parameters
    }


def _calls_without_principal() -> list[str]:
    """``file:line call`` for every catalogue query or ``Cohort(...)`` that omits the principal."""
    methods = _catalog_methods_with_principal()
    missing: list[str] = []
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg for k in node.keywords}
            func = node.func
            is_query = (
                isinstance(func, ast.Attribute)
                and func.attr in methods
                and ast.unparse(func.value).endswith("catalog")
            )
            is_cohort = isinstance(func, ast.Name) and func.id == "Cohort"
            passes = "principal" in keywords or None in keywords  # None: **kwargs
            if is_cohort:
                passes = passes or len(node.args) >= 3
            if (is_query or is_cohort) and not passes:
                where = path.relative_to(SOURCE.parent)
                missing.append(f"{where}:{node.lineno} {ast.unparse(node)}")
    return missing


def test_every_call_inside_the_package_passes_its_principal() -> None:
    methods = _catalog_methods_with_principal()
    assert {"series", "collection_names", "iter_series", "patients"} <= methods
    assert _calls_without_principal() == []


def test_the_check_sees_real_call_sites() -> None:
    """The walk is not vacuous: the API's and the CLI's queries are among the calls it inspects (the DICOM
    node queries through :mod:`ria.catalog.search`, whose functions have no default principal)."""
    seen = set()
    methods = _catalog_methods_with_principal()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in methods
                and ast.unparse(node.func.value).endswith("catalog")
            ):
                seen.add(path.relative_to(SOURCE).parts[0])
    assert {"api", "cli"} <= seen


def test_a_notebook_reads_as_the_operator_without_naming_a_principal(
    archive: Archive, corpus: Corpus
) -> None:
    archive.ingest([corpus.root], LUAD, workers=1)
    change_settings(
        archive.engine, LUAD, CollectionChanges(access="restricted"), actor="tester", reason="a test"
    )
    assert archive.catalog.collection_names() == [LUAD]
    rows = archive.catalog.series(SeriesFilter(collection=LUAD))
    assert {row.series_instance_uid for row in rows} == corpus.series_uids
    cohort = Cohort(archive, CohortQuery(collection=(LUAD,)))
    assert {row.series_instance_uid for row in cohort.series()} == corpus.series_uids
    # …while a caller who is named still sees only what it may.
    assert archive.catalog.collection_names(principal=ANONYMOUS) == []
    assert archive.catalog.series(SeriesFilter(collection=LUAD), principal=ANONYMOUS) == []
