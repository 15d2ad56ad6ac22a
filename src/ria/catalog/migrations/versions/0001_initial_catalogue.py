"""Initial catalogue: collection, patient, study, series, instance.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 19:12:59.636001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection")),
        sa.UniqueConstraint("name", name=op.f("uq_collection_name")),
    )
    op.create_table(
        "patient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("patient_name", sa.String(length=324), nullable=True),
        sa.Column("patient_sex", sa.String(length=16), nullable=True),
        sa.Column("patient_birth_date", sa.Date(), nullable=True),
        sa.Column("ethnic_group", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collection.id"], name=op.f("fk_patient_collection_id_collection")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient")),
        sa.UniqueConstraint("collection_id", "patient_id", name=op.f("uq_patient_collection_id_patient_id")),
    )
    op.create_table(
        "study",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_pk", sa.Integer(), nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("study_date", sa.Date(), nullable=True),
        sa.Column("study_description", sa.String(length=1024), nullable=True),
        sa.Column("study_id", sa.String(length=64), nullable=True),
        sa.Column("accession_number", sa.String(length=64), nullable=True),
        sa.Column("admitting_diagnoses_description", sa.String(length=1024), nullable=True),
        sa.Column("patient_age", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["patient_pk"], ["patient.id"], name=op.f("fk_study_patient_pk_patient")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study")),
        sa.UniqueConstraint("study_instance_uid", name=op.f("uq_study_study_instance_uid")),
    )
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_study_patient_pk"), ["patient_pk"], unique=False)

    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_pk", sa.Integer(), nullable=False),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=True),
        sa.Column("protocol_name", sa.String(length=1024), nullable=True),
        sa.Column("series_date", sa.Date(), nullable=True),
        sa.Column("series_description", sa.String(length=1024), nullable=True),
        sa.Column("body_part_examined", sa.String(length=64), nullable=True),
        sa.Column("series_number", sa.Integer(), nullable=True),
        sa.Column("manufacturer", sa.String(length=256), nullable=True),
        sa.Column("manufacturer_model_name", sa.String(length=256), nullable=True),
        sa.Column("software_versions", sa.String(length=256), nullable=True),
        sa.Column("image_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("file_size", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("is_remote", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["study_pk"], ["study.id"], name=op.f("fk_series_study_pk_study")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series")),
        sa.UniqueConstraint("series_instance_uid", name=op.f("uq_series_series_instance_uid")),
    )
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_series_body_part_examined"), ["body_part_examined"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_series_modality"), ["modality"], unique=False)
        batch_op.create_index(batch_op.f("ix_series_study_pk"), ["study_pk"], unique=False)

    op.create_table(
        "instance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_pk", sa.Integer(), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("sop_class_uid", sa.String(length=64), nullable=False),
        sa.Column("transfer_syntax_uid", sa.String(length=64), nullable=True),
        sa.Column("instance_number", sa.Integer(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["series_pk"], ["series.id"], name=op.f("fk_instance_series_pk_series")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance")),
        sa.UniqueConstraint("sop_instance_uid", name=op.f("uq_instance_sop_instance_uid")),
    )
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_instance_blob_key"), ["blob_key"], unique=False)
        batch_op.create_index(
            "ix_instance_series_pk_instance_number", ["series_pk", "instance_number"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.drop_index("ix_instance_series_pk_instance_number")
        batch_op.drop_index(batch_op.f("ix_instance_blob_key"))

    op.drop_table("instance")
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_series_study_pk"))
        batch_op.drop_index(batch_op.f("ix_series_modality"))
        batch_op.drop_index(batch_op.f("ix_series_body_part_examined"))

    op.drop_table("series")
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_study_patient_pk"))

    op.drop_table("study")
    op.drop_table("patient")
    op.drop_table("collection")
