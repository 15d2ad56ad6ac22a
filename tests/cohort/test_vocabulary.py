"""A typo in a cohort query is an error naming the value and the nearest known ones, never an
empty answer; and what it suggests comes only from what the caller may see.

A real archive per database: the demo's real CT/MR files under real TCGA barcodes (TCGA-LUAD and
TCGA-BRCA), the shipped lung mutation table and the published subtype table. TCGA-LUAD is then made
restricted, so an anonymous caller sees only TCGA-BRCA, whose patients have no mutation or label.
The expected genes are read from the table with pandas.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest

from ria.access import ANONYMOUS, OPERATOR
from ria.archive import Archive
from ria.catalog.governance import change_collection
from ria.cohort import Cohort, CohortQuery, FieldCondition, GeneCondition
from ria.errors import InvalidParameterError
from ria.sample.corpus import write_demo_corpus
from tests.api.conftest import LiveServer
from tests.cli.test_cli import db_args, ria


@dataclass(frozen=True)
class Restricted:
    archive: Archive
    luad_genes: frozenset[str]
    """Genes of the lung table's mutations in the demo's three LUAD patients (pandas)."""


@pytest.fixture
def restricted(archive: Archive, tcga_data: Path, tmp_path: Path) -> Iterator[Restricted]:
    from ria.genomics import import_file

    corpus = write_demo_corpus(tmp_path / "corpus")
    for collection, folder in sorted(corpus.folders.items()):
        archive.ingest([folder], collection, workers=1, write_report=False)
    for name in ("lung_mutations_by_gene.csv.gz", "tcga_subtypes.csv.gz"):
        import_file(archive, tcga_data / name)
    change_collection(
        archive.engine,
        "TCGA-LUAD",
        {"access_level": "restricted"},
        actor="test",
        action="restrict",
        reason=None,
        at=dt.datetime.now(dt.UTC),
    )
    table = pd.read_csv(tcga_data / "lung_mutations_by_gene.csv.gz")
    demo = {"TCGA-05-4244", "TCGA-05-4249", "TCGA-05-4250"}
    genes = table.loc[table["patient"].isin(demo), "gene"]
    yield Restricted(archive, frozenset(genes))


def _error(archive: Archive, query: CohortQuery, principal: object) -> InvalidParameterError:
    with pytest.raises(InvalidParameterError) as caught:
        Cohort(archive, query, principal)  # type: ignore[arg-type]
    return caught.value


def test_typos_name_the_value_and_the_nearest_known_one(restricted: Restricted) -> None:
    archive = restricted.archive
    assert "KRAS" in restricted.luad_genes and "KRAZ" not in restricted.luad_genes
    cases = [
        (CohortQuery(collection=("TCGA-LAUD",)), "collection", "'TCGA-LAUD'", "TCGA-LUAD"),
        (CohortQuery(genes=(GeneCondition("KRAZ"),)), "mutated", "'KRAZ'", "KRAS"),
        (CohortQuery(genes=(GeneCondition("KRAZ", mutated=False),)), "not_mutated", "'KRAZ'", "KRAS"),
        (CohortQuery(modality=("CTT",)), "modality", "'CTT'", "CT"),
        (CohortQuery(labels=(FieldCondition("subtipe", "eq", "x"),)), "labels", "'subtipe'", "subtype"),
    ]
    for query, parameter, named, suggested in cases:
        error = _error(archive, query, OPERATOR)
        assert error.parameter == parameter
        assert named in error.message and f"did you mean {suggested}" in error.message, error.message
    assert "did you mean survival_days" in _error_of_clinical()
    # No whole-exome MAF here: a gene the panel never names is unknown, not "nobody mutated".
    assert "EGFR" not in restricted.luad_genes
    egfr = _error(archive, CohortQuery(genes=(GeneCondition("EGFR"),)), OPERATOR)
    assert egfr.message.startswith("unknown gene 'EGFR'; ")
    # Known values, in any case, still make a cohort.
    cohort = Cohort(archive, CohortQuery(collection=("tcga-luad",), genes=(GeneCondition("kras"),)), OPERATOR)
    assert cohort.filter.collection == ("TCGA-LUAD",)


def _error_of_clinical() -> str:
    with pytest.raises(InvalidParameterError) as caught:
        CohortQuery(clinical=(FieldCondition("survival_dayz", "lt", 3),))
    return caught.value.message


def test_a_restricted_collection_is_unknown_to_who_cannot_see_it(restricted: Restricted) -> None:
    archive = restricted.archive
    hidden = _error(archive, CohortQuery(collection=("TCGA-LUAD",)), ANONYMOUS)
    absent = _error(archive, CohortQuery(collection=("TCGA-ZZZZ",)), ANONYMOUS)
    assert hidden.to_json() == json.loads(json.dumps(absent.to_json()).replace("TCGA-ZZZZ", "TCGA-LUAD"))
    typo = _error(archive, CohortQuery(collection=("TCGA-LAUD",)), ANONYMOUS)
    assert "LUAD" not in typo.message.replace("TCGA-LAUD", "") and typo.details["close_matches"] == []
    # Genes and labels found only among its patients are unknown too, with no hint of them.
    for gene in ("KRAS", "KRAZ"):
        error = _error(archive, CohortQuery(genes=(GeneCondition(gene),)), ANONYMOUS)
        assert error.message == f"unknown gene {gene!r}; there is no gene here yet"
    label = _error(archive, CohortQuery(labels=(FieldCondition("subtype", "exists"),)), ANONYMOUS)
    assert label.message == "unknown label 'subtype'; there is no label here yet"
    # Who may see it still can.
    Cohort(archive, CohortQuery(collection=("TCGA-LUAD",), genes=(GeneCondition("KRAS"),)), OPERATOR)


def test_the_cli_exits_2_with_one_line(restricted: Restricted) -> None:
    settings = restricted.archive.settings
    args = db_args(settings.data_dir, settings.database_url)
    for option, value, hint in (("--mutated", "KRAZ", "KRAS"), ("-c", "TCGA-LAUD", "TCGA-LUAD")):
        result = ria("cohort", option, value, *args)
        assert result.returncode == 2, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and value in lines[0] and f"did you mean {hint}" in lines[0], result.stderr
        assert result.stdout == ""
    query = Path(settings.data_dir).parent / "typo.json"
    query.write_text(json.dumps({"collection": ["TCGA-LUAD"], "mutated": ["KRAZ"]}))
    cited = ria("cite", "--query", str(query), *args)
    assert cited.returncode == 2 and "did you mean KRAS" in cited.stderr, cited.stdout + cited.stderr


def test_the_api_answers_400_naming_the_parameter_and_tcia_keeps_its_empty_200(
    restricted: Restricted,
) -> None:
    with LiveServer(restricted.archive) as live, httpx.Client(base_url=live.url, timeout=30) as http:
        typo = http.post("/api/v1/cohorts/query", json={"collection": ["TCGA-BRAC"]})
        assert typo.status_code == 400, typo.text
        body = typo.json()
        assert body["details"]["parameter"] == "collection"
        assert "'TCGA-BRAC'" in body["message"] and "did you mean TCGA-BRCA" in body["message"]
        hidden = http.post("/api/v1/cohorts/query", json={"collection": ["TCGA-LUAD"]})
        absent = http.post("/api/v1/cohorts/query", json={"collection": ["TCGA-ZZZZ"]})
        assert hidden.status_code == absent.status_code == 400
        assert hidden.text == absent.text.replace("TCGA-ZZZZ", "TCGA-LUAD")
        gene = http.post("/api/v1/cohorts/query", json={"mutated": ["KRAS"]})
        assert gene.status_code == 400 and gene.json()["details"]["parameter"] == "mutated"
        tcia = http.get("/nbia-api/services/v1/getSeries", params={"Collection": "TCGA-LAUD"})
        assert (tcia.status_code, tcia.content) == (200, b"")  # TCIA's empty 200: an empty body
