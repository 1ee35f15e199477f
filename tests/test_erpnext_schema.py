"""The ERPNext schema generated from ERPNext v15's doctype definitions (connectors/erpnext).

* ``schema_v15.json`` names its sources: repository, commit, Frappe / ERPNext versions, the
  path and blob of every file read; SOURCES.md lists the same.
* Every column the hand-written schema (before it was generated) declared is in ERPNext v15,
  except the ones listed here, which ERPNext does not have.
* The tables create on SQLite and on the machine's MariaDB (pymysql and pyodbc) exactly as
  the generated file says (types, nullability, defaults, keys, engine, row format), and rows
  inserted with only a name get ERPNext's defaults.
* The generator's Frappe rules, on small doctypes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, inspect, select, text

from connectors.erpnext import gen_schema
from connectors.erpnext import schema as t

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "connectors" / "erpnext"
GENERATED = json.loads((FOLDER / "schema_v15.json").read_text(encoding="utf-8"))
TABLES = GENERATED["tables"]

#: the columns of connectors/erpnext/schema.py as it was hand-written (before this generated one)
HAND_WRITTEN = {
    "tabComment": ["name", "creation", "modified", "owner", "comment_type", "reference_doctype",
                   "reference_name", "content"],
    "tabCompany": ["name", "default_currency", "country", "credit_limit"],
    "tabCurrency Exchange": ["name", "date", "from_currency", "to_currency", "exchange_rate", "for_buying",
                             "for_selling"],
    "tabCustomer": ["name", "creation", "modified", "customer_name", "customer_group", "territory",
                    "default_currency", "payment_terms", "is_frozen", "disabled"],
    "tabCustomer Credit Limit": ["name", "creation", "modified", "parent", "parenttype", "parentfield", "idx",
                                 "company", "credit_limit", "bypass_credit_limit_check"],
    "tabCustomer Group": ["name"],
    "tabDunning": ["name", "customer", "company", "posting_date", "docstatus", "dunning_type"],
    "tabOverdue Payment": ["name", "parent", "parenttype", "parentfield", "idx", "sales_invoice",
                           "payment_schedule"],
    "tabPayment Ledger Entry": ["name", "posting_date", "company", "account_type", "party_type", "party",
                                "voucher_type", "voucher_no", "against_voucher_type", "against_voucher_no",
                                "amount", "amount_in_account_currency", "account_currency", "due_date",
                                "delinked", "is_cancelled"],
    "tabPayment Schedule": ["name", "parent", "parenttype", "parentfield", "idx", "due_date", "payment_amount",
                            "outstanding", "paid_amount", "base_payment_amount"],
    "tabPayment Terms Template": ["name"],
    "tabPayment Terms Template Detail": ["name", "parent", "parenttype", "parentfield", "idx", "credit_days"],
    "tabSales Invoice": ["name", "customer", "company", "posting_date", "due_date", "currency", "conversion_rate",
                         "grand_total", "base_grand_total", "outstanding_amount", "is_return", "return_against",
                         "docstatus", "status"],
    "tabSales Order": ["name", "modified", "customer", "company", "transaction_date", "delivery_date", "currency",
                       "grand_total", "base_grand_total", "per_billed", "per_delivered", "status", "docstatus"],
    "tabVersion": ["name", "creation", "modified", "modified_by", "owner", "docstatus", "idx", "ref_doctype",
                   "docname", "data", "table_html"],
}

#: hand-written columns ERPNext v15 does not have, and what it has instead
NOT_IN_ERPNEXT = {
    ("tabPayment Ledger Entry", "is_cancelled"): "GL Entry's flag; a cancelled voucher's ledger rows are delinked = 1",
    ("tabVersion", "table_html"): "an HTML field of the Version form: no column",
}

MARIADB_URLS = {
    "pymysql": "mysql+pymysql://root@127.0.0.1:3306/{db}?charset=utf8mb4",
    "pyodbc": "mysql+pyodbc://root@127.0.0.1:3306/{db}?driver=MariaDB+Unicode&charset=utf8mb4",
}


# --------------------------------------------------------------------------- sources


def test_the_generated_file_names_its_sources_pinned_to_v15():
    assert GENERATED["repository"] == "GitHub pgborendev/soleappos"
    assert re.fullmatch(r"[0-9a-f]{40}", GENERATED["commit"])
    assert GENERATED["versions"] == {"frappe": "15.103.0", "erpnext": "15.102.0"}
    sources = {s["path"]: s for s in GENERATED["sources"]}
    for source in sources.values():
        assert source["repository"] == GENERATED["repository"]
        assert source["commit"] == GENERATED["commit"]
        assert source["version"] == GENERATED["versions"][source["app"]]
        assert source["path"].startswith(f"apps/{source['app']}/")
        assert re.fullmatch(r"[0-9a-f]{40}", source["blob"])
    # every table's doctype definition, both versions and Frappe's DDL rules were read
    for name, spec in TABLES.items():
        assert spec["source"] in sources
        if name in gen_schema.FRAMEWORK_TABLES:  # Frappe's own tables, from its framework DDL
            assert spec["source"] == gen_schema.FRAMEWORK_SQL
            continue
        assert spec["source"].endswith(f"/doctype/{gen_schema.scrub(spec['doctype'])}/"
                                       f"{gen_schema.scrub(spec['doctype'])}.json")
    assert {"apps/frappe/frappe/__init__.py", "apps/erpnext/erpnext/__init__.py",
            *gen_schema.FRAPPE_FILES.values()} <= set(sources)
    assert sorted(TABLES) == sorted([*(f"tab{d}" for d in gen_schema.DOCTYPES), *gen_schema.FRAMEWORK_TABLES])
    # the Frappe files read are the ones the generator's rules were checked against
    for key, path in gen_schema.FRAPPE_FILES.items():
        assert sources[path]["blob"] == gen_schema.RULES_CHECKED_AGAINST[key]


def test_sources_md_lists_every_file_read():
    md = (FOLDER / "SOURCES.md").read_text(encoding="utf-8")
    assert GENERATED["commit"] in md and GENERATED["repository"] in md
    assert "Frappe 15.103.0" in md and "ERPNext 15.102.0" in md
    for source in GENERATED["sources"]:
        assert f"`{source['path']}`" in md
    assert md == gen_schema.sources_md(GENERATED)


def test_the_file_is_as_the_generator_writes_it():
    """No hand edits: the committed text is the generator's serialisation of its content."""
    assert (FOLDER / "schema_v15.json").read_text(encoding="utf-8") == gen_schema.dumps(GENERATED)


