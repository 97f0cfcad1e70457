"""platform connections: each shop's app id, its id on the platform, install state and tokens;
refunds spread over the lines the platform named

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "platform_connection",
        sa.Column("shop_id", BIGID, sa.ForeignKey("shop.id"), primary_key=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=True),
        sa.Column("shop_ref", sa.String(255), nullable=True),
        sa.Column("api_base", sa.String(300), nullable=True),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(), nullable=True),
        sa.Column("refresh_expires_at", sa.DateTime(), nullable=True),
        sa.Column("scopes", sa.String(500), nullable=True),
        sa.Column("oauth_state", sa.String(64), nullable=True),
        sa.Column("oauth_state_expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("connected_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


    # a refund's amount spread over the lines the platform named (Youzan's oids), not all of them
    op.add_column("refund", sa.Column("spread_lines", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("refund", "spread_lines")
    op.drop_table("platform_connection")
