"""The part of the ERPNext (v15) schema creditctl reads and writes, as SQLAlchemy Core tables.

Table and column names and types follow ERPNext's MariaDB DDL (Frappe's type mapping):
document names and Link/Data/Select fields ``varchar(140)``, Currency/Float/Percent fields
``decimal(21,9)``, Date ``date``, Datetime ``datetime(6)``, Check ``int(1)``, ``docstatus``
``int(1)``, ``idx`` ``int(8)``, Int ``int(11)``, Text Editor ``longtext``. Only the columns this
connector uses are declared: the real tables have many more, which the connector never touches.

The same metadata creates the demo ERP (SQLite) and the test databases; on MariaDB the
``with_variant`` types render exactly as ERPNext's DDL. Indexes are ERPNext's where the
connector's queries depend on them (``search_index`` fields, ``on_doctype_update`` composites,
Frappe's ``parent`` index on child tables): the reads probe by customer / party, never relying on
an index a real ERPNext lacks. Money columns are declared with
``asdecimal=False`` so every driver hands back floats (the canonical frames are float64).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql

_MARIADB = ("mysql", "mariadb")

metadata = MetaData()


def _money() -> Numeric:
    """Frappe Currency / Float / Percent: decimal(21,9)."""
    return Numeric(21, 9, asdecimal=False)


def _check() -> Integer:
    """Frappe Check (and docstatus): int(1)."""
    return Integer().with_variant(mysql.INTEGER(display_width=1), *_MARIADB)


def _int(width: int = 11) -> Integer:
    return Integer().with_variant(mysql.INTEGER(display_width=width), *_MARIADB)


def _datetime() -> DateTime:
    """Frappe Datetime (creation, modified): datetime(6)."""
    return DateTime().with_variant(mysql.DATETIME(fsp=6), *_MARIADB)


def _longtext() -> Text:
    return Text().with_variant(mysql.LONGTEXT(), *_MARIADB)


def _table(name: str, *columns: Column | Index) -> Table:
    return Table(
        name,
        metadata,
        *columns,
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )


def _pk() -> Column:
    return Column("name", String(140), primary_key=True)


company = _table(
    "tabCompany",
    _pk(),
    Column("default_currency", String(140)),
    Column("country", String(140)),
    Column("credit_limit", _money(), nullable=False, server_default="0"),
)

customer_group = _table(
    "tabCustomer Group",
    _pk(),
)

payment_terms_template = _table(
    "tabPayment Terms Template",
    _pk(),
)

payment_terms_template_detail = _table(
    "tabPayment Terms Template Detail",
    _pk(),
    Column("parent", String(140)),
    Column("parenttype", String(140)),
    Column("parentfield", String(140)),
    Column("idx", _int(8), nullable=False, server_default="0"),
    Column("credit_days", _int(), nullable=False, server_default="0"),
    Index("ix_ptt_detail_parent", "parent"),
)

customer = _table(
    "tabCustomer",
    _pk(),
    Column("creation", _datetime()),
    Column("modified", _datetime()),
    Column("customer_name", String(140)),
    Column("customer_group", String(140)),
    Column("territory", String(140)),
    Column("default_currency", String(140)),
    Column("payment_terms", String(140)),
    Column("is_frozen", _check(), nullable=False, server_default="0"),
    Column("disabled", _check(), nullable=False, server_default="0"),
)

customer_credit_limit = _table(
    "tabCustomer Credit Limit",
    _pk(),
    Column("creation", _datetime()),
    Column("modified", _datetime()),
    Column("parent", String(140)),
    Column("parenttype", String(140)),
    Column("parentfield", String(140)),
    Column("idx", _int(8), nullable=False, server_default="0"),
    Column("company", String(140)),
    Column("credit_limit", _money(), nullable=False, server_default="0"),
    Column("bypass_credit_limit_check", _check(), nullable=False, server_default="0"),
    Index("ix_ccl_parent", "parent"),
)

sales_invoice = _table(
    "tabSales Invoice",
    _pk(),
    Column("customer", String(140)),
    Column("company", String(140)),
    Column("posting_date", Date, nullable=False),
    Column("due_date", Date),
    Column("currency", String(140)),
    Column("conversion_rate", _money(), nullable=False, server_default="0"),
    Column("grand_total", _money(), nullable=False, server_default="0"),
    Column("base_grand_total", _money(), nullable=False, server_default="0"),
    Column("outstanding_amount", _money(), nullable=False, server_default="0"),
    Column("is_return", _check(), nullable=False, server_default="0"),
    Column("return_against", String(140)),
    Column("docstatus", _check(), nullable=False, server_default="0"),
    Column("status", String(140)),
    Index("ix_sinv_customer", "customer"),
    Index("ix_sinv_company", "company"),
)

payment_schedule = _table(
    "tabPayment Schedule",
    _pk(),
    Column("parent", String(140)),
    Column("parenttype", String(140)),
    Column("parentfield", String(140)),
    Column("idx", _int(8), nullable=False, server_default="0"),
    Column("due_date", Date, nullable=False),
    Column("payment_amount", _money(), nullable=False, server_default="0"),
    Column("outstanding", _money(), nullable=False, server_default="0"),
    Column("paid_amount", _money(), nullable=False, server_default="0"),
    Column("base_payment_amount", _money(), nullable=False, server_default="0"),
    Index("ix_ps_parent", "parent"),
)

payment_ledger_entry = _table(
    "tabPayment Ledger Entry",
    _pk(),
    Column("posting_date", Date),
    Column("company", String(140)),
    Column("account_type", String(140)),
    Column("party_type", String(140)),
    Column("party", String(140)),
    Column("voucher_type", String(140)),
    Column("voucher_no", String(140)),
    Column("against_voucher_type", String(140)),
    Column("against_voucher_no", String(140)),
    Column("amount", _money(), nullable=False, server_default="0"),
    Column("amount_in_account_currency", _money(), nullable=False, server_default="0"),
    Column("account_currency", String(140)),
    Column("due_date", Date),
    Column("delinked", _check(), nullable=False, server_default="0"),
    Column("is_cancelled", _check(), nullable=False, server_default="0"),
    # ERPNext's own: search_index fields, plus on_doctype_update's two composites
    Index("ix_ple_posting_date", "posting_date"),
    Index("ix_ple_party_type", "party_type"),
    Index("ix_ple_voucher_type", "voucher_type"),
    Index("ix_ple_against_voucher_type", "against_voucher_type"),
    Index("ix_ple_against_voucher_no", "against_voucher_no"),
    Index("ix_ple_voucher_no", "voucher_no"),
    Index("ix_ple_party", "party"),
    Index("ix_ple_company", "company"),
    Index("ix_ple_against_voucher", "against_voucher_no", "against_voucher_type"),
    Index("ix_ple_voucher", "voucher_no", "voucher_type"),
)

sales_order = _table(
    "tabSales Order",
    _pk(),
    Column("modified", _datetime()),
    Column("customer", String(140)),
    Column("company", String(140)),
    Column("transaction_date", Date),
    Column("delivery_date", Date),
    Column("currency", String(140)),
    Column("grand_total", _money(), nullable=False, server_default="0"),
    Column("base_grand_total", _money(), nullable=False, server_default="0"),
    Column("per_billed", _money(), nullable=False, server_default="0"),
    Column("per_delivered", _money(), nullable=False, server_default="0"),
    Column("status", String(140)),
    Column("docstatus", _check(), nullable=False, server_default="0"),
    Index("ix_so_customer", "customer"),
    Index("ix_so_company", "company"),
)

comment = _table(
    "tabComment",
    _pk(),
    Column("creation", _datetime()),
    Column("modified", _datetime()),
    Column("owner", String(140)),
    Column("comment_type", String(140)),
    Column("reference_doctype", String(140)),
    Column("reference_name", String(140)),
    Column("content", _longtext()),
    Index("ix_comment_reference_name", "reference_name"),
)

#: Frappe's document history: one row per change of a document, ``data`` a JSON of the changed
#: fields' old/new values; creditctl writes one per change it makes, owner = its ERP user
version = _table(
    "tabVersion",
    _pk(),
    Column("creation", _datetime()),
    Column("modified", _datetime()),
    Column("modified_by", String(140)),
    Column("owner", String(140)),
    Column("docstatus", _check(), nullable=False, server_default="0"),
    Column("idx", _int(8), nullable=False, server_default="0"),
    Column("ref_doctype", String(140)),
    Column("docname", String(140)),
    Column("data", _longtext()),
    Column("table_html", _longtext()),
    Index("ix_version_ref_doctype_docname", "ref_doctype", "docname"),
)

currency_exchange = _table(
    "tabCurrency Exchange",
    _pk(),
    Column("date", Date, nullable=False),
    Column("from_currency", String(140), nullable=False),
    Column("to_currency", String(140), nullable=False),
    Column("exchange_rate", _money(), nullable=False, server_default="0"),
    Column("for_buying", _check(), nullable=False, server_default="1"),
    Column("for_selling", _check(), nullable=False, server_default="1"),
)

dunning = _table(
    "tabDunning",
    _pk(),
    Column("customer", String(140)),
    Column("company", String(140)),
    Column("posting_date", Date),
    Column("docstatus", _check(), nullable=False, server_default="0"),
    Column("dunning_type", String(140)),
)

overdue_payment = _table(
    "tabOverdue Payment",
    _pk(),
    Column("parent", String(140)),
    Column("parenttype", String(140)),
    Column("parentfield", String(140)),
    Column("idx", _int(8), nullable=False, server_default="0"),
    Column("sales_invoice", String(140)),
    Column("payment_schedule", String(140)),
    Index("ix_overdue_payment_sales_invoice", "sales_invoice"),
)


def create_all(bind) -> None:
    """Create the tables (used for the demo ERP and tests; never run against a real ERPNext)."""
    metadata.create_all(bind)
