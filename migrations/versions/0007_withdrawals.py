"""withdrawals: the shop's settings, payees, withdrawals, approvals, payouts; notices to distributors

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id():
    return sa.Column("id", BIGID, primary_key=True, autoincrement=True)


def _shop():
    return sa.Column("shop_id", BIGID, sa.ForeignKey("shop.id"), nullable=False)


def upgrade():
    op.create_table(
        "withdrawal_settings",
        sa.Column("shop_id", BIGID, sa.ForeignKey("shop.id"), primary_key=True),
        sa.Column("tax_policy", sa.String(32), nullable=False),
        sa.Column("minimum", sa.BigInteger(), nullable=False),
        sa.Column("per_transaction", sa.BigInteger(), nullable=True),
        sa.Column("daily", sa.BigInteger(), nullable=True),
        sa.Column("monthly", sa.BigInteger(), nullable=True),
        sa.Column("channel_caps", sa.JSON(), nullable=False),
        sa.Column("fee_fixed", sa.BigInteger(), nullable=False),
        sa.Column("fee_percent", sa.String(16), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("second_approval_above", sa.BigInteger(), nullable=True),
        sa.Column("auto_approve_up_to", sa.BigInteger(), nullable=True),
        sa.Column("identity_provider", sa.String(16), nullable=False),
        sa.Column("identity_provider_url", sa.String(300), nullable=True),
        sa.Column("gateways", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "payee",
        _id(),
        _shop(),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("real_name_sealed", sa.Text(), nullable=False),
        sa.Column("id_number_sealed", sa.Text(), nullable=False),
        sa.Column("id_number_hash", sa.String(64), nullable=False),
        sa.Column("masked_name", sa.String(80), nullable=False),
        sa.Column("masked_id", sa.String(24), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("account_sealed", sa.Text(), nullable=False),
        sa.Column("masked_account", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.Column("provider", sa.String(16), nullable=True),
        sa.Column("provider_reference", sa.String(128), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("shop_id", "member_id"),
    )
    op.create_index("ix_payee_shop_person", "payee", ["shop_id", "id_number_hash"])
    op.create_table(
        "withdrawal",
        _id(),
        _shop(),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.Column("payee_id", sa.BigInteger(), nullable=False),
        sa.Column("masked_account", sa.String(64), nullable=False),
        sa.Column("id_number_hash", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("approvals_needed", sa.Integer(), nullable=False),
        sa.Column("tax_policy", sa.String(32), nullable=True),
        sa.Column("tax_month", sa.String(7), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("paying_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("shop_id", "member_id", "request_id"),
    )
    op.create_index("ix_withdrawal_shop_status", "withdrawal", ["shop_id", "status", "id"])
    op.create_index("ix_withdrawal_member", "withdrawal", ["shop_id", "member_id", "requested_at"])
    op.create_index("ix_withdrawal_person_month", "withdrawal", ["shop_id", "id_number_hash", "tax_month"])
    op.create_table(
        "withdrawal_approval",
        _id(),
        _shop(),
        sa.Column("withdrawal_id", BIGID, sa.ForeignKey("withdrawal.id"), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("withdrawal_id", "actor"),
    )
    op.create_index("ix_withdrawal_approval_withdrawal_id", "withdrawal_approval", ["withdrawal_id"])
    op.create_table(
        "payout",
        _id(),
        _shop(),
        sa.Column("withdrawal_id", BIGID, sa.ForeignKey("withdrawal.id"), nullable=False, unique=True),
        sa.Column("out_no", sa.String(64), nullable=False, unique=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_check_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_payout_shop_status", "payout", ["shop_id", "status", "next_check_at"])
    op.create_table(
        "notice",
        _id(),
        _shop(),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("subject_type", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_notice_member", "notice", ["shop_id", "member_id", "id"])


def downgrade():
    op.drop_table("notice")
    op.drop_table("payout")
    op.drop_table("withdrawal_approval")
    op.drop_table("withdrawal")
    op.drop_table("payee")
    op.drop_table("withdrawal_settings")
