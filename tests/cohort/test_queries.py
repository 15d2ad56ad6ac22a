"""Cross-modal cohort queries on real data, on SQLite and PostgreSQL, against independent answers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import idc_index_data
import pytest

from ria.access import OPERATOR
from ria.cohort import Cohort, CohortQuery, GeneCondition, parse_condition
from ria.cohort.linkage import linkage_report
from tests.cohort.conftest import Radiogenomic
from tests.cohort.truth import NON_SILENT, Truth
from tests.conftest import PACKAGED_COLLECTIONS


def _uids(radiogenomic: Radiogenomic, query: CohortQuery) -> set[str]:
    return {row.series_instance_uid for row in Cohort(radiogenomic.archive, query, OPERATOR).iter_series()}


def test_ct_of_luad_patients_with_a_kras_mutation(radiogenomic: Radiogenomic, truth: Truth) -> None:
    query = CohortQuery(collection=("TCGA-LUAD",), modality=("CT",), genes=(GeneCondition("KRAS"),))
    expected = truth.uids(["TCGA-LUAD"], "CT", truth.carriers("KRAS"))
    assert expected, "the real data should hold KRAS-mutant LUAD patients with CT"
    assert _uids(radiogenomic, query) == expected


def test_locally_ingested_series_join_the_same_cohort(radiogenomic: Radiogenomic, truth: Truth) -> None:
    """The pydicom files ingested under real barcodes answer alongside the remote IDC series."""
    local_patients = {s.patient_id for s in radiogenomic.local if s.collection == "TCGA-LUAD"}
    gene = next(
        g
        for g in ("TP53", "KRAS", "TTN", "MUC16")
        if truth.carriers(g, {"Missense_Mutation"}) & local_patients
    )
    carriers = truth.carriers(gene, {"Missense_Mutation"})
    query = CohortQuery(collection=("TCGA-LUAD",), genes=(GeneCondition(gene, ("Missense_Mutation",)),))
    found = _uids(radiogenomic, query)
    local = {s.series_instance_uid for s in radiogenomic.local if s.patient_id in carriers}
    assert local and local <= found
    assert found == truth.uids(["TCGA-LUAD"], None, carriers)


@pytest.mark.parametrize(("collection", "modality"), [("TCGA-OV", "CT"), ("TCGA-BRCA", "MR")])
def test_imaging_of_patients_who_died_within_three_years(
    radiogenomic: Radiogenomic, truth: Truth, collection: str, modality: str
) -> None:
    """OV CT has such patients; BRCA MR has none in the real data (all 137 were alive): both must agree."""
    survival = truth.survival()
    died = set(survival[survival.dead & (survival.days <= 1095)].participant)
    query = CohortQuery(
        collection=(collection,),
        modality=(modality,),
        clinical=(parse_condition("vital_status=Dead"), parse_condition("days_to_death<=1095")),
    )
    expected = truth.uids([collection], modality, died)
    assert bool(expected) == (collection == "TCGA-OV")
    assert _uids(radiogenomic, query) == expected


def test_everything_imaged_for_idh_mutant_gliomas(radiogenomic: Radiogenomic, truth: Truth) -> None:
    mutant = {p for p, status in truth.idh_status().items() if status.lower() == "mutant"}
    query = CohortQuery(collection=("TCGA-GBM", "TCGA-LGG"), labels=(parse_condition("IDH_status=mutant"),))
    expected = truth.uids(["TCGA-GBM", "TCGA-LGG"], None, mutant)
    assert expected
    assert _uids(radiogenomic, query) == expected


@pytest.mark.parametrize(
    ("gene", "collection", "modality"),
    [("TP53", "TCGA-LUSC", "CT"), ("TTN", "TCGA-LUAD", None), ("MUC16", "TCGA-LUSC", "CT"),
     ("CSMD3", "TCGA-LUAD", "CT"), ("RYR2", "TCGA-LUSC", None)],
)  # fmt: skip
def test_multi_hit_counts_as_mutated(
    radiogenomic: Radiogenomic, truth: Truth, gene: str, collection: str, modality: str | None
) -> None:
    """A patient with several mutations in one gene (``Multi_Hit`` in a grouped table) is mutated in it."""
    only_multi_hit = truth.carriers(gene, {"Multi_Hit"}) - truth.carriers(gene, NON_SILENT - {"Multi_Hit"})
    assert truth.uids([collection], modality, only_multi_hit), "the case must depend on Multi_Hit"
    query = CohortQuery(
        collection=(collection,), modality=(modality,) if modality else (), genes=(GeneCondition(gene),)
    )
    assert _uids(radiogenomic, query) == truth.uids([collection], modality, truth.carriers(gene))


def test_lusc_ct_with_tp53_counted_by_duckdb_over_the_sources(
    radiogenomic: Radiogenomic, truth: Truth
) -> None:
    """The issue's example, counted from the grouped table and IDC's parquet (no local LUSC files)."""
    classes = ", ".join(f"'{c}'" for c in sorted(NON_SILENT))
    expected = duckdb.sql(
        f"""select SeriesInstanceUID from '{idc_index_data.IDC_INDEX_PARQUET_FILEPATH}'
            where collection_id = 'tcga_lusc' and Modality = 'CT' and PatientID in (
                select patient from read_csv_auto('{truth.data / "lung_mutations_by_gene.csv.gz"}')
                where gene = 'TP53' and variant_classification in ({classes}))"""
    ).fetchall()
    query = CohortQuery(collection=("TCGA-LUSC",), modality=("CT",), genes=(GeneCondition("TP53"),))
    found = _uids(radiogenomic, query)
    assert len(found) == len(expected) and found == {uid for (uid,) in expected}


def test_wild_type_means_profiled_without_the_mutation(radiogenomic: Radiogenomic, truth: Truth) -> None:
    assert "KRAS" in truth.panel
    wild = truth.profiled("KRAS") - truth.carriers("KRAS")
    query = CohortQuery(
        collection=("TCGA-LUAD", "TCGA-LUSC"),
        modality=("CT",),
        genes=(GeneCondition("TP53"), GeneCondition("KRAS", mutated=False)),
    )
    expected = truth.uids(["TCGA-LUAD", "TCGA-LUSC"], "CT", truth.carriers("TP53") & wild)
    assert expected
    assert _uids(radiogenomic, query) == expected


def test_a_gene_outside_the_panel_is_wild_type_only_where_exomes_say_so(
    radiogenomic: Radiogenomic, truth: Truth
) -> None:
    """EGFR is not in the lung table's 62-gene panel: only the MAF's whole-exome patients were profiled."""
    assert "EGFR" not in truth.panel
    wild = truth.profiled("EGFR") - truth.carriers("EGFR")
    assert wild and wild <= truth.exome_participants
    query = CohortQuery(collection=("TCGA-LUAD",), genes=(GeneCondition("EGFR", mutated=False),))
    assert _uids(radiogenomic, query) == truth.uids(["TCGA-LUAD"], None, wild)


def test_stage_matches_its_substages(radiogenomic: Radiogenomic, truth: Truth) -> None:
    stage_three = {
        p for p, s in truth.coad_stage().items() if s.upper().removeprefix("STAGE ").startswith("III")
    }
    query = CohortQuery(collection=("TCGA-COAD",), modality=("CT",), clinical=(parse_condition("stage=III"),))
    expected = truth.uids(["TCGA-COAD"], "CT", stage_three)
    assert expected
    assert _uids(radiogenomic, query) == expected


def test_manufacturer_matches_whatever_the_case(radiogenomic: Radiogenomic, truth: Truth) -> None:
    rows = truth.series[
        truth.series.collection.isin(["TCGA-LUAD", "TCGA-LUSC"])
        & (truth.series.modality == "CT")
        & (truth.series.manufacturer.str.upper() == "SIEMENS")
    ]
    assert len(rows) > 0
    query = CohortQuery(collection=("TCGA-LUAD", "TCGA-LUSC"), modality=("ct",), manufacturer=("Siemens",))
    assert _uids(radiogenomic, query) == set(rows.uid)


def test_label_numbers_compare_as_numbers(radiogenomic: Radiogenomic, truth: Truth, tcga_data: Path) -> None:
    import pandas as pd

    table = pd.read_csv(tcga_data / "lung_patients.csv.gz")
    busy = set(table[table.mutations_count > 1000].patient)
    query = CohortQuery(
        collection=("TCGA-LUAD", "TCGA-LUSC"), labels=(parse_condition("mutations_count>1000"),)
    )
    assert _uids(radiogenomic, query) == truth.uids(["TCGA-LUAD", "TCGA-LUSC"], None, busy)


def test_patient_view_carries_merged_clinical_and_asked_genes(
    radiogenomic: Radiogenomic, truth: Truth
) -> None:
    query = CohortQuery(collection=("TCGA-LUAD",), modality=("CT",), genes=(GeneCondition("KRAS"),))
    patients = Cohort(radiogenomic.archive, query, OPERATOR).patients()
    assert {p.patient_id for p in patients} == truth.patients_of(["TCGA-LUAD"], "CT") & truth.carriers("KRAS")
    for p in patients:
        assert p.genes == {"KRAS": True}
        assert p.mutations == truth.mutation_count(p.patient_id)
        assert p.modalities and "CT" in p.modalities


def test_survival_fields_of_brca_patients(radiogenomic: Radiogenomic, truth: Truth) -> None:
    survival = truth.survival().set_index("participant")
    patients = Cohort(
        radiogenomic.archive, CohortQuery(collection=("TCGA-BRCA",), modality=("MR",)), OPERATOR
    ).patients()
    checked = 0
    for p in patients:
        if p.patient_id not in survival.index:
            assert p.clinical["vital_status"] is None
            continue
        row = survival.loc[p.patient_id]
        assert p.clinical["vital_status"] == ("Dead" if row.dead else "Alive")
        assert p.clinical["survival_days"] == int(row.days)
        assert p.clinical["project"] == "TCGA-BRCA"
        checked += 1
    assert checked > 10


def test_facets_count_patients_and_series(radiogenomic: Radiogenomic, truth: Truth) -> None:
    query = CohortQuery(collection=("TCGA-LUAD", "TCGA-LUSC"), genes=(GeneCondition("TP53"),))
    facets = {
        (f.facet, f.value): (f.patients, f.series)
        for f in Cohort(radiogenomic.archive, query, OPERATOR).facets()
    }
    rows = truth.series[truth.series.collection.isin(["TCGA-LUAD", "TCGA-LUSC"])]
    rows = rows[rows.patient_id.isin(truth.carriers("TP53"))]
    for modality, group in rows.groupby("modality"):
        assert facets[("modality", str(modality))] == (group.patient_id.nunique(), len(group))
    for name, group in rows.groupby("collection"):
        assert facets[("collection", str(name))] == (group.patient_id.nunique(), len(group))


def test_citation_names_each_collection_doi_and_the_tcga_acknowledgment(
    radiogenomic: Radiogenomic,
) -> None:
    dois = {}
    with PACKAGED_COLLECTIONS.open(newline="") as handle:
        for row in csv.DictReader(handle):
            dois[row["collection"]] = row["doi"]
    query = CohortQuery(
        collection=("TCGA-LUAD", "TCGA-LUSC"), modality=("CT",), genes=(GeneCondition("TP53"),)
    )
    citation = Cohort(radiogenomic.archive, query, OPERATOR).citation()
    assert {c.name for c in citation.collections} == {"TCGA-LUAD", "TCGA-LUSC"}
    for c in citation.collections:
        assert c.doi is not None and c.doi.upper() == dois[c.name].upper()
        assert c.doi.upper() in citation.text.upper()
    assert "TCGA Research Network: http://cancergenome.nih.gov/" in citation.text
    assert "lung_mutations_by_gene.csv.gz" in citation.text


def test_linkage_report_counts_both_directions(radiogenomic: Radiogenomic, truth: Truth) -> None:
    report = linkage_report(radiogenomic.archive, principal=OPERATOR)
    luad = next(c for c in report.collections if c.collection == "TCGA-LUAD")
    imaged = truth.patients_of(["TCGA-LUAD"])
    assert luad.imaging_patients == len(imaged)
    assert luad.with_mutations == len(imaged & truth.sequenced())
    assert luad.with_clinical == 0
    coad = next(c for c in report.collections if c.collection == "TCGA-COAD")
    described = set(truth.biotab("tcga_coad_biotab_clinical_patient_coad.tsv.gz").bcr_patient_barcode)
    assert coad.with_clinical == len(truth.patients_of(["TCGA-COAD"]) & described)
    every_imaged = set(truth.series.patient_id)
    brca = next(p for p in report.projects if p.project == "TCGA-BRCA")
    survival = truth.survival()
    brca_ids = set(survival[survival.project == "TCGA-BRCA"].participant)
    assert brca.participants == len(brca_ids)
    assert set(brca.without_imaging) == brca_ids - every_imaged


def test_csv_export_has_one_row_per_series(radiogenomic: Radiogenomic, truth: Truth) -> None:
    from ria.cohort.export import SERIES_COLUMNS, iter_csv, series_record

    query = CohortQuery(collection=("TCGA-LUAD",), modality=("CT",), genes=(GeneCondition("KRAS"),))
    text = "".join(
        iter_csv(
            (series_record(r) for r in Cohort(radiogenomic.archive, query, OPERATOR).iter_series()),
            SERIES_COLUMNS,
        )
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["SeriesInstanceUID"] for r in rows} == truth.uids(["TCGA-LUAD"], "CT", truth.carriers("KRAS"))
    assert all(r["PatientID"] in truth.carriers("KRAS") for r in rows)


def test_unknown_label_is_a_clear_error(radiogenomic: Radiogenomic) -> None:
    from ria.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=r"unknown label 'IDH'; known: .*IDH_status"):
        Cohort(radiogenomic.archive, CohortQuery(labels=(parse_condition("IDH=Mutant"),)), OPERATOR)