# --------------------------------------------------------------------------- the hand-written schema


def test_every_hand_written_column_is_in_erpnext_v15_or_listed():
    missing = {(table, col) for table, cols in HAND_WRITTEN.items() for col in cols
               if table not in TABLES or col not in {c["name"] for c in TABLES[table]["columns"]}}
    assert missing == set(NOT_IN_ERPNEXT)


def test_the_module_exports_a_table_per_doctype():
    assert {table.name for table in t.metadata.sorted_tables} == set(TABLES)
    for table_name, spec in TABLES.items():
        table = getattr(t, t.attribute_name(spec["doctype"]))
        assert table is t.tables[spec["doctype"]]
        assert table.name == table_name
        assert [c.name for c in table.columns] == [c["name"] for c in spec["columns"]]
    # every table name the module lists for readers is a table of the generated file
    assert set(t.__annotations__) - {"GENERATED", "SCHEMA_FILE", "tables", "metadata"} == \
        {t.attribute_name(spec["doctype"]) for spec in TABLES.values()}
    for name in ("customer", "sales_invoice", "payment_ledger_entry", "version", "comment", "company",
                 "customer_group", "customer_credit_limit", "payment_terms_template",
                 "payment_terms_template_detail", "payment_schedule", "sales_order", "currency_exchange",
                 "dunning", "overdue_payment", "delivery_note", "delivery_note_item", "sales_invoice_item",
                 "sales_order_item", "has_role", "singles", "metadata", "create_all"):
        assert hasattr(t, name), name


#: child tables read without their parent's table: a user's roles (the set-up check reads them)
CHILDREN_WITHOUT_PARENT = {"Has Role"}


def test_every_child_table_belongs_to_a_generated_parent():
    children = {child for spec in TABLES.values() for child in spec["child_tables"].values()}
    for spec in TABLES.values():
        expected = spec["doctype"] in children | CHILDREN_WITHOUT_PARENT
        assert bool(spec["istable"]) == expected, spec["doctype"]
    # the parentfield values creditctl writes are ERPNext's
    assert TABLES["tabCustomer"]["child_tables"]["credit_limits"] == "Customer Credit Limit"
    assert TABLES["tabCustomer Group"]["child_tables"]["credit_limits"] == "Customer Credit Limit"
    assert TABLES["tabPayment Terms Template"]["child_tables"]["terms"] == "Payment Terms Template Detail"
    assert TABLES["tabSales Invoice"]["child_tables"]["payment_schedule"] == "Payment Schedule"
    assert TABLES["tabDunning"]["child_tables"]["overdue_payments"] == "Overdue Payment"


