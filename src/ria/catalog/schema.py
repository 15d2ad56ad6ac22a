"""The catalogue schema (SQLAlchemy 2 Core): collection > patient > study > series > instance.

Instances held for a curator (possible burned-in text) live apart in ``quarantine``,
outside the hierarchy, so that no query that serves the archive can see them.

Column names are snake_case versions of the DICOM/TCIA attribute names they
hold, so the mapping to TCIA's JSON keys is mechanical. Series keep their
``image_count`` and ``file_size`` in the same transaction that adds their
instances, so counts can never disagree with the rows (and remote series,
which have no instance rows, can still carry counts).

Changing anything here needs a new Alembic revision under ``migrations/``;
a test compares the migrated database with this metadata.
"""

from __future__ import annotations

import datetime as dt
from typing import overload

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "UtcDateTime",
    "access_grant",
    "api_token",
    "app_user",
    "audit_event",
    "clinical",
    "collection",
    "genomic_source",
    "instance",
    "iss_member",
    "label",
    "label_field",
    "metadata",
    "mutation",
    "patient",
    "quarantine",
    "series",
    "shared_cart",
    "shared_cart_series",
    "site",
    "study",
    "user_site",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` as an aware UTC datetime; a naive one is taken as UTC, the catalogue's only zone.

    The one conversion: :class:`UtcDateTime` applies it to every timestamp column, and code
    holding a moment from elsewhere (a caller's ``at``, an aggregate) uses it too.
    """
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A moment stored in UTC and always read back time-zone aware (UTC).

    ``timestamp with time zone`` on PostgreSQL; SQLite has no zone and hands back naive
    values, which every caller would otherwise have to patch (and one forgot: API
    timestamps went out without an offset). Doing it here, Python-side, changes no DDL.
    A naive value bound is taken as UTC, the catalogue's only zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return as_utc(value)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return as_utc(value)


UID = String(64)

collection = Table(
    "collection",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("description", Text),
    Column("doi", String(256)),
    Column("license_name", String(256)),
    Column("license_uri", String(512)),
    Column("deid_profile", String(256)),
    Column("created_at", UtcDateTime(), nullable=False),
    # Governance (issue 5): who may see the collection, and its ISS group's publication embargo.
    Column("cancer_type", String(256)),
    Column("access_level", String(16), nullable=False, server_default="public"),
    Column("restricted_until_embargo_end", Boolean, nullable=False, server_default=false()),
    Column("embargo_threshold", Integer, nullable=False, server_default="100"),
    Column("embargo_window_days", Integer, nullable=False, server_default="365"),
    Column("hundredth_case_at", UtcDateTime()),
    Column("embargo_ends_at", UtcDateTime()),
    Column("embargo_set_by_curator", Boolean, nullable=False, server_default=false()),
)

patient = Table(
    "patient",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection_id", Integer, ForeignKey("collection.id"), nullable=False),
    Column("patient_id", String(64), nullable=False, index=True),
    Column("patient_name", String(324)),
    Column("patient_sex", String(16)),
    Column("patient_birth_date", Date),
    Column("ethnic_group", String(64)),
    Column("created_at", UtcDateTime(), nullable=False),
    # The Imaging Source Site that contributed the patient: a TCGA barcode's tissue source site code.
    Column("site_code", String(16)),
    UniqueConstraint("collection_id", "patient_id"),
    Index("ix_patient_collection_id_site_code", "collection_id", "site_code"),
)

study = Table(
    "study",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_pk", Integer, ForeignKey("patient.id"), nullable=False, index=True),
    Column("study_instance_uid", UID, nullable=False, unique=True),
    Column("study_date", Date),
    Column("study_description", String(1024)),
    Column("study_id", String(64)),
    Column("accession_number", String(64)),
    Column("admitting_diagnoses_description", String(1024)),
    Column("patient_age", String(16)),
    Column("created_at", UtcDateTime(), nullable=False),
)

series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("study_pk", Integer, ForeignKey("study.id"), nullable=False, index=True),
    Column("series_instance_uid", UID, nullable=False, unique=True),
    Column("modality", String(16), index=True),
    Column("protocol_name", String(1024)),
    Column("series_date", Date),
    Column("series_description", String(1024)),
    Column("body_part_examined", String(64), index=True),
    Column("series_number", Integer),
    Column("manufacturer", String(256)),
    Column("manufacturer_model_name", String(256)),
    Column("software_versions", String(256)),
    Column("image_count", Integer, nullable=False, server_default="0"),
    Column("file_size", BigInteger, nullable=False, server_default="0"),
    Column("is_remote", Boolean, nullable=False, server_default=false()),
    Column("source_url", Text),
    Column("ingested_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("released_at", UtcDateTime()),
)

instance = Table(
    "instance",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("series_pk", Integer, ForeignKey("series.id"), nullable=False),
    Column("sop_instance_uid", UID, nullable=False, unique=True),
    Column("sop_class_uid", UID, nullable=False),
    Column("transfer_syntax_uid", UID),
    Column("instance_number", Integer),
    Column("acquisition_number", Integer),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("md5", String(32)),
    Column("crc32", BigInteger),
    Column("blob_key", String(64), nullable=False, index=True),
    Column("ingested_at", UtcDateTime(), nullable=False),
    Index("ix_instance_series_pk_instance_number", "series_pk", "instance_number"),
)

shared_cart = Table(
    "shared_cart",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("description", Text),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Carts hold SeriesInstanceUIDs, not series keys: a shared cart outlives a series
# being replaced, and answers only the series that still exist (as TCIA's do).
shared_cart_series = Table(
    "shared_cart_series",
    metadata,
    Column("cart_pk", Integer, ForeignKey("shared_cart.id"), primary_key=True),
    Column("series_instance_uid", UID, primary_key=True),
)

# Instances held for a curator's decision (``ria review``). Deliberately outside the
# collection > ... > instance tree and joined to nothing: every query that serves the
# archive reads that tree, so a held instance cannot show in a result, a count, a value
# list, a download or an error message. The collection is a name, not a key, so holding
# an instance does not even create an (empty) collection. PatientID is the de-identified one.
quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection_name", String(64), nullable=False, index=True),
    Column("sop_instance_uid", UID, nullable=False, unique=True),
    Column("series_instance_uid", UID, nullable=False),
    Column("study_instance_uid", UID, nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("md5", String(32)),
    Column("crc32", BigInteger),
    Column("blob_key", String(64), nullable=False, index=True),
    Column("reason", String(1024), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)


# --- Genomics and clinical data, keyed by TCGA participant barcode (issue 4) -----------------------
# Deliberately not foreign-keyed to ``patient``: genomic data arrive before, after or without the
# images, and a participant is linked to imaging simply by sharing the 12-character barcode with an
# imaging PatientID. ``project`` (e.g. TCGA-LUAD) is what the source said, or else the collection
# the participant's images are filed in, or NULL when neither is known.

# One row per imported file. Re-importing the same content replaces that source's rows in one
# transaction, which is what makes importers idempotent.
genomic_source = Table(
    "genomic_source",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("name", String(512), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("project", String(64)),
    Column("rows_read", Integer, nullable=False),
    Column("rows_stored", Integer, nullable=False),
    Column("rows_linked", Integer, nullable=False),
    Column("rows_unmatched", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("imported_at", UtcDateTime(), nullable=False),
    UniqueConstraint("kind", "sha256"),
)

# Somatic mutations (one row per MAF line or mutation-table row); only the columns researchers filter on.
mutation = Table(
    "mutation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("genomic_source.id"), nullable=False, index=True),
    Column("participant", String(12), nullable=False, index=True),
    Column("project", String(64)),
    Column("sample_barcode", String(64)),
    Column("hugo_symbol", String(64), nullable=False),
    Column("variant_classification", String(64)),
    Column("variant_type", String(16)),
    Column("hgvsp_short", String(256)),
    Column("chromosome", String(16)),
    Column("start_position", BigInteger),
    Column("end_position", BigInteger),
    Column("reference_allele", Text),
    Column("tumor_seq_allele2", Text),
    Column("t_depth", Integer),
    Column("t_alt_count", Integer),
    Column("ncbi_build", String(16)),
    Index("ix_mutation_hugo_symbol_participant", "hugo_symbol", "participant"),
)

# Clinical facts, one row per (source, participant). A participant described by several sources
# (a patient biotab and its follow-ups) is merged at query time: Dead wins over Alive, the largest
# day counts win, and any known value fills a gap.
clinical = Table(
    "clinical",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("genomic_source.id"), nullable=False, index=True),
    Column("participant", String(12), nullable=False, index=True),
    Column("project", String(64)),
    Column("vital_status", String(16)),
    Column("days_to_death", Integer),
    Column("days_to_last_follow_up", Integer),
    Column("sex", String(16)),
    Column("race", String(128)),
    Column("ethnicity", String(128)),
    Column("age_at_diagnosis", Integer),
    Column("primary_diagnosis", String(256)),
    Column("ajcc_pathologic_stage", String(64)),
    UniqueConstraint("source_id", "participant"),
)

# The fields of generic per-patient label tables, typed on import ("number" or "text").
label_field = Table(
    "label_field",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("genomic_source.id"), nullable=False, index=True),
    Column("name", String(128), nullable=False),
    Column("value_type", String(16), nullable=False),
    UniqueConstraint("source_id", "name"),
)

# Label values, long format: number fields keep ``value_number`` (and the text), text fields ``value_text``.
label = Table(
    "label",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("genomic_source.id"), nullable=False, index=True),
    Column("participant", String(12), nullable=False, index=True),
    Column("project", String(64)),
    Column("name", String(128), nullable=False),
    Column("value_text", String(1024)),
    Column("value_number", Float),
    Index("ix_label_name_participant", "name", "participant"),
)


# --- Governance: sites, users, grants, tokens, audit (issue 5) ---------------------------------------
# A collection's ISS group is the sites that contributed its patients (``patient.site_code``, from the
# TCGA barcode) plus any named in ``iss_member``; users belong to sites. Restricted and limited
# collections are visible to the ISS group and to users with an unrevoked grant.

site = Table(
    "site",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("name", String(256)),
    Column("created_at", UtcDateTime(), nullable=False),
)

iss_member = Table(
    "iss_member",
    metadata,
    Column("site_pk", Integer, ForeignKey("site.id"), primary_key=True),
    Column("collection_pk", Integer, ForeignKey("collection.id"), primary_key=True),
)

# "user" is a reserved word in PostgreSQL.
app_user = Table(
    "app_user",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("password_hash", String(256)),
    Column("is_admin", Boolean, nullable=False, server_default=false()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("disabled_at", UtcDateTime()),
)

user_site = Table(
    "user_site",
    metadata,
    Column("user_pk", Integer, ForeignKey("app_user.id"), primary_key=True),
    Column("site_pk", Integer, ForeignKey("site.id"), primary_key=True),
)

access_grant = Table(
    "access_grant",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_pk", Integer, ForeignKey("app_user.id"), nullable=False, index=True),
    Column("collection_pk", Integer, ForeignKey("collection.id"), nullable=False),
    Column("granted_by", String(64), nullable=False),
    Column("granted_at", UtcDateTime(), nullable=False),
    Column("reason", Text),
    Column("revoked_at", UtcDateTime()),
)

# Only SHA-256 digests of tokens are stored: a stolen catalogue yields no usable token.
api_token = Table(
    "api_token",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_pk", Integer, ForeignKey("app_user.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(128)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime()),
    Column("revoked_at", UtcDateTime()),
    Column("parent_pk", Integer, ForeignKey("api_token.id")),
)

# Who changed what governance setting, when and why (append-only).
audit_event = Table(
    "audit_event",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime(), nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(256), nullable=False),
    Column("reason", Text),
    Column("details", Text),
)
