"""indexes the workbench reads by: team levels, orders by paid time, audit and deliveries by time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:30:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_binding_shop_tier2", "binding", ["shop_id", "tier2_id"]),
    ("ix_binding_shop_tier3", "binding", ["shop_id", "tier3_id"]),
    ("ix_orders_shop_paid_at", "orders", ["shop_id", "paid_at"]),
    ("ix_audit_shop_created", "audit_event", ["shop_id", "created_at"]),
    ("ix_inbox_shop_received", "inbox_event", ["shop_id", "received_at"]),
]


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
