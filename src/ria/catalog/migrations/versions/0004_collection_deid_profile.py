"""A collection may require de-identification on the way in: its profile, recorded on the collection.

Only de-identified data may enter a collection that says so: ingest refuses to
file anything into it without a de-identifier, whoever runs it (CLI or Python).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 23:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("collection") as batch:
        batch.add_column(sa.Column("deid_profile", sa.String(length=256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("collection") as batch:
        batch.drop_column("deid_profile")
