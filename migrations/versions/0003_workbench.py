"""the operators' workbench: users, API keys as rows (create, revoke), members' display names

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "admin_user",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("shop_id", BIGID, nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("is_superuser", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_index("ix_admin_user_shop_id", "admin_user", ["shop_id"])
    op.create_table(
        "api_key",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("shop_id", BIGID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_index("ix_api_key_shop_id", "api_key", ["shop_id"])
    # Each shop's one key becomes its first row; its clear text was never stored, so the prefix is unknown.
    op.execute(
        "INSERT INTO api_key (shop_id, name, prefix, key_hash, created_by, created_at) "
        "SELECT id, 'initial key', 'fx_…', api_key_hash, 'migration', created_at FROM shop"
    )
    with op.batch_alter_table("shop") as batch_op:
        batch_op.drop_column("api_key_hash")
    with op.batch_alter_table("member") as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("member") as batch_op:
        batch_op.drop_column("display_name")
    with op.batch_alter_table("shop") as batch_op:
        batch_op.add_column(sa.Column("api_key_hash", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE shop SET api_key_hash = (SELECT min(key_hash) FROM api_key "
        "WHERE api_key.shop_id = shop.id AND api_key.revoked_at IS NULL)"
    )
    op.execute("UPDATE shop SET api_key_hash = 'revoked-' || id WHERE api_key_hash IS NULL")
    with op.batch_alter_table("shop") as batch_op:
        batch_op.alter_column("api_key_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("shop_api_key_hash_key", ["api_key_hash"])
    op.drop_index("ix_api_key_shop_id", table_name="api_key")
    op.drop_table("api_key")
    op.drop_index("ix_admin_user_shop_id", table_name="admin_user")
    op.drop_table("admin_user")
