"""Quarantine: instances held for a curator because their pixels may carry burned-in text.

Held instances are kept in their own table, outside the collection > patient > study >
series > instance tree that every serving query reads, until ``ria review release``
moves them into it or ``ria review reject`` drops them (their blobs are then garbage).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_name", sa.String(length=64), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("crc32", sa.BigInteger(), nullable=True),
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint("sop_instance_uid", name=op.f("uq_quarantine_sop_instance_uid")),
    )
    op.create_index(op.f("ix_quarantine_collection_name"), "quarantine", ["collection_name"])
    # gc merges the held instances' keys with the catalogued ones in key order.
    op.create_index(op.f("ix_quarantine_blob_key"), "quarantine", ["blob_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_quarantine_blob_key"), table_name="quarantine")
    op.drop_index(op.f("ix_quarantine_collection_name"), table_name="quarantine")
    op.drop_table("quarantine")
