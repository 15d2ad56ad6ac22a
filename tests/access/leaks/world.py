"""The leak matrix's world: five collections of real DICOM under real TCGA barcodes, each with its own
access level, five users with real bearer tokens, and a shared cart that mixes every collection.

What each collection holds is read back from the written files with pydicom (:class:`Holdings`), never
from Ria, so the matrix compares Ria's answers with an independent account of the data.

Collection names are chosen so that none appears in the API's own documentation (the OpenAPI examples
name TCGA-LUAD and TCGA-BRCA): a restricted collection's name found in a response is then a leak, never
a doc example. LUAD is the public collection for that reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.uid import UID
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ria.access import ANONYMOUS, OPERATOR, Principal
from ria.access.governance import CollectionChanges, change_settings
from ria.access.tokens import issue_api_token, revoke_token
from ria.access.users import add_user, add_user_to_site, grant, principal_for_user
from ria.archive import Archive
from ria.catalog.carts import create_cart
from ria.catalog.database import normalise_url
from ria.dicom.uids import derive_uid
from ria.sample.corpus import find_test_file
from ria.settings import Settings

A, B, C, P, D = "TCGA-LUSC", "TCGA-OV", "TCGA-GBM", "TCGA-LUAD", "TCGA-KIRC"
ALL = (A, B, C, P, D)
MIXED_CART = "leak-mixed-cart"
ACTOR = "leak-matrix"

# Real TCGA participant barcodes: two per collection, each collection from its own tissue source site.
BARCODES: dict[str, tuple[str, ...]] = {
    A: ("TCGA-18-3406", "TCGA-18-3407"),
    B: ("TCGA-04-1331", "TCGA-04-1332"),
    C: ("TCGA-02-0001", "TCGA-02-0003"),
    P: ("TCGA-05-4244", "TCGA-05-4249"),
    D: ("TCGA-B0-4698", "TCGA-B0-4700"),
}
SITE = {A: "18", B: "04", C: "02", P: "05", D: "B0"}
# Distinct body parts and study dates per collection, so value lists and time points tell collections apart.
BODY_PART = {A: "CHEST", B: "PELVIS", C: "HEAD", P: "LUNG", D: "KIDNEY"}
STUDY_DATE = {A: "20010101", B: "20020202", C: "20030303", P: "20040404", D: "20050505"}
# D is restricted until its publication embargo ends: a curator set the start, the window is one year.
D_EMBARGO_START = dt.datetime(2031, 1, 1, tzinfo=dt.UTC)
D_EMBARGO_END = dt.datetime(2032, 1, 1, tzinfo=dt.UTC)
# TCIA's DOIs of the five collections (a DOI names its collection, so it is one of its identifiers).
DOIS = {
    A: "10.7937/K9/TCIA.2016.TYGKKFMQ",
    B: "10.7937/K9/TCIA.2016.NDO1MDFQ",
    C: "10.7937/K9/TCIA.2016.RNYFUYE9",
    P: "10.7937/K9/TCIA.2016.JGNIHEP5",
    D: "10.7937/K9/TCIA.2016.V6PBVTDR",
}


@dataclass(frozen=True)
class Instance:
    """One written file, as pydicom reads it back."""

    collection: str
    patient_id: str
    study_uid: str
    series_uid: str
    sop_uid: str
    modality: str
    manufacturer: str
    body_part: str
    study_date: str
    size: int


@dataclass(frozen=True)
class Holdings:
    """Every instance of one collection (pydicom's account) and the identifiers that name its data."""

    name: str
    instances: tuple[Instance, ...]

    @property
    def patients(self) -> set[str]:
        return {i.patient_id for i in self.instances}

    @property
    def studies(self) -> set[str]:
        return {i.study_uid for i in self.instances}

    @property
    def series(self) -> set[str]:
        return {i.series_uid for i in self.instances}

    @property
    def sops(self) -> set[str]:
        return {i.sop_uid for i in self.instances}

    def tokens(self) -> set[str]:
        """Strings that, found in a response, show this collection's data: name, PatientIDs and UIDs."""
        return {self.name, DOIS[self.name]} | self.patients | self.studies | self.series | self.sops

    def first(self, modality: str = "CT") -> Instance:
        return min((i for i in self.instances if i.modality == modality), key=lambda i: i.sop_uid)


@dataclass(frozen=True)
class Target:
    """The identifiers a route is asked about: one collection's, or well-formed ones that exist nowhere."""

    collection: str
    patient_id: str
    study_uid: str
    series_uid: str
    sop_uid: str
    mr_series_uid: str
    doi: str

    def placeholders(self) -> dict[str, str]:
        """Asked-for value → placeholder, so a "forbidden" answer can be compared with a "missing" one."""
        return {
            self.collection: "{collection}",
            self.patient_id: "{patient}",
            self.study_uid: "{study}",
            self.series_uid: "{series}",
            self.sop_uid: "{sop}",
            self.mr_series_uid: "{mr_series}",
            self.doi: "{doi}",
        }


MISSING = Target(
    collection="TCGA-UVM",
    patient_id="TCGA-V4-A9E5",
    study_uid=derive_uid("leak-missing", "study"),
    series_uid=derive_uid("leak-missing", "series"),
    sop_uid=derive_uid("leak-missing", "sop"),
    mr_series_uid=derive_uid("leak-missing", "mr-series"),
    doi="10.7937/K9/TCIA.2016.ZZZZZZZZ",
)


@dataclass(frozen=True)
class Caller:
    """A principal the matrix calls as: its bearer token (none for anonymous) and what it may see."""

    name: str
    token: str | None
    visible: frozenset[str]
    principal: Principal

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.token is None else {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    archive: Archive
    holdings: dict[str, Holdings]
    callers: dict[str, Caller]
    revoked_token: str
    targets: dict[str, Target] = field(default_factory=dict)

    def forbidden_tokens(self, caller: Caller) -> set[str]:
        return set().union(*(self.holdings[n].tokens() for n in ALL if n not in caller.visible))

    def visible_instances(self, caller: Caller) -> list[Instance]:
        return [i for n in sorted(caller.visible) for i in self.holdings[n].instances]


def _write_collection(root: Path, name: str) -> Holdings:
    """Two patients, each with a CT study (one series of two instances) and an MR study (two series)."""
    ct, mr = (_read(find_test_file(f)) for f in ("CT_small.dcm", "MR_small.dcm"))
    instances: list[Instance] = []
    for barcode in BARCODES[name]:
        layout = (("CT", ct, "ct-1", 2), ("MR", mr, "mr-1", 1), ("MR", mr, "mr-2", 1))
        for modality, template, series_key, count in layout:
            study_uid = derive_uid("leak-matrix", barcode, "study", modality)
            series_uid = derive_uid("leak-matrix", barcode, "series", series_key)
            for number in range(1, count + 1):
                sop_uid = derive_uid("leak-matrix", series_uid, str(number))
                template.PatientID = barcode
                template.PatientName = barcode
                template.StudyInstanceUID = study_uid
                template.SeriesInstanceUID = series_uid
                template.SOPInstanceUID = sop_uid
                template.file_meta.MediaStorageSOPInstanceUID = UID(sop_uid)
                template.InstanceNumber = number
                template.BodyPartExamined = BODY_PART[name]
                template.StudyDate = STUDY_DATE[name]
                path = root / name / barcode / series_key / f"{number}.dcm"
                path.parent.mkdir(parents=True, exist_ok=True)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    template.save_as(path, enforce_file_format=True)
                instances.append(_reread(name, path))
    return Holdings(name, tuple(instances))


def _read(path: Path) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def _reread(name: str, path: Path) -> Instance:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    return Instance(
        name,
        str(ds.PatientID),
        str(ds.StudyInstanceUID),
        str(ds.SeriesInstanceUID),
        str(ds.SOPInstanceUID),
        str(ds.Modality),
        str(ds.get("Manufacturer", "")),
        str(ds.BodyPartExamined),
        str(ds.StudyDate),
        path.stat().st_size,
    )


def _target(holdings: Holdings) -> Target:
    ct, mr = holdings.first("CT"), holdings.first("MR")
    name = holdings.name
    return Target(name, ct.patient_id, ct.study_uid, ct.series_uid, ct.sop_uid, mr.series_uid, DOIS[name])


def _govern(archive: Archive) -> None:
    for name, changes in (
        (A, CollectionChanges(access="restricted")),
        (B, CollectionChanges(access="restricted")),
        (C, CollectionChanges(access="limited")),
        (P, CollectionChanges(access="public")),
        (
            D,
            CollectionChanges(
                access="restricted",
                restricted_until_embargo_end=True,
                embargo_start=D_EMBARGO_START,
                embargo_days=(D_EMBARGO_END - D_EMBARGO_START).days,
            ),
        ),
    ):
        with_doi = dataclasses.replace(changes, doi=DOIS[name])
        change_settings(archive.engine, name, with_doi, actor=ACTOR, reason="leak matrix fixture")


def _callers(archive: Archive) -> tuple[dict[str, Caller], str]:
    engine = archive.engine
    for user in ("member-a", "member-b", "grantee-c", "revoked", "admin"):
        add_user(engine, user, admin=user == "admin", actor=ACTOR)
    add_user_to_site(engine, "member-a", SITE[A], actor=ACTOR)
    add_user_to_site(engine, "member-b", SITE[B], actor=ACTOR)
    grant(engine, "grantee-c", C, actor=ACTOR)
    # The revoked user could see A and C: a silent downgrade to anonymous would hide that, a 401 cannot.
    add_user_to_site(engine, "revoked", SITE[A], actor=ACTOR)
    grant(engine, "revoked", C, actor=ACTOR)
    revoked = issue_api_token(engine, "revoked", actor=ACTOR)
    assert revoke_token(engine, revoked, actor=ACTOR)

    def caller(user: str, visible: set[str]) -> Caller:
        return Caller(
            user,
            issue_api_token(engine, user, actor=ACTOR),
            frozenset(visible),
            principal_for_user(engine, user),
        )

    callers = {
        "anonymous": Caller("anonymous", None, frozenset({P}), ANONYMOUS),
        "member-a": caller("member-a", {A, P}),
        "member-b": caller("member-b", {B, P}),
        "grantee-c": caller("grantee-c", {C, P}),
        "admin": caller("admin", set(ALL)),
    }
    return callers, revoked


def build_world(root: Path, settings: Settings) -> Iterator[World]:
    """Write, ingest and govern the five collections; yield the world while the archive is open."""
    holdings = {name: _write_collection(root / "corpus", name) for name in ALL}
    tokens = [token for h in holdings.values() for token in h.tokens()]
    clashes = [(x, y) for x in tokens for y in tokens if x != y and x in y]
    assert not clashes, f"an identifier is part of another, substring checks would be unsound: {clashes[:3]}"
    with Archive(settings) as archive:
        for name in ALL:
            archive.ingest([root / "corpus" / name], name, workers=1, write_report=False)
        _govern(archive)
        mixed = sorted(uid for name in ALL for uid in holdings[name].series)
        create_cart(archive.engine, mixed, MIXED_CART, "series of every access level", principal=OPERATOR)
        callers, revoked = _callers(archive)
        world = World(archive, holdings, callers, revoked)
        world.targets = {name: _target(holdings[name]) for name in ALL}
        yield world


def database_for(kind: str, admin_url: str | None) -> tuple[str | None, str | None]:
    """``(url, name)`` of a fresh PostgreSQL database for ``kind == "postgresql"``; SQLite's default else."""
    if kind != "postgresql" or admin_url is None:
        return None, None
    name = f"ria_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), name


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
