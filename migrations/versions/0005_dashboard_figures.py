"""the dashboard's figures: day rows per shop, the sweep's mark, and the indexes they are read by

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

INDEXES = [
    ("ix_month_tally_shop_month_sales", "month_tally", ["shop_id", "month", "sales", "commission"]),
    ("ix_attribution_shop_created", "attribution", ["shop_id", "created_at"]),
    ("ix_refund_shop_created", "refund", ["shop_id", "created_at"]),
    ("ix_ledger_transaction_shop_posted", "ledger_transaction", ["shop_id", "posted_at"]),
    ("ix_distributor_shop_created", "distributor", ["shop_id", "created_at"]),
]


def upgrade():
    op.create_table(
        "day_figures",
        sa.Column("shop_id", BIGID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("gmv", sa.BigInteger(), nullable=False),
        sa.Column("orders_with_commission", sa.Integer(), nullable=False),
        sa.Column("commission_tier1", sa.BigInteger(), nullable=False),
        sa.Column("commission_tier2", sa.BigInteger(), nullable=False),
        sa.Column("commission_tier3", sa.BigInteger(), nullable=False),
        sa.Column("new_distributors", sa.Integer(), nullable=False),
        sa.Column("payable_change", sa.BigInteger(), nullable=False),
        sa.Column("paid_change", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"]),
        sa.PrimaryKeyConstraint("shop_id", "day"),
    )
    op.create_table(
        "figures_mark",
        sa.Column("shop_id", BIGID, autoincrement=False, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("covered_until", sa.DateTime(), nullable=True),
        sa.Column("swept_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"]),
        sa.PrimaryKeyConstraint("shop_id"),
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
    op.drop_table("figures_mark")
    op.drop_table("day_figures")
