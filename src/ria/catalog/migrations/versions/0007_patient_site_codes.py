"""Backfill patient site codes: a TCGA barcode PatientID's tissue source site (TCGA-05-4244 → 05).

Data only. Rows written since 0006 get their code from the writer; this fills in the patients
catalogued before, so a collection's ISS group (and the visibility rule that reads it) is right
for old archives too. Plain, portable SQL (the same statement on SQLite and PostgreSQL); it
checks the barcode's shape (``TCGA-`` and a dash after the two-character site) rather than every
character, which the writer's stricter rule (``ria.catalog.accrual.site_code_of``) does.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 07:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE patient SET site_code = upper(substr(patient_id, 6, 2)) "
        "WHERE site_code IS NULL AND upper(substr(patient_id, 1, 5)) = 'TCGA-' "
        "AND substr(patient_id, 8, 1) = '-' AND length(patient_id) >= 12"
    )


def downgrade() -> None:
    # The codes are derived data that 0006's schema already holds; nothing to undo.
    pass
