"""The synthetic catalogue bench/api.py measures: a million instances' worth of realistic rows.

TCGA collections, barcodes, studies of typical modality mixes and series sizes, generated straight into the
catalogue tables with SQLAlchemy Core bulk inserts — no DICOM files, no blobs — so the API can be timed at a
size no test corpus reaches. Split from ``api.py`` to keep modules small.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, func, select, text

from ria.archive import Archive
from ria.catalog.schema import collection, instance, patient, series, study

# The real CLI, started from this interpreter's environment (as bench/ingest.py does).
RIA_CLI: tuple[str, ...] = (sys.executable, "-c", "from ria.cli.main import main; main()")


INSERT_BATCH = 25_000  # instance rows per transaction while generating
SEED = 20261125
UID_ROOT = "1.2.826.0.1.3680043.8.498"  # pydicom's root, as generate_uid() uses


class BenchError(Exception):
    """A benchmark step failed (exit 1)."""


# --------------------------------------------------------------------------- catalogue shape


@dataclass(frozen=True)
class SeriesKind:
    """One kind of series: modality, description and ranges for image count and bytes per image."""

    modality: str
    description: str
    images: tuple[int, int]
    image_bytes: tuple[int, int]


@dataclass(frozen=True)
class StudyKind:
    """A kind of study: its series are ``series`` plus, half of the time, one of ``optional``."""

    description: str
    body_part: str
    series: tuple[SeriesKind, ...]
    optional: tuple[SeriesKind, ...]


@dataclass(frozen=True)
class CollectionKind:
    name: str
    sites: tuple[str, ...]  # TCGA tissue source site codes (the XX in TCGA-XX-XXXX)
    sex: str | None  # None: both
    studies: tuple[StudyKind, ...]


CT_BYTES = (525_000, 527_500)  # 512x512x16 bit plus header
CT_AX = SeriesKind("CT", "AX 5.0 STND", (40, 90), CT_BYTES)
CT_THIN = SeriesKind("CT", "AX 1.25mm LUNG", (60, 110), CT_BYTES)
CT_VENOUS = SeriesKind("CT", "PORTAL VENOUS 3mm", (50, 100), CT_BYTES)
CT_AC = SeriesKind("CT", "CTAC 3.75 Thick", (50, 100), CT_BYTES)
CT_SCOUT = SeriesKind("CT", "Topogram 0.6 T20s", (1, 2), (280_000, 300_000))
PT_WB = SeriesKind("PT", "PET WB AC", (50, 100), (66_000, 67_500))
MR_T1 = SeriesKind("MR", "AX T1 POST GD", (20, 60), (132_000, 134_000))
MR_T2 = SeriesKind("MR", "AX T2 FSE", (20, 60), (132_000, 134_000))
MR_FLAIR = SeriesKind("MR", "AX FLAIR", (20, 40), (132_000, 134_000))
MR_DWI = SeriesKind("MR", "DWI b0 b800", (30, 80), (34_000, 36_000))
MR_DCE = SeriesKind("MR", "DYN 3D VIBE", (80, 140), (170_000, 180_000))
MG_VIEW = SeriesKind("MG", "R MLO", (1, 2), (18_000_000, 28_000_000))
SEG_TUMOR = SeriesKind("SEG", "Tumor segmentation", (1, 1), (150_000, 900_000))
SR_REPORT = SeriesKind("SR", "Radiology report", (1, 1), (6_000, 20_000))

CHEST_CT = StudyKind("CT CHEST W CONTRAST", "CHEST", (CT_AX, CT_THIN), (SEG_TUMOR, CT_SCOUT))
PET_CT = StudyKind("PET CT WHOLE BODY", "WHOLEBODY", (CT_AC, PT_WB), (SEG_TUMOR, CT_SCOUT))
ABD_CT = StudyKind("CT ABDOMEN PELVIS W CONTRAST", "ABDOMEN", (CT_AX, CT_VENOUS), (SEG_TUMOR, SR_REPORT))
PELVIS_CT = StudyKind("CT PELVIS W CONTRAST", "PELVIS", (CT_AX, CT_VENOUS), (SR_REPORT,))
NECK_CT = StudyKind("CT NECK SOFT TISSUE", "NECK", (CT_AX, CT_THIN), (SEG_TUMOR,))
BRAIN_MR = StudyKind("MRI BRAIN W WO CONTRAST", "BRAIN", (MR_T1, MR_T2), (MR_FLAIR, MR_DWI))
BREAST_MR = StudyKind("MRI BREAST BILATERAL", "BREAST", (MR_T1, MR_DCE), (SEG_TUMOR, MR_T2))
BREAST_MG = StudyKind("MAMMO DIAGNOSTIC BILAT", "BREAST", (MG_VIEW, MG_VIEW), (SR_REPORT,))
PELVIS_MR = StudyKind("MRI PELVIS W WO CONTRAST", "PELVIS", (MR_T2, MR_DWI), (MR_DCE, SEG_TUMOR))
PROSTATE_MR = StudyKind("MRI PROSTATE MULTIPARAMETRIC", "PROSTATE", (MR_T2, MR_DWI), (MR_DCE, SEG_TUMOR))
ABD_MR = StudyKind("MRI ABDOMEN W WO CONTRAST", "ABDOMEN", (MR_T1, MR_T2), (MR_DWI, MR_DCE))
KNEE_MR = StudyKind("MRI LOWER EXTREMITY", "LEG", (MR_T1, MR_T2), (MR_FLAIR,))

COLLECTIONS: tuple[CollectionKind, ...] = (
    CollectionKind("TCGA-LUAD", ("05", "44", "55", "49", "50"), None, (CHEST_CT, PET_CT)),
    CollectionKind("TCGA-LUSC", ("18", "21", "33", "34", "60"), None, (CHEST_CT, PET_CT)),
    CollectionKind("TCGA-BRCA", ("A2", "AR", "BH", "E2", "AO"), "F", (BREAST_MR, BREAST_MG)),
    CollectionKind("TCGA-KIRC", ("B0", "B8", "BP", "CJ", "CZ"), None, (ABD_CT, ABD_MR)),
    CollectionKind("TCGA-KIRP", ("2Z", "5P", "A4", "B1", "BQ"), None, (ABD_CT,)),
    CollectionKind("TCGA-KICH", ("KL", "KM", "KN", "KO"), None, (ABD_CT,)),
    CollectionKind("TCGA-GBM", ("02", "06", "08", "12", "19"), None, (BRAIN_MR,)),
    CollectionKind("TCGA-LGG", ("CS", "DB", "DU", "FG", "HT"), None, (BRAIN_MR,)),
    CollectionKind("TCGA-HNSC", ("BA", "CN", "CQ", "CV", "QK"), None, (NECK_CT, PET_CT)),
    CollectionKind("TCGA-OV", ("04", "09", "13", "24", "25"), "F", (ABD_CT, PELVIS_CT)),
    CollectionKind("TCGA-UCEC", ("AX", "B5", "BG", "BS", "D1"), "F", (PELVIS_MR, PELVIS_CT)),
    CollectionKind("TCGA-CESC", ("C5", "DS", "EA", "EK", "FU"), "F", (PELVIS_MR, PET_CT)),
    CollectionKind("TCGA-PRAD", ("CH", "EJ", "G9", "HC", "KK"), "M", (PROSTATE_MR,)),
    CollectionKind("TCGA-LIHC", ("BC", "CC", "DD", "ED", "G3"), None, (ABD_CT, ABD_MR)),
    CollectionKind("TCGA-STAD", ("BR", "CD", "CG", "HU", "VQ"), None, (ABD_CT,)),
    CollectionKind("TCGA-COAD", ("A6", "AA", "AZ", "CM", "D5"), None, (ABD_CT, PET_CT)),
    CollectionKind("TCGA-READ", ("AF", "AG", "DC", "EI", "F5"), None, (PELVIS_MR, PELVIS_CT)),
    CollectionKind("TCGA-BLCA", ("BT", "DK", "FD", "GD", "XF"), None, (PELVIS_CT, ABD_CT)),
    CollectionKind("TCGA-SARC", ("3B", "DX", "IE", "JV", "MJ"), None, (KNEE_MR, CHEST_CT)),
    CollectionKind("TCGA-ESCA", ("IG", "JY", "L5", "LN", "R6"), None, (CHEST_CT, PET_CT)),
)

# (manufacturer, model, software versions) per modality; a patient's site picks one.
EQUIPMENT: dict[str, tuple[tuple[str, str, str], ...]] = {
    "CT": (
        ("SIEMENS", "SOMATOM Definition AS+", "syngo CT 2012B"),
        ("GE MEDICAL SYSTEMS", "LightSpeed VCT", "LightSpeedverrel"),
        ("Philips", "Brilliance 64", "3.2.1"),
        ("TOSHIBA", "Aquilion ONE", "V4.86ER005"),
    ),
    "PT": (
        ("SIEMENS", "Biograph 64", "VG50A"),
        ("GE MEDICAL SYSTEMS", "Discovery STE", "pet_coreload.41"),
        ("Philips", "GEMINI TF TOF 64", "3.3.0"),
    ),
    "MR": (
        ("SIEMENS", "Skyra", "syngo MR E11"),
        ("GE MEDICAL SYSTEMS", "SIGNA HDxt", "15\\LX\\MR Software release:15.0_M4_0910.a"),
        ("Philips Medical Systems", "Achieva", "3.2.3"),
    ),
    "MG": (
        ("HOLOGIC, Inc.", "Selenia Dimensions", "1.7.4.3"),
        ("GE MEDICAL SYSTEMS", "Senographe Essential", "ADS_53.40"),
    ),
    "SEG": (("QIICR", "dcmqi", "1.2.5"),),
    "SR": (("Nuance", "PowerScribe 360", "4.0"),),
}
SOP_CLASSES = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "PT": "1.2.840.10008.5.1.4.1.1.128",
    "MG": "1.2.840.10008.5.1.4.1.1.1.2",
    "SEG": "1.2.840.10008.5.1.4.1.1.66.4",
    "SR": "1.2.840.10008.5.1.4.1.1.88.22",
}
EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
JPEG2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
PARTICIPANT_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class Totals:
    """What the catalogue holds (synthetic and real rows together)."""

    collections: int = 0
    patients: int = 0
    studies: int = 0
    series: int = 0
    instances: int = 0
    bytes: int = 0

    def describe(self) -> str:
        return (
            f"{self.collections} collections, {self.patients} patients, {self.studies} studies, "
            f"{self.series} series, {self.instances} instances, {self.bytes / 1e12:.2f} TB catalogued"
        )


@dataclass
class _Rows:
    """Rows waiting for the next bulk insert, parents before children."""

    patients: list[dict[str, Any]] = field(default_factory=list)
    studies: list[dict[str, Any]] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)
    instances: list[dict[str, Any]] = field(default_factory=list)

    def flush(self, conn: Connection) -> None:
        for table, rows in (
            (patient, self.patients),
            (study, self.studies),
            (series, self.series),
            (instance, self.instances),
        ):
            if rows:
                conn.execute(table.insert(), rows)
                rows.clear()


class CatalogueGenerator:
    """Synthetic collection > patient > study > series > instance rows, inserted in batches.

    Primary keys are assigned here, after the highest key already in each
    table (the real series is ingested first), so parents and children are
    linked without reading anything back.
    """

    def __init__(self, conn: Connection, run: int, used_patient_ids: set[str]) -> None:
        self.conn = conn
        self.run = run
        self.rng = random.Random(SEED)
        self.now = dt.datetime.now(dt.UTC)
        self.used_patient_ids = used_patient_ids
        self.next_id = {table.name: _max_id(conn, table) + 1 for table in (patient, study, series, instance)}
        self.totals = Totals()
        self.collection_ids = self._collections()

    def _key(self, table: Table) -> int:
        key = self.next_id[table.name]
        self.next_id[table.name] = key + 1
        return key

    def _collection_ids(self) -> dict[str, int]:
        return {name: key for name, key in self.conn.execute(select(collection.c.name, collection.c.id))}

    def _collections(self) -> list[int]:
        existing = self._collection_ids()
        ids: list[int] = []
        for kind in COLLECTIONS:
            if kind.name not in existing:
                self.conn.execute(
                    collection.insert().values(
                        name=kind.name,
                        description=f"{kind.name} radiology images (synthetic rows for bench/api.py)",
                        doi=f"10.7937/K9/TCIA.2016.{kind.name[5:]}",
                        license_name="Creative Commons Attribution 3.0 Unported License",
                        license_uri="https://creativecommons.org/licenses/by/3.0/",
                        created_at=self.now,
                    )
                )
                existing = self._collection_ids()
            ids.append(existing[kind.name])
        self.totals.collections = len(ids)
        return ids

    def _patient_id(self, kind: CollectionKind) -> str:
        while True:
            participant = "".join(self.rng.choices(PARTICIPANT_ALPHABET, k=4))
            barcode = f"TCGA-{self.rng.choice(kind.sites)}-{participant}"
            if barcode not in self.used_patient_ids:
                self.used_patient_ids.add(barcode)
                return barcode

    def generate(self, target_instances: int, progress: Callable[[Totals], None]) -> Totals:
        rows = _Rows()
        index = 0
        while self.totals.instances < target_instances:
            which = index % len(COLLECTIONS)
            self._patient(rows, COLLECTIONS[which], self.collection_ids[which], index)
            index += 1
            if len(rows.instances) >= INSERT_BATCH:
                rows.flush(self.conn)
                self.conn.commit()
                progress(self.totals)
        rows.flush(self.conn)
        self.conn.commit()
        return self.totals

    def _patient(self, rows: _Rows, kind: CollectionKind, collection_id: int, index: int) -> None:
        rng = self.rng
        patient_id = self._patient_id(kind)
        patient_pk = self._key(patient)
        rows.patients.append(
            {
                "id": patient_pk,
                "collection_id": collection_id,
                "patient_id": patient_id,
                "patient_name": patient_id,
                "patient_sex": kind.sex or rng.choice("MF"),
                "patient_birth_date": None,
                "ethnic_group": None,
                "created_at": self.now,
            }
        )
        self.totals.patients += 1
        site = rng.randrange(12)
        age = rng.randint(28, 88)
        first = dt.date(1995, 1, 1) + dt.timedelta(days=rng.randrange(19 * 365))
        for number in range(2):
            study_kind = kind.studies[(index + number) % len(kind.studies)]
            study_date = first + dt.timedelta(days=number * rng.randint(60, 400))
            study_uid = f"{UID_ROOT}.{self.run}.{index + 1}.{number + 1}"
            study_pk = self._key(study)
            rows.studies.append(
                {
                    "id": study_pk,
                    "patient_pk": patient_pk,
                    "study_instance_uid": study_uid,
                    "study_date": study_date,
                    "study_description": study_kind.description,
                    "study_id": str(rng.randint(1, 99999)),
                    "accession_number": f"{rng.randrange(10**7):07d}",
                    "admitting_diagnoses_description": None,
                    "patient_age": f"{age + (study_date - first).days // 365:03d}Y",
                    "created_at": self.now,
                }
            )
            self.totals.studies += 1
            kinds = list(study_kind.series)
            if rng.random() < 0.5:
                kinds.append(rng.choice(study_kind.optional))
            for position, series_kind in enumerate(kinds, start=1):
                self._series(rows, series_kind, study_kind, study_pk, study_uid, study_date, position, site)

    def _series(
        self,
        rows: _Rows,
        kind: SeriesKind,
        study_kind: StudyKind,
        study_pk: int,
        study_uid: str,
        when: dt.date,
        position: int,
        site: int,
    ) -> None:
        rng = self.rng
        series_uid = f"{study_uid}.{position}"
        series_pk = self._key(series)
        choices = EQUIPMENT[kind.modality]
        manufacturer, model, software = choices[site % len(choices)]
        sop_class = SOP_CLASSES[kind.modality]
        syntax = (
            JPEG2000_LOSSLESS if kind.modality == "MG" else (IMPLICIT_LE if site % 5 == 0 else EXPLICIT_LE)
        )
        low, high = kind.image_bytes
        count = rng.randint(*kind.images)
        total = 0
        for number in range(1, count + 1):
            sop_uid = f"{series_uid}.{number}"
            size = rng.randint(low, high)
            total += size
            digest = hashlib.sha256(sop_uid.encode()).hexdigest()
            rows.instances.append(
                {
                    "id": self._key(instance),
                    "series_pk": series_pk,
                    "sop_instance_uid": sop_uid,
                    "sop_class_uid": sop_class,
                    "transfer_syntax_uid": syntax,
                    "instance_number": number,
                    "acquisition_number": 1,
                    "size": size,
                    "sha256": digest,
                    "md5": hashlib.md5(sop_uid.encode(), usedforsecurity=False).hexdigest(),
                    "blob_key": digest,
                    "ingested_at": self.now,
                }
            )
        rows.series.append(
            {
                "id": series_pk,
                "study_pk": study_pk,
                "series_instance_uid": series_uid,
                "modality": kind.modality,
                "protocol_name": f"{study_kind.body_part} {kind.description}",
                "series_date": when,
                "series_description": kind.description,
                "body_part_examined": study_kind.body_part,
                "series_number": position,
                "manufacturer": manufacturer,
                "manufacturer_model_name": model,
                "software_versions": software,
                "image_count": count,
                "file_size": total,
                "is_remote": False,
                "source_url": None,
                "ingested_at": self.now,
                "updated_at": self.now,
                "released_at": self.now,
            }
        )
        self.totals.series += 1
        self.totals.instances += count
        self.totals.bytes += total


def _max_id(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())


def catalogue_totals(archive: Archive) -> Totals:
    with archive.engine.connect() as conn:
        counts = [
            int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (collection, patient, study, series, instance)
        ]
        size = int(conn.execute(select(func.coalesce(func.sum(series.c.file_size), 0))).scalar_one())
    collections, patients, studies, series_count, instances = counts
    return Totals(collections, patients, studies, series_count, instances, size)


def finish_load(archive: Archive) -> None:
    """Leave the catalogue as a long-running archive would have it after the load."""
    with archive.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # Explicit keys do not advance the serial sequences; later ingests must not collide.
            for table in (collection, patient, study, series, instance):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"
                    )
                )
            conn.commit()
            # What autovacuum does within a minute of a bulk load; done now so it cannot
            # happen in the middle of a measurement.
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        elif conn.dialect.name == "sqlite":
            # Fold the write-ahead log into the database file, as an idle archive would.
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
