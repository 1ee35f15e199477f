"""ERPNext v15's tables, as SQLAlchemy Core tables built from the generated ``schema_v15.json``.

Nothing here is typed in by hand: every table, column, type, default and index comes from
``schema_v15.json``, which ``gen_schema.py`` generates from ERPNext's own doctype definitions
and Frappe's MariaDB DDL rules (sources, versions and commit in the file's header and in
SOURCES.md). The tables are complete — every column ERPNext creates, not only the ones creditctl
reads — so rows inserted with a few columns get ERPNext's defaults for the rest.

On MariaDB the tables render as Frappe creates them (``varchar(140)``, ``decimal(21,9)``,
``int(1)``, ``datetime(6)``, ``longtext``…, the same engine, row format, character set, key
names). The same metadata creates the demo ERP and test databases on SQLite, with generic types;
there an index is named ``<doctype>__<Frappe's name>`` (``sales_invoice__customer``: SQLite's
index names are per database, not per table). Decimal columns hand back floats on every driver
(``asdecimal=False``): the canonical frames are float64.

Each table is a module attribute named after its doctype (``Sales Invoice`` ->
``sales_invoice``); :data:`tables` maps doctype names to them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
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
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeEngine

#: the generated description of ERPNext v15's tables (see gen_schema.py)
SCHEMA_FILE = Path(__file__).with_name("schema_v15.json")
GENERATED: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))

_MARIADB = ("mysql", "mariadb")
_TYPE = re.compile(r"^(?P<base>[a-z]+)(?:\((?P<args>[\d,]+)\))?$")

metadata = MetaData()


def column_type(sql: str) -> TypeEngine:
    """A generic SQLAlchemy type for a MariaDB column type of Frappe's, rendered exactly on MariaDB."""
    found = _TYPE.match(sql)
    if not found:
        raise ValueError(f"schema_v15.json: unknown column type {sql!r}")
    base, args = found["base"], [int(a) for a in (found["args"] or "").split(",") if a]
    if base == "varchar":
        return String(args[0])
    if base == "int":
        return Integer().with_variant(mysql.INTEGER(display_width=args[0]) if args else mysql.INTEGER(), *_MARIADB)
    if base == "bigint":
        return BigInteger().with_variant(mysql.BIGINT(display_width=args[0]) if args else mysql.BIGINT(), *_MARIADB)
    if base == "decimal":
        return Numeric(*args, asdecimal=False).with_variant(mysql.DECIMAL(*args, asdecimal=False), *_MARIADB)
    if base == "date":
        return Date()
    if base == "datetime":
        return DateTime().with_variant(mysql.DATETIME(fsp=args[0] if args else None), *_MARIADB)
    if base == "time":
        return Time().with_variant(mysql.TIME(fsp=args[0] if args else None), *_MARIADB)
    if base == "text":
        return Text().with_variant(mysql.TEXT(), *_MARIADB)
    if base in ("longtext", "json"):
        # Frappe's JSON is MariaDB's json, an alias of longtext (with a json_valid check)
        return Text().with_variant(mysql.LONGTEXT(), *_MARIADB)
    raise ValueError(f"schema_v15.json: unknown column type {sql!r}")


def _server_default(spec: dict[str, Any]):
    """Frappe's default: numbers bare, text quoted (SQLAlchemy quotes a plain string)."""
    default = spec["default"]
    if default is None:
        return None
    if re.match(r"^(int|bigint|decimal)\b", spec["type"]):
        return text(default)
    return default


def _not_mariadb(ddl, target, bind, state=None, *, dialect, **kw) -> bool:
    return dialect.name not in _MARIADB


def attribute_name(doctype: str) -> str:
    """The module attribute of a doctype's table (``Sales Invoice`` -> ``sales_invoice``)."""
    return doctype.lower().replace(" ", "_").replace("-", "_")


def sqlite_index_name(doctype: str, name: str) -> str:
    """An index's name outside MariaDB: ``<doctype>__<Frappe's name>`` (``sales_invoice__customer``)."""
    return f"{attribute_name(doctype)}__{name}"


def _indexes(table_name: str, spec: dict[str, Any]) -> list[Index | UniqueConstraint]:
    """Frappe's keys: on MariaDB under Frappe's names, elsewhere (SQLite) as sqlite_index_name."""
    out: list[Index | UniqueConstraint] = []
    for index in spec["indexes"]:
        if index["unique"]:
            # MariaDB names a column's unique key after the column, as Frappe's inline "unique"
            out.append(UniqueConstraint(*index["columns"], name=index["name"]))
            continue
        out.append(Index(index["name"], *index["columns"]).ddl_if(dialect=_MARIADB))
        out.append(Index(sqlite_index_name(spec["doctype"], index["name"]), *index["columns"])
                   .ddl_if(callable_=_not_mariadb))
    return out


def build_table(table_name: str, spec: dict[str, Any], meta: MetaData = metadata) -> Table:
    columns = [
        Column(c["name"], column_type(c["type"]), primary_key=bool(c.get("primary_key")),
               nullable=c["nullable"], server_default=_server_default(c))
        for c in spec["columns"]
    ]
    return Table(
        table_name, meta, *columns, *_indexes(table_name, spec),
        mysql_engine=spec["engine"],
        mysql_row_format=spec["row_format"],
        mysql_charset=spec["charset"],
        mysql_collate=spec["collation"],
        info={"doctype": spec["doctype"], "source": spec["source"]},
    )


#: doctype name -> its table
tables: dict[str, Table] = {spec["doctype"]: build_table(name, spec) for name, spec in GENERATED["tables"].items()}


# one module attribute per table (set from the generated file, so that a doctype added to the
# generator needs no edit here; the names are listed for readers and type checkers)
company: Table
currency_exchange: Table
customer: Table
customer_group: Table
customer_credit_limit: Table
payment_terms_template: Table
payment_terms_template_detail: Table
sales_invoice: Table
sales_invoice_item: Table
payment_schedule: Table
payment_ledger_entry: Table
dunning: Table
overdue_payment: Table
sales_order: Table
sales_order_item: Table
delivery_note: Table
delivery_note_item: Table
#: Frappe's comments on documents (``reference_doctype`` / ``reference_name``)
comment: Table
#: Frappe's document history: one row per change of a document, ``data`` a JSON of the changed
#: fields' old/new values
version: Table
#: a user's roles (``parent`` = the user, ``parenttype`` User)
has_role: Table
#: Frappe's values of single doctypes (``doctype``, ``field``, ``value``), e.g. Accounts Settings
singles: Table
globals().update({attribute_name(doctype): table for doctype, table in tables.items()})


def create_all(bind) -> None:
    """Create the tables (used for the demo ERP and tests; never run against a real ERPNext)."""
    metadata.create_all(bind)
