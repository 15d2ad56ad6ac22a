"""Expected cohort answers, computed independently of Ria: DuckDB over the IDC parquet, pandas over the
shared TCGA tables as published (their extra header rows and ``[Not Available]`` values handled here,
separately from Ria's importers)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb
import idc_index_data
import pandas as pd

from tests.cohort.conftest import IDC_COLLECTIONS, LocalSeries

# The protein-altering MAF classes (maftools' vc_nonSyn) and Multi_Hit (grouped tables' word for several
# mutations of one gene in one patient): the documented meaning of "mutated".
NON_SILENT = {
    "Multi_Hit",
    "Frame_Shift_Del",
    "Frame_Shift_Ins",
    "In_Frame_Del",
    "In_Frame_Ins",
    "Missense_Mutation",
    "Nonsense_Mutation",
    "Nonstop_Mutation",
    "Splice_Site",
    "Translation_Start_Site",
}
_MISSING = {
    "[Not Available]",
    "[Unknown]",
    "[Not Applicable]",
    "[Discrepancy]",
    "[Completed]",
    "[Not Evaluated]",
}


class Truth:
    def __init__(self, data: Path, local: Iterable[LocalSeries]) -> None:
        self.data = data
        parquet = idc_index_data.IDC_INDEX_PARQUET_FILEPATH
        wanted = ", ".join(f"'{c}'" for c in IDC_COLLECTIONS)
        remote = duckdb.sql(
            f"""select upper(replace(collection_id, '_', '-')) as collection, PatientID as patient_id,
                       SeriesInstanceUID as uid, Modality as modality, BodyPartExamined as body_part,
                       series_aws_url as url, Manufacturer as manufacturer
                from '{parquet}' where collection_id in ({wanted})"""
        ).df()
        mine = pd.DataFrame(
            [
                {"collection": s.collection, "patient_id": s.patient_id, "uid": s.series_instance_uid,
                 "modality": s.modality, "body_part": None, "url": None,
                 "manufacturer": None}
                for s in local
            ]
        )  # fmt: skip
        self.series = pd.concat([remote, mine], ignore_index=True)
        simple = pd.read_csv(data / "lung_mutations_by_gene.csv.gz")
        maf = pd.read_csv(data / "tcga_luad_6patients.maf.gz", sep="\t", comment="#", low_memory=False)
        self.panel = set(simple.gene)
        self.panel_participants = set(simple.patient)
        self.exome_participants = set(maf.Tumor_Sample_Barcode.str[:12])
        self.mutations = pd.concat(
            [
                simple.rename(
                    columns={"patient": "participant", "gene": "gene", "variant_classification": "vc"}
                ),
                pd.DataFrame(
                    {
                        "participant": maf.Tumor_Sample_Barcode.str[:12],
                        "gene": maf.Hugo_Symbol,
                        "vc": maf.Variant_Classification,
                        "start": maf.Start_Position,
                    }
                ),
            ],
            ignore_index=True,
        )

    def uids(self, collections: Iterable[str], modality: str | None, patients: set[str]) -> set[str]:
        rows = self.series[self.series.collection.isin(list(collections))]
        if modality is not None:
            rows = rows[rows.modality == modality]
        return set(rows[rows.patient_id.isin(patients)].uid)

    def patients_of(self, collections: Iterable[str], modality: str | None = None) -> set[str]:
        rows = self.series[self.series.collection.isin(list(collections))]
        if modality is not None:
            rows = rows[rows.modality == modality]
        return set(rows.patient_id)

    def carriers(self, gene: str, classes: set[str] | None = None) -> set[str]:
        rows = self.mutations[self.mutations.gene == gene]
        return set(rows[rows.vc.isin(classes or NON_SILENT)].participant)

    def sequenced(self) -> set[str]:
        return set(self.mutations.participant)

    def profiled(self, gene: str) -> set[str]:
        """Who could show a mutation in ``gene``: every MAF (whole-exome) participant, and the mutation
        table's participants when its gene panel includes ``gene``."""
        return self.exome_participants | (self.panel_participants if gene in self.panel else set())

    def mutation_count(self, participant: str) -> int:
        rows = self.mutations[self.mutations.participant == participant]
        return len(rows[["gene", "vc", "start"]].drop_duplicates())

    def survival(self) -> pd.DataFrame:
        """BRCA/OV survival: participant, dead (bool), days, project."""
        table = pd.read_csv(self.data / "tcga_brca_ov_survival.csv.gz").dropna(subset=["times"])
        return pd.DataFrame(
            {
                "participant": table.bcr_patient_barcode,
                "dead": table["patient.vital_status"] == 1,
                "days": table.times,
                "project": "TCGA-" + table["admin.disease_code"].str.upper(),
            }
        )

    def biotab(self, name: str) -> pd.DataFrame:
        table = pd.read_csv(self.data / name, sep="\t", skiprows=[1, 2], dtype=str, keep_default_na=False)
        return table.replace(list(_MISSING), None)

    def coad_stage(self) -> dict[str, str]:
        table = self.biotab("tcga_coad_biotab_clinical_patient_coad.tsv.gz")
        known = table.dropna(subset=["ajcc_pathologic_tumor_stage"])
        return dict(zip(known.bcr_patient_barcode, known.ajcc_pathologic_tumor_stage, strict=True))

    def idh_status(self) -> dict[str, str]:
        table = pd.read_csv(self.data / "tcga_glioma_idh_status.csv.gz").dropna(subset=["IDH_status"])
        return dict(zip(table.bcr_patient_barcode, table.IDH_status, strict=True))
