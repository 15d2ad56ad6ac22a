"""Genomics and clinical data keyed by TCGA participant barcode: sources, mutations, clinical facts, labels.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _source_fk(table: str) -> sa.Column[int]:
    return sa.Column(
        "source_id",
        sa.Integer(),
        sa.ForeignKey("genomic_source.id", name=op.f(f"fk_{table}_source_id_genomic_source")),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "genomic_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_stored", sa.Integer(), nullable=False),
        sa.Column("rows_linked", sa.Integer(), nullable=False),
        sa.Column("rows_unmatched", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_genomic_source")),
        sa.UniqueConstraint("kind", "sha256", name=op.f("uq_genomic_source_kind_sha256")),
    )
    op.create_table(
        "mutation",
        sa.Column("id", sa.Integer(), nullable=False),
        _source_fk("mutation"),
        sa.Column("participant", sa.String(length=12), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=True),
        sa.Column("sample_barcode", sa.String(length=64), nullable=True),
        sa.Column("hugo_symbol", sa.String(length=64), nullable=False),
        sa.Column("variant_classification", sa.String(length=64), nullable=True),
        sa.Column("variant_type", sa.String(length=16), nullable=True),
        sa.Column("hgvsp_short", sa.String(length=256), nullable=True),
        sa.Column("chromosome", sa.String(length=16), nullable=True),
        sa.Column("start_position", sa.BigInteger(), nullable=True),
        sa.Column("end_position", sa.BigInteger(), nullable=True),
        sa.Column("reference_allele", sa.Text(), nullable=True),
        sa.Column("tumor_seq_allele2", sa.Text(), nullable=True),
        sa.Column("t_depth", sa.Integer(), nullable=True),
        sa.Column("t_alt_count", sa.Integer(), nullable=True),
        sa.Column("ncbi_build", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mutation")),
    )
    op.create_index(op.f("ix_mutation_source_id"), "mutation", ["source_id"])
    op.create_index(op.f("ix_mutation_participant"), "mutation", ["participant"])
    op.create_index("ix_mutation_hugo_symbol_participant", "mutation", ["hugo_symbol", "participant"])
    op.create_table(
        "clinical",
        sa.Column("id", sa.Integer(), nullable=False),
        _source_fk("clinical"),
        sa.Column("participant", sa.String(length=12), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=True),
        sa.Column("vital_status", sa.String(length=16), nullable=True),
        sa.Column("days_to_death", sa.Integer(), nullable=True),
        sa.Column("days_to_last_follow_up", sa.Integer(), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("race", sa.String(length=128), nullable=True),
        sa.Column("ethnicity", sa.String(length=128), nullable=True),
        sa.Column("age_at_diagnosis", sa.Integer(), nullable=True),
        sa.Column("primary_diagnosis", sa.String(length=256), nullable=True),
        sa.Column("ajcc_pathologic_stage", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinical")),
        sa.UniqueConstraint("source_id", "participant", name=op.f("uq_clinical_source_id_participant")),
    )
    op.create_index(op.f("ix_clinical_source_id"), "clinical", ["source_id"])
    op.create_index(op.f("ix_clinical_participant"), "clinical", ["participant"])
    op.create_table(
        "label_field",
        sa.Column("id", sa.Integer(), nullable=False),
        _source_fk("label_field"),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("value_type", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_field")),
        sa.UniqueConstraint("source_id", "name", name=op.f("uq_label_field_source_id_name")),
    )
    op.create_index(op.f("ix_label_field_source_id"), "label_field", ["source_id"])
    op.create_table(
        "label",
        sa.Column("id", sa.Integer(), nullable=False),
        _source_fk("label"),
        sa.Column("participant", sa.String(length=12), nullable=False),
        sa.Column("project", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("value_text", sa.String(length=1024), nullable=True),
        sa.Column("value_number", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label")),
    )
    op.create_index(op.f("ix_label_source_id"), "label", ["source_id"])
    op.create_index(op.f("ix_label_participant"), "label", ["participant"])
    op.create_index("ix_label_name_participant", "label", ["name", "participant"])


def downgrade() -> None:
    for table in ("label", "label_field", "clinical", "mutation", "genomic_source"):
        op.drop_table(table)
