"""Cohort-query benchmark: Ria (SQLite and PostgreSQL) against DuckDB over the raw files, side by side.

Loads every TCGA series of the IDC index (``idc-index-data``) as remote series plus every shared TCGA
genomic and clinical table into a fresh Ria archive, then times five representative cohort queries:

1. CT series of TCGA-LUAD patients with a protein-altering KRAS mutation;
2. CT series of TCGA-OV patients who died within three years;
3. every series of IDH-mutant gliomas (TCGA-GBM, TCGA-LGG);
4. CT series of lung patients (LUAD or LUSC) with TP53 mutated and KRAS wild type (profiled, not mutated);
5. CT series of TCGA-COAD patients with AJCC pathologic stage III (IIIA-C included).

The baseline is the "do it by hand" path: DuckDB SQL over the parquet index and the CSV/TSV files as
published, in the same process, each query reading its files afresh. Both sides must return the same
series, or the run fails. Each query runs ``--repeat`` times after one warm-up; p50 and p99 are printed.

Usage::

    pip install -e '.[bench]'
    python bench/cohort.py [--repeat 30] [--postgres-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import ria_source_state, workspace
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ria.access import OPERATOR
from ria.archive import Archive
from ria.cohort import Cohort, CohortQuery, GeneCondition, parse_condition
from ria.cohort.model import NON_SILENT_CLASSES
from ria.settings import Settings

TABLES = (
    "tcga_luad_6patients.maf.gz",
    "tcga_lusc_1sample.maf.gz",
    "tcga_chol_bcgsc_hg19.maf.gz",
    "lung_mutations_by_gene.csv.gz",
    "lung_patients.csv.gz",
    "tcga_glioma_idh_status.csv.gz",
    "tcga_brca_ov_survival.csv.gz",
    "tcga_coad_biotab_clinical_patient_coad.tsv.gz",
    "tcga_coad_biotab_clinical_follow_up_v1.0_coad.tsv.gz",
    "tcga_gbm_coldata_gbm.exp.harmonized.csv.gz",
    "tcga_subtypes.csv.gz",
)


@dataclass(frozen=True)
class Case:
    name: str
    ria: CohortQuery
    duckdb: str
    """SQL over ``idc`` (the parquet) and the ``data`` folder, selecting SeriesInstanceUID."""


def _cases(data: Path, parquet: str) -> list[Case]:
    nonsilent = ", ".join(f"'{c}'" for c in NON_SILENT_CLASSES)
    mutations = f"""(
        select patient as participant, gene, variant_classification
          from '{data}/lung_mutations_by_gene.csv.gz'
        union all
        select left(Tumor_Sample_Barcode, 12), Hugo_Symbol, Variant_Classification
          from read_csv('{data}/tcga_*.maf.gz', delim='\t', header=true, comment='#', all_varchar=true,
                        union_by_name=true)
    )"""
    # Profiled for KRAS: every MAF (whole-exome) participant, and the lung table's participants since its
    # 62-gene panel includes KRAS.
    profiled_kras = f"""select left(Tumor_Sample_Barcode, 12)
          from read_csv('{data}/tcga_*.maf.gz', delim='\t', header=true, comment='#', all_varchar=true,
                        union_by_name=true)
        union select patient from '{data}/lung_mutations_by_gene.csv.gz'
          where (select count(*) from '{data}/lung_mutations_by_gene.csv.gz' where gene = 'KRAS') > 0"""
    carriers = f"select participant from {mutations} where variant_classification in ({nonsilent})"
    coad = (
        f"read_csv('{data}/tcga_coad_biotab_clinical_patient_coad.tsv.gz', delim='\t', header=true, "
        "all_varchar=true, skip=0)"
    )
    return [
        Case(
            "LUAD CT, KRAS mutated",
            CohortQuery(collection=("TCGA-LUAD",), modality=("CT",), genes=(GeneCondition("KRAS"),)),
            f"""select SeriesInstanceUID from '{parquet}'
                where collection_id = 'tcga_luad' and Modality = 'CT'
                and PatientID in ({carriers} and gene = 'KRAS')""",
        ),
        Case(
            "OV CT, died within 3 years",
            CohortQuery(
                collection=("TCGA-OV",),
                modality=("CT",),
                clinical=(parse_condition("vital_status=Dead"), parse_condition("days_to_death<=1095")),
            ),
            f"""select SeriesInstanceUID from '{parquet}'
                where collection_id = 'tcga_ov' and Modality = 'CT'
                and PatientID in (select bcr_patient_barcode from '{data}/tcga_brca_ov_survival.csv.gz'
                                  where "patient.vital_status" = 1 and times <= 1095)""",
        ),
        Case(
            "IDH-mutant glioma, everything",
            CohortQuery(collection=("TCGA-GBM", "TCGA-LGG"), labels=(parse_condition("IDH_status=Mutant"),)),
            f"""select SeriesInstanceUID from '{parquet}' where collection_id in ('tcga_gbm', 'tcga_lgg')
                and PatientID in (select bcr_patient_barcode from '{data}/tcga_glioma_idh_status.csv.gz'
                                  where lower(IDH_status) = 'mutant')""",
        ),
        Case(
            "lung CT, TP53 mutated, KRAS wild type",
            CohortQuery(
                collection=("TCGA-LUAD", "TCGA-LUSC"),
                modality=("CT",),
                genes=(GeneCondition("TP53"), GeneCondition("KRAS", mutated=False)),
            ),
            f"""select SeriesInstanceUID from '{parquet}'
                where collection_id in ('tcga_luad', 'tcga_lusc') and Modality = 'CT'
                and PatientID in ({carriers} and gene = 'TP53')
                and PatientID in ({profiled_kras})
                and PatientID not in ({carriers} and gene = 'KRAS')""",
        ),
        Case(
            "COAD CT, stage III",
            CohortQuery(
                collection=("TCGA-COAD",), modality=("CT",), clinical=(parse_condition("stage=III"),)
            ),
            f"""select SeriesInstanceUID from '{parquet}'
                where collection_id = 'tcga_coad' and Modality = 'CT'
                and PatientID in (select bcr_patient_barcode from {coad}
                                  where upper(ajcc_pathologic_tumor_stage) in
                                  ('STAGE III', 'STAGE IIIA', 'STAGE IIIB', 'STAGE IIIC'))""",
        ),
    ]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def _time(run: Callable[[], set[str]], repeat: int) -> tuple[set[str], list[float]]:
    answer = run()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return answer, samples


@contextmanager
def _postgres(admin_url: str) -> Iterator[str]:
    name = f"ria_bench_cohort_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _load(archive: Archive, data: Path) -> str:
    from ria.genomics import import_file
    from ria.idc import import_idc

    start = time.perf_counter()
    report = import_idc(archive)
    idc_seconds = time.perf_counter() - start
    start = time.perf_counter()
    rows = 0
    for name in TABLES:
        rows += import_file(archive, data / name).rows_stored
    return (
        f"IDC {report.total('series_added')} series in {idc_seconds:.1f} s; "
        f"{rows} genomic rows in {time.perf_counter() - start:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per query (default 30)")
    parser.add_argument(
        "--tcga-data",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "tests" / "data" / "tcga",
        help="folder of the gzipped TCGA tables (default: the repository's tests/data/tcga)",
    )
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL server where a throw-away database is created ('' to skip PostgreSQL)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    import duckdb
    import idc_index_data

    data: Path = args.tcga_data
    if not (data / "lung_mutations_by_gene.csv.gz").is_file():
        print(f"error: no gzipped TCGA tables in {data}: pass --tcga-data", file=sys.stderr)
        return 2
    parquet = str(idc_index_data.IDC_INDEX_PARQUET_FILEPATH)
    cases = _cases(data, parquet)
    print(f"ria {ria_source_state()}; {args.repeat} timed runs per query after one warm-up")
    results: dict[str, dict[str, tuple[float, float, int]]] = {case.name: {} for case in cases}

    connection = duckdb.connect()
    answers: dict[str, set[str]] = {}
    for case in cases:

        def by_hand(sql: str = case.duckdb) -> set[str]:
            return {row[0] for row in connection.execute(sql).fetchall()}

        answer, samples = _time(by_hand, args.repeat)
        answers[case.name] = answer
        results[case.name]["duckdb"] = (*_percentiles(samples), len(answer))

    with workspace(args.keep, prefix="ria-bench-cohort-") as root:
        backends: list[tuple[str, Any]] = [("sqlite", None)]
        if args.postgres_url:
            backends.append(("postgresql", args.postgres_url))
        for backend, admin_url in backends:
            with _postgres(admin_url) if admin_url else _nothing() as url:
                settings = Settings(data_dir=root / backend, database_url=url)
                with Archive(settings) as archive:
                    print(f"{backend}: {_load(archive, data)}")
                    for case in cases:

                        def ria_query(query: CohortQuery = case.ria) -> set[str]:
                            return {
                                row.series_instance_uid
                                for row in Cohort(archive, query, OPERATOR).iter_series()
                            }

                        answer, samples = _time(ria_query, args.repeat)
                        expected = results[case.name]["duckdb"][2]
                        if len(answer) != expected:
                            print(
                                f"error: {case.name}: Ria on {backend} found {len(answer)}, DuckDB {expected}"
                            )
                            return 1
                        results[case.name][backend] = (*_percentiles(samples), len(answer))

    columns = [name for name in ("sqlite", "postgresql", "duckdb") if name in next(iter(results.values()))]
    print()
    print(
        f"{'query':40} {'series':>7} "
        + " ".join(f"{name + ' p50/p99 ms':>24}" for name in columns)
        + "  ratio"
    )
    for name, by_backend in results.items():
        cells = " ".join(f"{by_backend[c][0]:>11.1f} / {by_backend[c][1]:>9.1f}" for c in columns)
        ratio = by_backend["sqlite"][0] / by_backend["duckdb"][0]
        print(f"{name:40} {by_backend['duckdb'][2]:>7} {cells}  {ratio:5.2f}x")
    print("ratio: Ria on SQLite p50 / DuckDB p50 (goal: p50 < 50 ms and ratio <= 2)")
    return 0


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    sys.exit(main())
