"""Governance: access levels and publication embargo on collections, sites and ISS groups, users, grants,
API tokens and the audit trail.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("collection") as batch:
        batch.add_column(sa.Column("cancer_type", sa.String(length=256), nullable=True))
        batch.add_column(
            sa.Column("access_level", sa.String(length=16), server_default="public", nullable=False)
        )
        batch.add_column(
            sa.Column("restricted_until_embargo_end", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("embargo_threshold", sa.Integer(), server_default="100", nullable=False))
        batch.add_column(sa.Column("embargo_window_days", sa.Integer(), server_default="365", nullable=False))
        batch.add_column(sa.Column("hundredth_case_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("embargo_ends_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("embargo_set_by_curator", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("patient") as batch:
        batch.add_column(sa.Column("site_code", sa.String(length=16), nullable=True))
        batch.create_index("ix_patient_collection_id_site_code", ["collection_id", "site_code"])
    op.create_table(
        "site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
        sa.UniqueConstraint("code", name=op.f("uq_site_code")),
    )
    op.create_table(
        "iss_member",
        sa.Column("site_pk", sa.Integer(), nullable=False),
        sa.Column("collection_pk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["site_pk"], ["site.id"], name=op.f("fk_iss_member_site_pk_site")),
        sa.ForeignKeyConstraint(
            ["collection_pk"], ["collection.id"], name=op.f("fk_iss_member_collection_pk_collection")
        ),
        sa.PrimaryKeyConstraint("site_pk", "collection_pk", name=op.f("pk_iss_member")),
    )
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("is_admin", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("name", name=op.f("uq_app_user_name")),
    )
    op.create_table(
        "user_site",
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("site_pk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_pk"], ["app_user.id"], name=op.f("fk_user_site_user_pk_app_user")),
        sa.ForeignKeyConstraint(["site_pk"], ["site.id"], name=op.f("fk_user_site_site_pk_site")),
        sa.PrimaryKeyConstraint("user_pk", "site_pk", name=op.f("pk_user_site")),
    )
    op.create_table(
        "access_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("collection_pk", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_pk"], ["app_user.id"], name=op.f("fk_access_grant_user_pk_app_user")),
        sa.ForeignKeyConstraint(
            ["collection_pk"], ["collection.id"], name=op.f("fk_access_grant_collection_pk_collection")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_grant")),
    )
    op.create_index(op.f("ix_access_grant_user_pk"), "access_grant", ["user_pk"])
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_pk", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parent_pk", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_pk"], ["app_user.id"], name=op.f("fk_api_token_user_pk_app_user")),
        sa.ForeignKeyConstraint(
            ["parent_pk"], ["api_token.id"], name=op.f("fk_api_token_parent_pk_api_token")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_index(op.f("ix_api_token_user_pk"), "api_token", ["user_pk"])
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=256), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index(op.f("ix_audit_event_at"), "audit_event", ["at"])


def downgrade() -> None:
    for table in ("audit_event", "api_token", "access_grant", "user_site", "app_user", "iss_member", "site"):
        op.drop_table(table)
    with op.batch_alter_table("patient") as batch:
        batch.drop_index("ix_patient_collection_id_site_code")
        batch.drop_column("site_code")
    with op.batch_alter_table("collection") as batch:
        for column in (
            "embargo_set_by_curator",
            "embargo_ends_at",
            "hundredth_case_at",
            "embargo_window_days",
            "embargo_threshold",
            "restricted_until_embargo_end",
            "access_level",
            "cancer_type",
        ):
            batch.drop_column(column)
