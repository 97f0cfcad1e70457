"""money-safe edges: inbox body dedupe and ignore reasons

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
        batch_op.alter_column("order_amount", server_default=None)


def downgrade():
    with op.batch_alter_table("refund") as batch_op:
        batch_op.drop_column("order_amount")
    with op.batch_alter_table("inbox_event") as batch_op:
        batch_op.drop_constraint("uq_inbox_event_body", type_="unique")
        batch_op.drop_column("reason")
        batch_op.drop_column("body_sha256")
