"""The Odoo 17 / 18 tables and columns the connector reads and writes (real names and types).

Only the columns used are declared. Odoo keeps translatable names (``account_payment_term.name``,
``res_partner_industry.name``, ``res_country.name``) as jsonb keyed by language since Odoo 16.

Company-dependent fields differ by version:

* **Odoo 17** stores them in ``ir_property``: one row per (field, record, company) with
  ``res_id = 'res.partner,<id>'`` and ``value_float`` (credit_limit) or
  ``value_reference = 'account.payment.term,<id>'`` (property_payment_term_id); a row with
  ``res_id IS NULL`` is the company default.
* **Odoo 18** dropped ``ir_property``: ``res_partner.credit_limit`` and
  ``res_partner.property_payment_term_id`` are jsonb objects keyed by company id as text,
  ``{"1": 5000.0}`` / ``{"1": 7}``; the company default lives in ``ir_default``.

Tables are built per version by :func:`tables`; :func:`create_schema` creates them for tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    create_engine,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

VERSIONS = (17, 18)


def _id() -> Column:
    return Column("id", Integer, primary_key=True, autoincrement=True)


@dataclass(frozen=True)
class OdooTables:
    version: int
    metadata: MetaData
    res_company: Table
    res_currency: Table
    res_currency_rate: Table
    res_country: Table
    res_partner_industry: Table
    res_partner: Table
    ir_property: Table | None
    ir_model_fields: Table
    ir_default: Table
    account_payment_term: Table
    account_payment_term_line: Table
    account_account: Table
    account_move: Table
    account_move_line: Table
    account_partial_reconcile: Table
    sale_order: Table
    ir_module_module: Table


def _custom_fields() -> tuple[Column, Column]:
    return (Column("x_credit_hold", Boolean, default=False), Column("x_credit_hold_reason", Text))


def tables(version: int, custom_fields: bool = True) -> OdooTables:
    """The Core tables of an Odoo ``version`` (17 or 18) database.

    ``custom_fields``: include sale_order.x_credit_hold / x_credit_hold_reason (added by setup).
    """
    if version not in VERSIONS:
        raise ValueError(f"Odoo version {version!r} is not supported (use 17 or 18)")
    md = MetaData()
    res_company = Table("res_company", md, _id(), Column("name", String, nullable=False),
                        Column("currency_id", Integer, nullable=False))
    res_currency = Table("res_currency", md, _id(), Column("name", String, nullable=False, unique=True),
                         Column("active", Boolean, default=True))
    res_currency_rate = Table("res_currency_rate", md, _id(), Column("name", Date, nullable=False),
                              Column("rate", Numeric), Column("currency_id", Integer, nullable=False),
                              Column("company_id", Integer))
    res_country = Table("res_country", md, _id(), Column("name", JSONB, nullable=False),
                        Column("code", String(2)))
    res_partner_industry = Table("res_partner_industry", md, _id(), Column("name", JSONB),
                                 Column("full_name", JSONB), Column("active", Boolean, default=True))
    partner_cols = [
        _id(), Column("name", String), Column("ref", String), Column("company_id", Integer),
        Column("commercial_partner_id", Integer), Column("parent_id", Integer),
        Column("customer_rank", Integer, default=0), Column("country_id", Integer),
        Column("industry_id", Integer), Column("create_date", DateTime), Column("write_date", DateTime),
        Column("active", Boolean, default=True), Column("sale_warn", String, default="no-message"),
        Column("sale_warn_msg", Text),
    ]
    if version == 18:
        partner_cols += [Column("credit_limit", JSONB(none_as_null=True)),
                         Column("property_payment_term_id", JSONB(none_as_null=True))]
    res_partner = Table("res_partner", md, *partner_cols)
    ir_property = None
    if version == 17:
        ir_property = Table("ir_property", md, _id(), Column("name", String, nullable=False),
                            Column("res_id", String), Column("company_id", Integer),
                            Column("fields_id", Integer, nullable=False, default=0),
                            Column("value_float", Float), Column("value_integer", Integer),
                            Column("value_text", Text), Column("value_binary", Text),
                            Column("value_reference", String), Column("value_datetime", DateTime),
                            Column("type", String, nullable=False, default="many2one"),
                            Column("create_date", DateTime), Column("write_date", DateTime))
    ir_model_fields = Table("ir_model_fields", md, _id(), Column("model", String, nullable=False),
                            Column("name", String, nullable=False), Column("ttype", String))
    ir_default = Table("ir_default", md, _id(), Column("field_id", Integer, nullable=False),
                       Column("user_id", Integer), Column("company_id", Integer), Column("condition", String),
                       Column("json_value", String, nullable=False))
    account_payment_term = Table("account_payment_term", md, _id(), Column("name", JSONB, nullable=False),
                                 Column("active", Boolean, default=True), Column("company_id", Integer))
    account_payment_term_line = Table("account_payment_term_line", md, _id(),
                                      Column("payment_id", Integer, nullable=False),
                                      Column("value", String, default="percent"),
                                      Column("value_amount", Numeric), Column("nb_days", Integer, default=0),
                                      Column("delay_type", String, default="days_after"))
    account_account = Table("account_account", md, _id(), Column("name", JSONB), Column("code", String),
                            Column("account_type", String, nullable=False), Column("company_id", Integer),
                            Column("reconcile", Boolean, default=False))
    account_move = Table(
        "account_move", md, _id(), Column("name", String), Column("move_type", String, nullable=False),
        Column("state", String, nullable=False), Column("date", Date, nullable=False),
        Column("invoice_date", Date), Column("invoice_date_due", Date), Column("partner_id", Integer),
        Column("commercial_partner_id", Integer), Column("company_id", Integer, nullable=False),
        Column("currency_id", Integer, nullable=False), Column("amount_total", Numeric),
        Column("amount_residual", Numeric), Column("amount_total_signed", Numeric),
        Column("amount_residual_signed", Numeric), Column("payment_state", String),
    )
    account_move_line = Table(
        "account_move_line", md, _id(), Column("move_id", Integer, nullable=False),
        Column("move_name", String), Column("account_id", Integer), Column("partner_id", Integer),
        Column("company_id", Integer), Column("date", Date), Column("date_maturity", Date),
        Column("currency_id", Integer, nullable=False), Column("company_currency_id", Integer),
        Column("amount_currency", Numeric), Column("amount_residual_currency", Numeric),
        Column("balance", Numeric), Column("debit", Numeric), Column("credit", Numeric),
        Column("amount_residual", Numeric), Column("reconciled", Boolean), Column("parent_state", String),
        Column("display_type", String), Column("full_reconcile_id", Integer),
    )
    account_partial_reconcile = Table(
        "account_partial_reconcile", md, _id(), Column("debit_move_id", Integer, nullable=False),
        Column("credit_move_id", Integer, nullable=False), Column("amount", Numeric),
        Column("debit_amount_currency", Numeric), Column("credit_amount_currency", Numeric),
        Column("company_id", Integer), Column("max_date", Date),
    )
    sale_order = Table(
        "sale_order", md, _id(), Column("name", String, nullable=False), Column("partner_id", Integer, nullable=False),
        Column("company_id", Integer, nullable=False), Column("state", String),
        Column("date_order", DateTime, nullable=False), Column("currency_id", Integer),
        Column("amount_total", Numeric), Column("amount_to_invoice", Numeric),
        Column("invoice_status", String), Column("locked", Boolean, default=False),
        *(_custom_fields() if custom_fields else ()),
    )
    # the installed modules: the connector refuses apply unless creditctl's addon is 'installed'.
    # Columns as the generated schema_v17/v18.json list them (name NOT NULL UNIQUE; state's ORM
    # default is 'uninstallable'); the other columns are nullable and never read
    ir_module_module = Table("ir_module_module", md, _id(), Column("name", String, nullable=False, unique=True),
                             Column("state", String, default="uninstallable"))
    return OdooTables(version, md, res_company, res_currency, res_currency_rate, res_country,
                      res_partner_industry, res_partner, ir_property, ir_model_fields, ir_default,
                      account_payment_term,
                      account_payment_term_line, account_account, account_move, account_move_line,
                      account_partial_reconcile, sale_order, ir_module_module)


#: the technical name of creditctl's Odoo addon (connectors/odoo/addon/), as ir_module_module.name
ADDON = "creditctl_credit_control"

#: the custom sale_order fields the connector's setup adds (Odoo studio-style ``x_`` names)
SETUP_DDL = (
    "ALTER TABLE sale_order ADD COLUMN IF NOT EXISTS x_credit_hold boolean DEFAULT false",
    "ALTER TABLE sale_order ADD COLUMN IF NOT EXISTS x_credit_hold_reason text",
)


def create_schema(url: str, version: int = 18) -> None:
    """Create the (empty) Odoo tables of ``version`` in the database at ``url`` (tests, fixtures)."""
    t = tables(version, custom_fields=False)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            t.metadata.create_all(conn)
            if version == 17:  # Odoo 17's own unique index, which the connector's lookups use
                conn.execute(text("CREATE UNIQUE INDEX ir_property_unique_index ON ir_property "
                                  "(fields_id, COALESCE(company_id, 0), COALESCE(res_id, ''))"))
    finally:
        engine.dispose()


def add_custom_fields(conn) -> None:
    """Add x_credit_hold / x_credit_hold_reason to sale_order if missing (idempotent)."""
    for ddl in SETUP_DDL:
        conn.execute(text(ddl))
