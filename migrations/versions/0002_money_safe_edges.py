"""money-safe edges: inbox body dedupe and ignore reasons, amount-only refunds, monthly tallies
and attributions, new-buyer claims, the commission ceiling, category trees, campaign tags and
the distributors' regions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("inbox_event") as batch_op:
        batch_op.add_column(sa.Column("body_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.String(length=200), nullable=True))
    inbox = sa.table("inbox_event", sa.column("id"), sa.column("body"), sa.column("body_sha256"))
    conn = op.get_bind()
    for row_id, body in conn.execute(sa.select(inbox.c.id, inbox.c.body)).all():
        digest = hashlib.sha256(bytes(body)).hexdigest()
        conn.execute(inbox.update().where(inbox.c.id == row_id).values(body_sha256=digest))
    with op.batch_alter_table("inbox_event") as batch_op:
        batch_op.alter_column("body_sha256", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(
            "uq_inbox_event_body", ["shop_id", "platform", "topic", "body_sha256"]
        )


    with op.batch_alter_table("refund") as batch_op:
        batch_op.add_column(sa.Column("order_amount", sa.BigInteger(), nullable=False, server_default="0"))
    bigid = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "category",
        sa.Column("shop_id", bigid, sa.ForeignKey("shop.id"), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("parent", sa.String(length=256), nullable=True),
        sa.Column("ancestors", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("shop_id", "name"),
    )
    op.create_table(
        "month_tally",
        sa.Column("id", bigid, primary_key=True),
        sa.Column("shop_id", bigid, sa.ForeignKey("shop.id"), nullable=False),
        sa.Column("member_id", bigid, sa.ForeignKey("member.id"), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("sales", sa.BigInteger(), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("shop_id", "member_id", "month"),
    )
    op.create_table(
        "attribution",
        sa.Column("id", bigid, primary_key=True),
        sa.Column("shop_id", bigid, sa.ForeignKey("shop.id"), nullable=False),
        sa.Column("order_id", bigid, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", bigid, sa.ForeignKey("member.id"), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("region", sa.String(length=128), nullable=False),
        sa.Column("sales_before", sa.BigInteger(), nullable=False),
        sa.Column("commission_before", sa.BigInteger(), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("order_id", "tier"),
    )
    op.create_index("ix_attribution_beneficiary_month", "attribution", ["shop_id", "beneficiary_id", "month"])
    op.create_table(
        "new_buyer_claim",
        sa.Column("shop_id", bigid, sa.ForeignKey("shop.id"), nullable=False),
        sa.Column("buyer_member_id", bigid, sa.ForeignKey("member.id"), nullable=False),
        sa.Column("order_id", bigid, sa.ForeignKey("orders.id"), nullable=False, unique=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("shop_id", "buyer_member_id"),
    )
    with op.batch_alter_table("distributor") as batch_op:
        batch_op.add_column(sa.Column("region", sa.String(length=128), nullable=True))
    with op.batch_alter_table("orders") as batch_op:
        batch_op.add_column(sa.Column("campaign_tags", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("shop") as batch_op:
        batch_op.add_column(sa.Column("commission_ceiling_bp", sa.Integer(), nullable=False, server_default="5000"))


def downgrade():
    with op.batch_alter_table("shop") as batch_op:
        batch_op.drop_column("commission_ceiling_bp")
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_column("campaign_tags")
    with op.batch_alter_table("distributor") as batch_op:
        batch_op.drop_column("region")
    op.drop_table("new_buyer_claim")
    op.drop_index("ix_attribution_beneficiary_month", table_name="attribution")
    op.drop_table("attribution")
    op.drop_table("month_tally")
    op.drop_table("category")
    with op.batch_alter_table("refund") as batch_op:
        batch_op.drop_column("order_amount")
    with op.batch_alter_table("inbox_event") as batch_op:
        batch_op.drop_constraint("uq_inbox_event_body", type_="unique")
        batch_op.drop_column("reason")
        batch_op.drop_column("body_sha256")