# --------------------------------------------------------------------------- the tables on real servers


def _insert_names(url: str) -> dict[str, dict]:
    """Create the tables, insert a row with only a name in each, read it back."""
    engine = create_engine(url)
    try:
        t.create_all(engine)
        with engine.begin() as conn:
            for table in t.metadata.sorted_tables:
                conn.execute(insert(table), [{"name": "n1"}])
        with engine.connect() as conn:
            return {table.name: dict(conn.execute(select(table)).one()._mapping)
                    for table in t.metadata.sorted_tables}
    finally:
        engine.dispose()


def _assert_frappe_defaults(rows: dict[str, dict]) -> None:
    for table_name, spec in TABLES.items():
        row = rows[table_name]
        for col in spec["columns"]:
            value, default = row[col["name"]], col["default"]
            if col["name"] == "name":
                assert value == "n1"
            elif default is None:
                assert value is None, (table_name, col["name"])
            elif re.match(r"(int|bigint|decimal)", col["type"]):
                assert float(value) == float(default), (table_name, col["name"])
            else:
                assert value == default, (table_name, col["name"])
    # a few of ERPNext's own defaults, spelled out
    assert rows["tabCurrency Exchange"]["for_selling"] == 1
    assert rows["tabSales Invoice"]["status"] == "Draft"
    assert rows["tabComment"]["comment_type"] == "Comment"
    assert rows["tabCustomer"]["is_frozen"] == 0 and rows["tabCustomer"]["docstatus"] == 0


def test_tables_create_on_sqlite_with_erpnexts_defaults(tmp_path):
    url = f"sqlite:///{tmp_path / 'erpnext.sqlite'}"
    _assert_frappe_defaults(_insert_names(url))
    engine = create_engine(url)
    try:
        found = inspect(engine)
        for table_name, spec in TABLES.items():
            indexes = {i["name"]: i["column_names"] for i in found.get_indexes(table_name)}
            want = {t.sqlite_index_name(spec["doctype"], i["name"]): i["columns"]
                    for i in spec["indexes"] if not i["unique"]}
            assert indexes == want
    finally:
        engine.dispose()


def _mariadb_default(col: dict) -> str | None:
    """information_schema.COLUMNS.COLUMN_DEFAULT as MariaDB (>= 10.2.7) reports Frappe's default."""
    if col["default"] is None:
        return "NULL" if col["nullable"] else None
    if re.match(r"(int|bigint|decimal)", col["type"]):
        return col["default"]
    return "'" + col["default"].replace("'", "''") + "'"


@pytest.mark.parametrize("driver", list(MARIADB_URLS))
def test_tables_create_on_mariadb_as_frappe_creates_them(driver, mariadb_database):
    url = MARIADB_URLS[driver].format(db=mariadb_database)
    _assert_frappe_defaults(_insert_names(url))
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            columns = conn.execute(text(
                "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, COLUMN_KEY "
                "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = :db ORDER BY TABLE_NAME, ORDINAL_POSITION"),
                {"db": mariadb_database}).all()
            keys = conn.execute(text(
                "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS "
                "WHERE TABLE_SCHEMA = :db ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"),
                {"db": mariadb_database}).all()
            options = {r[0]: r[1:] for r in conn.execute(text(
                "SELECT TABLE_NAME, ENGINE, ROW_FORMAT, TABLE_COLLATION FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = :db"), {"db": mariadb_database})}
    finally:
        engine.dispose()
    got_columns: dict[str, list] = {}
    for table, name, coltype, nullable, default, _key in columns:
        if coltype.startswith("decimal") and default not in (None, "NULL"):
            default = repr(float(default)).removesuffix(".0")
        got_columns.setdefault(table, []).append((name, coltype, nullable == "YES", default))
    want_columns = {
        table: [(c["name"], c["type"], c["nullable"],
                 _mariadb_default(c) if not c["type"].startswith("decimal") or c["default"] is None
                 else repr(float(c["default"])).removesuffix(".0"))
                for c in spec["columns"]]
        for table, spec in TABLES.items()
    }
    assert got_columns == want_columns
    got_keys: dict[str, dict] = {}
    for table, index, non_unique, column in keys:
        got_keys.setdefault(table, {}).setdefault(index, [not non_unique, []])[1].append(column)
    def primary(spec: dict) -> dict:
        names = [c["name"] for c in spec["columns"] if c.get("primary_key")]
        return {"PRIMARY": [True, names]} if names else {}

    want_keys = {table: {**primary(spec), **{i["name"]: [i["unique"], i["columns"]] for i in spec["indexes"]}}
                 for table, spec in TABLES.items()}
    assert "PRIMARY" not in want_keys["tabSingles"]  # Frappe's tabSingles has no primary key
    assert got_keys == want_keys
    assert options == {table: (spec["engine"], spec["row_format"].capitalize(), spec["collation"])
                       for table, spec in TABLES.items()}


