"""carbon: the market (碳汇交易): listings, orders, trades with DvP settlement, benefit sharing, surveillance

Revision ID: carbon_0004
Revises: carbon_0003
Create Date: 2026-12-03 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govgrid.core.db

revision = "carbon_0004"
down_revision = "carbon_0003"
branch_labels = None
depends_on = None

TABLES = (
    "carbon_market_certificates",
    "carbon_market_flags",
    "carbon_benefit_entries",
    "carbon_benefit_shares",
    "carbon_market_deliveries",
    "carbon_market_trades",
    "carbon_market_orders",
    "carbon_market_reservations",
    "carbon_market_listings",
    "carbon_market_members",
)


def upgrade() -> None:
    op.create_table(
        "carbon_market_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["carbon_accounts.id"],
            name=op.f("fk_carbon_market_members_account_id_carbon_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_carbon_market_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_market_members")),
        sa.UniqueConstraint("user_id", name=op.f("uq_carbon_market_members_user_id")),
    )
    op.create_index(
        op.f("ix_carbon_market_members_account_id"), "carbon_market_members", ["account_id"], unique=False
    )
    op.create_table(
        "carbon_market_listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("counterparty_account_id", sa.Integer(), nullable=True),
        sa.Column("vintage_start", sa.Integer(), nullable=False),
        sa.Column("vintage_end", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("closing_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("price > 0", name=op.f("ck_carbon_market_listings_listing_price_positive")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_carbon_market_listings_listing_quantity_positive")),
        sa.CheckConstraint(
            "remaining >= 0 AND remaining <= quantity",
            name=op.f("ck_carbon_market_listings_listing_remaining_range"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["carbon_accounts.id"],
            name=op.f("fk_carbon_market_listings_account_id_carbon_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["counterparty_account_id"],
            ["carbon_accounts.id"],
            name=op.f("fk_carbon_market_listings_counterparty_account_id_carbon_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["division_code"],
            ["divisions.code"],
            name=op.f("fk_carbon_market_listings_division_code_divisions"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["carbon_projects.id"],
            name=op.f("fk_carbon_market_listings_project_id_carbon_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_market_listings")),
    )
    op.create_index(
        op.f("ix_carbon_market_listings_account_id"), "carbon_market_listings", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_carbon_market_listings_division_code"),
        "carbon_market_listings",
        ["division_code"],
        unique=False,
    )
    op.create_index(op.f("ix_carbon_market_listings_mode"), "carbon_market_listings", ["mode"], unique=False)
    op.create_index(
        op.f("ix_carbon_market_listings_project_id"), "carbon_market_listings", ["project_id"], unique=False
    )
    op.create_index(
        op.f("ix_carbon_market_listings_status"), "carbon_market_listings", ["status"], unique=False
    )
    op.create_table(
        "carbon_market_reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("block_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["block_id"],
            ["carbon_credit_blocks.id"],
            name=op.f("fk_carbon_market_reservations_block_id_carbon_credit_blocks"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["carbon_market_listings.id"],
            name=op.f("fk_carbon_market_reservations_listing_id_carbon_market_listings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_market_reservations")),
        sa.UniqueConstraint("block_id", name=op.f("uq_carbon_market_reservations_block_id")),
    )
    op.create_index(
        op.f("ix_carbon_market_reservations_listing_id"),
        "carbon_market_reservations",
        ["listing_id"],
        unique=False,
    )
    op.create_table(
        "carbon_market_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("filled", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("disclose_buyer", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_carbon_market_orders_order_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["carbon_accounts.id"],
            name=op.f("fk_carbon_market_orders_account_id_carbon_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["carbon_market_listings.id"],
            name=op.f("fk_carbon_market_orders_listing_id_carbon_market_listings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_market_orders")),
    )
    op.create_index(
        op.f("ix_carbon_market_orders_account_id"), "carbon_market_orders", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_carbon_market_orders_listing_id"), "carbon_market_orders", ["listing_id"], unique=False
    )
    op.create_index(op.f("ix_carbon_market_orders_status"), "carbon_market_orders", ["status"], unique=False)
    op.create_table(
        "carbon_market_trades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=32), nullable=False),
        sa.Column("seller_account_id", sa.Integer(), nullable=False),
        sa.Column("buyer_account_id", sa.Integer(), nullable=False),
        sa.Column("vintage_start", sa.Integer(), nullable=False),
        sa.Column("vintage_end", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("fee", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("disclose_buyer", sa.Boolean(), nullable=False),
        sa.Column("pay_by", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payment_ref", sa.String(length=64), nullable=True),
        sa.Column("paid_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("settled_by", sa.String(length=64), nullable=True),
        sa.Column("settled_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_carbon_market_trades_trade_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["buyer_account_id"],
            ["carbon_accounts.id"],
            name=op.f("fk_carbon_market_trades_buyer_account_id_carbon_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["division_code"],
            ["divisions.code"],
            name=op.f("fk_carbon_market_trades_division_code_divisions"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["carbon_market_listings.id"],
            name=op.f("fk_carbon_market_trades_listing_id_carbon_market_listings"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["carbon_market_orders.id"],
            name=op.f("fk_carbon_market_trades_order_id_carbon_market_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["carbon_projects.id"],
            name=op.f("fk_carbon_market_trades_project_id_carbon_projects"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_account_id"],
            ["carbon_accounts.id"],
            name=op.f("fk_carbon_market_trades_seller_account_id_carbon_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_market_trades")),
    )
    op.create_index(
        op.f("ix_carbon_market_trades_buyer_account_id"),
        "carbon_market_trades",
        ["buyer_account_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_carbon_market_trades_created_at"), "carbon_market_trades", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_carbon_market_trades_division_code"), "carbon_market_trades", ["division_code"], unique=False
    )
    op.create_index(
        op.f("ix_carbon_market_trades_listing_id"), "carbon_market_trades", ["listing_id"], unique=False
    )
    op.create_index(
        op.f("ix_carbon_market_trades_order_id"), "carbon_market_trades", ["order_id"], unique=False
    )
    op.create_index(
        op.f("ix_carbon_market_trades_project_id"), "carbon_market_trades", ["project_id"], unique=False
    )
    op.create_index(
        op.f("ix_carbon_market_trades_seller_account_id"),
        "carbon_market_trades",
        ["seller_account_id"],
        unique=False,
    )
    op.create_index(op.f("ix_carbon_market_trades_status"), "carbon_market_trades", ["status"], unique=False)
    op.create_table(
        "carbon_market_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("block_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["block_id"],
            ["carbon_credit_blocks.id"],
            name=op.f("fk_carbon_market_deliveries_block_id_carbon_credit_blocks"),
        ),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["carbon_market_trades.id"],
            name=op.f("fk_carbon_market_deliveries_trade_id_carbon_market_trades"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_market_deliveries")),
        sa.UniqueConstraint("block_id", name=op.f("uq_carbon_market_deliveries_block_id")),
    )
    op.create_index(
        op.f("ix_carbon_market_deliveries_trade_id"), "carbon_market_deliveries", ["trade_id"], unique=False
    )
    op.create_table(
        "carbon_benefit_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("share_bp", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "share_bp > 0 AND share_bp <= 10000", name=op.f("ck_carbon_benefit_shares_share_range")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["carbon_projects.id"],
            name=op.f("fk_carbon_benefit_shares_project_id_carbon_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_benefit_shares")),
        sa.UniqueConstraint("project_id", "name", name="uq_carbon_benefit_shares_project_name"),
    )
    op.create_index(
        op.f("ix_carbon_benefit_shares_project_id"), "carbon_benefit_shares", ["project_id"], unique=False
    )
    op.create_table(
        "carbon_benefit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("share_bp", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["carbon_projects.id"],
            name=op.f("fk_carbon_benefit_entries_project_id_carbon_projects"),
        ),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["carbon_market_trades.id"],
            name=op.f("fk_carbon_benefit_entries_trade_id_carbon_market_trades"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_benefit_entries")),
    )
    op.create_index(op.f("ix_carbon_benefit_entries_name"), "carbon_benefit_entries", ["name"], unique=False)
    op.create_index(
        op.f("ix_carbon_benefit_entries_project_id"), "carbon_benefit_entries", ["project_id"], unique=False
    )
    op.create_index(
        op.f("ix_carbon_benefit_entries_trade_id"), "carbon_benefit_entries", ["trade_id"], unique=False
    )
    op.create_table(
        "carbon_market_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["division_code"], ["divisions.code"], name=op.f("fk_carbon_market_flags_division_code_divisions")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["carbon_projects.id"],
            name=op.f("fk_carbon_market_flags_project_id_carbon_projects"),
        ),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["carbon_market_trades.id"],
            name=op.f("fk_carbon_market_flags_trade_id_carbon_market_trades"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_market_flags")),
    )
    op.create_index(
        op.f("ix_carbon_market_flags_division_code"), "carbon_market_flags", ["division_code"], unique=False
    )
    op.create_index(op.f("ix_carbon_market_flags_kind"), "carbon_market_flags", ["kind"], unique=False)
    op.create_index(
        op.f("ix_carbon_market_flags_project_id"), "carbon_market_flags", ["project_id"], unique=False
    )
    op.create_index(op.f("ix_carbon_market_flags_status"), "carbon_market_flags", ["status"], unique=False)
    op.create_index(
        op.f("ix_carbon_market_flags_trade_id"), "carbon_market_flags", ["trade_id"], unique=False
    )
    op.create_table(
        "carbon_market_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("beneficiary", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("serials", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["carbon_projects.id"],
            name=op.f("fk_carbon_market_certificates_project_id_carbon_projects"),
        ),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["carbon_market_trades.id"],
            name=op.f("fk_carbon_market_certificates_trade_id_carbon_market_trades"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_market_certificates")),
        sa.UniqueConstraint("number", name=op.f("uq_carbon_market_certificates_number")),
    )
    op.create_index(
        op.f("ix_carbon_market_certificates_project_id"),
        "carbon_market_certificates",
        ["project_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_carbon_market_certificates_trade_id"),
        "carbon_market_certificates",
        ["trade_id"],
        unique=False,
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    for table in TABLES:  # dependants first; their indexes go with them
        op.drop_table(table)
