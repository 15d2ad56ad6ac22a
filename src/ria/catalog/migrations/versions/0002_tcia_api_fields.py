"""Fields the TCIA API serves: collection DOI and licence, instance AcquisitionNumber, MD5 and CRC-32,
shared carts, a PatientID index.

TCIA's getSeries carries each collection's licence and DOI; getImage with
NewFileNames names files ``<AcquisitionNumber>-<InstanceNumber>.dcm``; the MD5
endpoints and ``IncludeMD5`` answer per-image MD5 hashes, recorded at ingest so
that a hierarchy hash never has to re-read every byte; the CRC-32 lets a ZIP download carry
each file's checksum in its header without a checksum pass over the bytes. Rows ingested before this
revision keep NULL there and are hashed on demand.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("collection") as batch:
        batch.add_column(sa.Column("doi", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("license_name", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("license_uri", sa.String(length=512), nullable=True))
    with op.batch_alter_table("instance") as batch:
        batch.add_column(sa.Column("acquisition_number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("md5", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("crc32", sa.BigInteger(), nullable=True))
    # getSeries?PatientID=… without a collection must not scan every patient.
    op.create_index(op.f("ix_patient_patient_id"), "patient", ["patient_id"])
    op.create_table(
        "shared_cart",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_cart")),
        sa.UniqueConstraint("name", name=op.f("uq_shared_cart_name")),
    )
    op.create_table(
        "shared_cart_series",
        sa.Column("cart_pk", sa.Integer(), nullable=False),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["cart_pk"], ["shared_cart.id"], name=op.f("fk_shared_cart_series_cart_pk_shared_cart")
        ),
        sa.PrimaryKeyConstraint("cart_pk", "series_instance_uid", name=op.f("pk_shared_cart_series")),
    )


def downgrade() -> None:
    op.drop_table("shared_cart_series")
    op.drop_table("shared_cart")
    op.drop_index(op.f("ix_patient_patient_id"), table_name="patient")
    with op.batch_alter_table("instance") as batch:
        batch.drop_column("crc32")
        batch.drop_column("md5")
        batch.drop_column("acquisition_number")
    with op.batch_alter_table("collection") as batch:
        batch.drop_column("license_uri")
        batch.drop_column("license_name")
        batch.drop_column("doi")