# --------------------------------------------------------------------------- the generator's rules


RULES = gen_schema.FrappeRules(
    # a few entries of Frappe's MariaDB type map (the generator reads the whole map from Frappe)
    type_map={"Data": ("varchar", "140"), "Link": ("varchar", "140"), "Select": ("varchar", "140"),
              "Int": ("int", "11"), "Long Int": ("bigint", "20"), "Check": ("int", "1"),
              "Currency": ("decimal", "21,9"), "Float": ("decimal", "21,9"), "Percent": ("decimal", "21,9"),
              "Date": ("date", ""), "Datetime": ("datetime", "6"), "Text": ("text", ""),
              "Small Text": ("text", ""), "Code": ("longtext", "")},
    varchar_len=140,
    default_columns=("name", "creation", "modified", "modified_by", "owner", "docstatus", "idx"),
    child_table_columns=("parent", "parenttype", "parentfield"),
    optional_columns=("_user_tags", "_comments", "_assign", "_liked_by"),
    default_shortcuts=("_Login", "__user", "_Full Name", "Today", "__today", "now", "Now"),
    table_fields=("Table", "Table MultiSelect"),
    no_value_fields=("Section Break", "Column Break", "Tab Break", "HTML", "Table", "Table MultiSelect", "Button",
                     "Image", "Fold", "Heading"),
    configurable_decimal_types=("Currency", "Float", "Percent"),
    default_decimal_length=21,
    default_decimal_precision=9,
)


@pytest.mark.parametrize("fieldtype, precision, length, sqltype", [
    ("Data", None, None, "varchar(140)"),
    ("Data", None, 10, "varchar(64)"),       # at least 64
    ("Data", None, 240, "varchar(240)"),
    ("Small Text", None, 240, "text"),       # a length does not size text
    ("Int", None, None, "int(11)"),
    ("Int", None, 20, "bigint(20)"),         # over 11: Long Int
    ("Int", None, 4, "int(4)"),
    ("Check", None, None, "int(1)"),
    ("Currency", None, None, "decimal(21,9)"),
    ("Currency", "2", None, "decimal(21,2)"),
    ("Float", "", None, "decimal(21,9)"),
    ("Percent", "30", 18, "decimal(18,18)"),  # precision at most the width
    ("Datetime", None, None, "datetime(6)"),
    ("Table", None, None, None),              # a child table, no column
    ("Button", None, None, None),
])
def test_column_types(fieldtype, precision, length, sqltype):
    assert gen_schema.column_type(RULES, fieldtype, precision, length) == sqltype


@pytest.mark.parametrize("field, nullable, default", [
    ({"fieldtype": "Check", "default": "1"}, False, "1"),
    ({"fieldtype": "Check"}, False, "0"),
    ({"fieldtype": "Int", "default": "abc"}, False, "0"),
    ({"fieldtype": "Currency", "default": "100"}, False, "100.0"),
    ({"fieldtype": "Float"}, False, "0"),
    ({"fieldtype": "Select", "default": "Draft"}, True, "Draft"),
    ({"fieldtype": "Date", "default": "Today"}, True, None),   # a shortcut, set by Frappe, not the DDL
    ({"fieldtype": "Link", "default": ":Company"}, True, None),
    ({"fieldtype": "Data", "default": ""}, True, None),
])
def test_nullability_and_defaults(field, nullable, default):
    col = gen_schema.column(RULES, {"fieldname": "f", **field})
    assert (col["nullable"], col["default"]) == (nullable, default)


def test_a_doctype_becomes_a_table_as_frappe_creates_it():
    controller = ('import frappe\n\ndef on_doctype_update():\n'
                  '    frappe.db.add_index("Thing", ["a", "b(10)"])\n')
    doc = {
        "name": "Thing", "track_seen": 1,
        "field_order": ["a", "b", "sb", "rows", "v", "u", "txt", "idx"],
        "fields": [
            {"fieldname": "a", "fieldtype": "Link", "search_index": 1},
            {"fieldname": "b", "fieldtype": "Data"},
            {"fieldname": "late", "fieldtype": "Data"},               # missing from field_order
            {"fieldname": "sb", "fieldtype": "Section Break"},
            {"fieldname": "rows", "fieldtype": "Table", "options": "Thing Row"},
            {"fieldname": "v", "fieldtype": "Data", "is_virtual": 1},
            {"fieldname": "u", "fieldtype": "Data", "unique": 1, "search_index": 1},
            {"fieldname": "txt", "fieldtype": "Text", "search_index": 1},  # text: no index
            {"fieldname": "idx", "fieldtype": "Int"},                  # a standard column: Frappe's
        ],
    }
    spec = gen_schema.table(RULES, doc, controller, "thing.json")
    assert [c["name"] for c in spec["columns"]] == [
        "name", "creation", "modified", "modified_by", "owner", "docstatus", "idx",
        "a", "b", "late", "u", "txt", "_user_tags", "_comments", "_assign", "_liked_by", "_seen"]
    assert spec["columns"][0]["primary_key"] and spec["row_format"] == "DYNAMIC"
    assert spec["child_tables"] == {"rows": "Thing Row"}
    assert spec["indexes"] == [
        {"name": "a", "columns": ["a"], "unique": False, "origin": "search_index"},
        {"name": "modified", "columns": ["modified"], "unique": False, "origin": "standard"},
        {"name": "u", "columns": ["u"], "unique": True, "origin": "unique"},
        {"name": "a_b_index", "columns": ["a", "b"], "unique": False, "origin": "on_doctype_update"},
    ]
    child = gen_schema.table(RULES, {"name": "Thing Row", "istable": 1, "autoname": "autoincrement",
                                     "fields": [{"fieldname": "qty", "fieldtype": "Float"}]}, None, "row.json")
    assert [(c["name"], c["type"]) for c in child["columns"]][-4:] == [
        ("qty", "decimal(21,9)"), ("parent", "varchar(140)"), ("parentfield", "varchar(140)"),
        ("parenttype", "varchar(140)")]
    assert child["columns"][0]["type"] == "bigint"
    assert child["indexes"] == [{"name": "parent", "columns": ["parent"], "unique": False, "origin": "standard"}]


def test_framework_tables_are_read_from_frappes_ddl():
    sql = ("CREATE TABLE `tabThing` (\n  `a` varchar(255) DEFAULT NULL,\n  `b` int(11) NOT NULL DEFAULT 0,\n"
           "  `c` longtext,\n  KEY `a_index` (`a`, `b`)\n) ENGINE=InnoDB ROW_FORMAT=DYNAMIC CHARACTER SET=utf8mb4 "
           "COLLATE=utf8mb4_unicode_ci;")
    spec = gen_schema.framework_table(sql, "tabThing")
    assert [(c["name"], c["type"], c["nullable"], c["default"]) for c in spec["columns"]] == [
        ("a", "varchar(255)", True, None), ("b", "int(11)", False, "0"), ("c", "longtext", True, None)]
    assert spec["indexes"] == [{"name": "a_index", "columns": ["a", "b"], "unique": False, "origin": "framework"}]
    assert (spec["doctype"], spec["row_format"], spec["collation"]) == ("Thing", "DYNAMIC", "utf8mb4_unicode_ci")
    with pytest.raises(gen_schema.GenerationError, match="no CREATE TABLE `tabOther`"):
        gen_schema.framework_table(sql, "tabOther")
    with pytest.raises(gen_schema.GenerationError, match="does not know"):
        gen_schema.framework_table(sql.replace("  `c` longtext,", "  CONSTRAINT x CHECK (1),"), "tabThing")
    singles = TABLES["tabSingles"]
    assert [c["name"] for c in singles["columns"]] == ["doctype", "field", "value"]
