"""The Odoo 17 / 18 schemas generated from Odoo's own field definitions (connectors/odoo/gen_schema.py).

* ``schema_v17.json`` / ``schema_v18.json`` name their sources, pinned to 17.0 / 18.0 by
  ``odoo/release.py`` at the same commit, with the blob of every file read; SOURCES.md lists them.
* The files are as the generator serialises them (no hand edits).
* The tables create on the machine's PostgreSQL through the builder (``connectors/odoo/tables.py``).
* Many2many relation tables follow ``class Many2many`` of the pinned ``odoo/fields.py`` (17.0 and
  18.0 alike): default names, two int4 NOT NULL columns forming the primary key, the index on
  (column2, column1), foreign keys ON DELETE CASCADE, the table comment.
* The tables the connector needs for Odoo 18's amount to invoice (product, uom) and the facts
  that differ between 17 and 18 (sale_order.amount_to_invoice, account_account.company_id / code).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from connectors.odoo import gen_schema
from connectors.odoo.tables import load, metadata

FOLDER = Path(gen_schema.__file__).resolve().parent
DOCS = {v: load(v) for v in (17, 18)}
MAGIC = {"id", "create_uid", "create_date", "write_uid", "write_date"}


def columns(version: int, table: str) -> dict[str, dict]:
    return {c["name"]: c for c in DOCS[version]["tables"][table]["columns"]}


def model_tables(version: int) -> dict[str, dict]:
    return {name: spec for name, spec in DOCS[version]["tables"].items() if spec["model"] is not None}


def relation_tables(version: int) -> dict[str, dict]:
    return {name: spec for name, spec in DOCS[version]["tables"].items() if spec["model"] is None}


# --------------------------------------------------------------------------- sources


@pytest.mark.parametrize("version", [17, 18])
def test_the_file_names_its_sources_pinned_to_the_version(version):
    doc = DOCS[version]
    pin = gen_schema.PINNED[version]
    assert doc["odoo"] == f"{version}.0"
    assert doc["repository"] == f"GitHub {pin['repository']}"
    assert doc["commit"] == pin["commit"] and re.fullmatch(r"[0-9a-f]{40}", doc["commit"])
    evidence = doc["version_evidence"]
    assert evidence["path"] == "odoo/release.py" and evidence["commit"] == doc["commit"]
    assert evidence["version_info"].startswith(f"({version}, 0, ")
    sources = {s["path"]: s for s in doc["sources"]}
    assert sources["odoo/release.py"]["blob"] == evidence["blob"]
    # every file read is pinned at that blob, and every pin was read
    assert {p: s["blob"] for p, s in sources.items()} == pin["files"]
    for s in sources.values():
        assert s["repository"] == doc["repository"] and s["commit"] == doc["commit"]
        assert re.fullmatch(r"[0-9a-f]{40}", s["blob"]) and s["read_for"]
    assert set(gen_schema.RULE_FILES.values()) <= set(sources)
    assert doc["modules"][0] == "base" and doc["modules"][-1] == "sale"
    assert {"account", "product", "analytic", "mail", "portal", "sales_team", "account_payment"} <= set(doc["modules"])
    for module in doc["modules"]:
        assert f"{gen_schema.module_dir(module)}/__manifest__.py" in sources
    # every table's defining file and its extensions were read; the other tables are the relation
    # tables of Many2many fields between generated models
    assert sorted(model_tables(version)) == sorted(m.replace(".", "_") for m in gen_schema.MODELS[version])
    assert sorted(model_tables(version)) == sorted(spec["model"].replace(".", "_")
                                                   for spec in model_tables(version).values())
    for spec in relation_tables(version).values():
        models = {spec["relation"]["model"], spec["relation"]["comodel"]}
        assert models <= set(gen_schema.MODELS[version]) and spec["extended_in"] == []
        assert {i["comodel"] for i in spec["inverse"]} | {i["model"] for i in spec["inverse"]} <= models
    for spec in doc["tables"].values():
        assert spec["source"] in sources and set(spec["extended_in"]) <= set(sources)
        for col in spec["columns"]:
            assert col["origin"]["path"] in sources


def test_sources_md_lists_every_file_read():
    md = (FOLDER / "SOURCES.md").read_text(encoding="utf-8")
    assert md == gen_schema.sources_md([DOCS[17], DOCS[18]])
    for doc in DOCS.values():
        assert doc["commit"] in md and doc["version_evidence"]["version_info"] in md
        for s in doc["sources"]:
            assert f"| `{s['path']}` | `{s['blob']}` |" in md


@pytest.mark.parametrize("version", [17, 18])
def test_the_file_is_as_the_generator_writes_it(version):
    assert (FOLDER / f"schema_v{version}.json").read_text(encoding="utf-8") == gen_schema.dumps(DOCS[version])


def test_the_generator_refuses_files_that_are_not_pinned(tmp_path):
    (tmp_path / "odoo").mkdir()
    (tmp_path / "odoo" / "release.py").write_text("version_info = (17, 0, 0, 'final', 0, '')\n")
    with pytest.raises(gen_schema.GenerationError, match="lacks pinned files"):
        gen_schema.generate(tmp_path, 17, gen_schema.PINNED[17]["commit"])
    src = gen_schema.Source.__new__(gen_schema.Source)
    src.pins, src.version, src.read_files, src.root, src.commit = gen_schema.PINNED[17]["files"], 17, {}, tmp_path, "0" * 40
    with pytest.raises(gen_schema.GenerationError, match="not the pinned"):
        src.read("odoo/release.py", "version evidence", b"version_info = (17, 0, 0, 'final', 0, '')\n")


# --------------------------------------------------------------------------- the ORM's rules, as generated


@pytest.mark.parametrize("version", [17, 18])
def test_magic_columns_and_many2one_foreign_keys(version):
    for table, spec in model_tables(version).items():
        cols = spec["columns"]
        assert cols[0] == {**cols[0], "name": "id", "type": "serial", "nullable": False}
        names = [c["name"] for c in cols]
        assert {"create_uid", "create_date", "write_uid", "write_date"} <= set(names), table
        for c in cols:
            if c["field_type"] == "Many2one" and not c.get("company_dependent"):
                assert c["type"] == "int4" and c["references"]["column"] == "id"
                assert c["references"]["ondelete"] in ("set null", "restrict", "cascade")
    aml = columns(version, "account_move_line")
    assert aml["move_id"]["references"] == {"model": "account.move", "table": "account_move", "column": "id",
                                            "ondelete": "cascade"}
    assert aml["move_id"]["nullable"] is False


def test_company_dependent_fields_ir_property_in_17_jsonb_in_18():
    for name in ("credit_limit", "property_payment_term_id"):
        assert name not in columns(17, "res_partner")
        assert "company_dependent" in DOCS[17]["tables"]["res_partner"]["fields_without_column"][name]
        col = columns(18, "res_partner")[name]
        assert col["type"] == "jsonb" and col["company_dependent"] and "references" not in col
    assert "ir_property" in DOCS[17]["tables"] and "ir_property" not in DOCS[18]["tables"]
    index = {i["name"]: i for i in DOCS[18]["tables"]["res_partner"]["indexes"]}["res_partner__credit_limit_index"]
    assert index["where"] == '"credit_limit" IS NOT NULL'


@pytest.mark.parametrize("version", [17, 18])
def test_translated_names_are_jsonb_and_types_follow_fields_py(version):
    for table in ("res_country", "res_partner_industry", "account_payment_term", "account_account"):
        assert columns(version, table)["name"]["type"] == "jsonb"
    assert columns(version, "res_partner")["name"]["type"] == "varchar"
    assert columns(version, "account_move")["amount_residual"]["type"] == "numeric"  # Monetary
    assert columns(version, "res_currency_rate")["rate"]["type"] in ("numeric", "float8")
    assert columns(version, "sale_order")["date_order"]["type"] == "timestamp"
    assert columns(version, "account_move")["invoice_date_due"]["type"] == "date"
    assert columns(version, "account_move_line")["reconciled"]["type"] == "bool"
    assert "image_1920" not in columns(version, "res_partner")  # Binary in attachments
    assert "order_line" not in columns(version, "sale_order")  # One2many


# --------------------------------------------------------------------------- PostgreSQL


@pytest.mark.parametrize("version", [17, 18])
def test_the_tables_create_on_postgresql(pg_url, version):
    doc = DOCS[version]
    engine = create_engine(pg_url)
    try:
        with engine.begin() as conn:
            metadata(doc).create_all(conn)
        insp = inspect(engine)
        assert set(insp.get_table_names()) == set(doc["tables"])
        for table, spec in doc["tables"].items():
            real = {c["name"]: c for c in insp.get_columns(table)}
            assert list(real) == [c["name"] for c in spec["columns"]]
            for c in spec["columns"]:
                assert real[c["name"]]["nullable"] == c["nullable"], (table, c["name"])
            indexes = {i["name"] for i in insp.get_indexes(table)}
            assert {i["name"] for i in spec["indexes"] if i.get("requires") != "pg_trgm"} <= indexes
            fks = {tuple(fk["constrained_columns"]): fk for fk in insp.get_foreign_keys(table)}
            for c in spec["columns"]:
                ref = c.get("references", {})
                if ref.get("table") in doc["tables"]:
                    fk = fks[(c["name"],)]
                    assert (fk["referred_table"], fk["referred_columns"]) == (ref["table"], ["id"])
                    assert fk["options"].get("ondelete", "NO ACTION").lower() == ref["ondelete"], (table, c["name"])
            pk = insp.get_pk_constraint(table)["constrained_columns"]
            assert pk == [c["name"] for c in spec["columns"] if c.get("primary_key")], table
        with engine.connect() as conn:
            types = dict(conn.execute(text(
                "SELECT table_name || '.' || column_name, udt_name FROM information_schema.columns "
                "WHERE table_schema = current_schema()")).all())
        udt = {"serial": "int4", "timestamp": "timestamp"}
        for table, spec in doc["tables"].items():
            for c in spec["columns"]:
                want = udt.get(c["type"], c["type"].split("(")[0])
                assert types[f"{table}.{c['name']}"] == want, (table, c["name"])
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- Many2many relation tables

#: the relation tables of the Many2many fields between generated models (class Many2many of the
#: pinned odoo/fields.py, 17.0 blob 1b23f70d724993b807d8d46c89a6daf6c5578208, 18.0 blob
#: baf61c9a865c037e45364773cad6ad662971b201: the same rules in both)
RELATIONS = {
    17: {"account_account_account_journal_rel", "journal_account_control_rel", "sale_order_line_invoice_rel"},
    18: {"account_account_account_journal_rel", "account_account_res_company_rel", "account_move__account_payment",
         "journal_account_control_rel", "module_country", "product_optional_rel", "sale_order_line_invoice_rel"},
}


@pytest.mark.parametrize("version", [17, 18])
def test_relation_tables_follow_odoo_many2many(version):
    """update_db: ``CREATE TABLE rel (column1 INTEGER NOT NULL, column2 INTEGER NOT NULL,
    PRIMARY KEY(column1, column2))``, ``COMMENT ON TABLE rel IS 'RELATION BETWEEN <table> AND
    <cotable>'``, ``CREATE INDEX ON rel (column2, column1)``; update_db_foreign_keys: column1 ->
    the model ON DELETE CASCADE, column2 -> the comodel ON DELETE <ondelete> (default cascade).
    Nothing else: no id, no magic columns, no constraint."""
    assert set(relation_tables(version)) == RELATIONS[version]
    tables = DOCS[version]["tables"]
    table_of = {spec["model"]: name for name, spec in model_tables(version).items()}
    for name, spec in relation_tables(version).items():
        rel = spec["relation"]
        table1, table2 = table_of[rel["model"]], table_of[rel["comodel"]]
        c1, c2 = spec["columns"]  # exactly two
        assert not {c1["name"], c2["name"]} & MAGIC
        for c in (c1, c2):
            assert {k: c[k] for k in ("type", "nullable", "primary_key", "field_type")} == \
                {"type": "int4", "nullable": False, "primary_key": True, "field_type": "Many2many"}, name
            assert c["origin"]["path"] == spec["source"]
        assert c1["references"] == {"model": rel["model"], "table": table1, "column": "id", "ondelete": "cascade"}
        assert c2["references"]["table"] == table2 and c2["references"]["ondelete"] in ("cascade", "restrict")
        assert spec["primary_key"] == {"name": f"{name}_pkey", "columns": [c1["name"], c2["name"]]}
        assert spec["comment"] == f"RELATION BETWEEN {table1} AND {table2}"
        [index] = spec["indexes"]
        assert index["method"] == "btree" and index["where"] == ""
        assert index["expressions"] == [f'"{c2["name"]}"', f'"{c1["name"]}"']
        assert len(index["name"]) <= 63 and index["name"].endswith("_idx")
        assert spec["constraints"] == [] and spec["fields_without_column"] == {} and spec["extended_in"] == []
        # the fields have no column in their own tables
        for field in (rel, *spec["inverse"]):
            assert tables[table_of[field["model"]]]["fields_without_column"][field["field"]] == "Many2many: many2many"


@pytest.mark.parametrize("version", [17, 18])
def test_sale_order_line_invoice_rel(version):
    """Both sides name the table and columns (sale.order.line.invoice_lines: order_line_id /
    invoice_line_id; account.move.line.sale_line_ids: invoice_line_id / order_line_id). The sale
    module's models/__init__.py imports account_move_line before sale_order_line, so
    account.move.line's field creates the table: its column order, its index."""
    spec = DOCS[version]["tables"]["sale_order_line_invoice_rel"]
    assert spec["relation"] == {"model": "account.move.line", "field": "sale_line_ids", "comodel": "sale.order.line"}
    assert spec["inverse"] == [{"model": "sale.order.line", "field": "invoice_lines", "comodel": "account.move.line"}]
    assert spec["module"] == "sale" and spec["source"] == "addons/sale/models/account_move_line.py"
    assert [(c["name"], c["references"]["table"], c["references"]["ondelete"]) for c in spec["columns"]] == [
        ("invoice_line_id", "account_move_line", "cascade"), ("order_line_id", "sale_order_line", "cascade")]
    assert spec["primary_key"]["name"] == "sale_order_line_invoice_rel_pkey"
    assert spec["indexes"][0]["name"] == "sale_order_line_invoice_rel_order_line_id_invoice_line_id_idx"
    assert spec["comment"] == "RELATION BETWEEN account_move_line AND sale_order_line"


def test_implicit_relation_names():
    """18's account.account.company_ids = fields.Many2many('res.company', ...) names nothing: the
    table is the two tables sorted + ``_rel``, the columns ``<table>_id``; PostgreSQL cuts the
    index name to 63 characters. 17 has a Many2one company_id instead."""
    spec = DOCS[18]["tables"]["account_account_res_company_rel"]
    assert spec["relation"] == {"model": "account.account", "field": "company_ids", "comodel": "res.company"}
    assert [c["name"] for c in spec["columns"]] == ["account_account_id", "res_company_id"]
    assert [c["references"]["table"] for c in spec["columns"]] == ["account_account", "res_company"]
    assert spec["indexes"][0]["name"] == "account_account_res_company_r_res_company_id_account_accoun_idx"
    assert "account_account_res_company_rel" not in DOCS[17]["tables"]
    for version in (17, 18):  # allowed_journal_ids: implicit too
        cols = DOCS[version]["tables"]["account_account_account_journal_rel"]["columns"]
        assert [c["name"] for c in cols] == ["account_account_id", "account_journal_id"]


@pytest.mark.parametrize("version", [17, 18])
def test_postgresql_names_the_key_and_index_as_generated(pg_url, version):
    """Odoo's statements leave the primary key and the index unnamed: the names in the file are
    the ones PostgreSQL chooses for them."""
    engine = create_engine(pg_url)
    try:
        with engine.begin() as conn:
            for name, spec in relation_tables(version).items():
                c1, c2 = (c["name"] for c in spec["columns"])
                conn.execute(text(f'CREATE TABLE "{name}" ("{c1}" INTEGER NOT NULL, "{c2}" INTEGER NOT NULL, '
                                  f'PRIMARY KEY("{c1}", "{c2}"))'))
                conn.execute(text(f"""COMMENT ON TABLE "{name}" IS '{spec["comment"]}'"""))
                conn.execute(text(f'CREATE INDEX ON "{name}" ("{c2}", "{c1}")'))
        insp = inspect(engine)
        for name, spec in relation_tables(version).items():
            pk = insp.get_pk_constraint(name)
            assert (pk["name"], pk["constrained_columns"]) == (spec["primary_key"]["name"],
                                                               spec["primary_key"]["columns"])
            assert [i["name"] for i in insp.get_indexes(name)] == [i["name"] for i in spec["indexes"]]
            assert insp.get_table_comment(name)["text"] == spec["comment"]
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- 17 and 18 differ


def test_what_18_no_longer_stores():
    """18 stores no sale_order.amount_to_invoice (computed), no account_account.company_id (the
    Many2many company_ids instead) and no account_account.code (code_store, company-dependent);
    17 stores all three."""
    for table, name in (("sale_order", "amount_to_invoice"), ("account_account", "company_id"),
                        ("account_account", "code")):
        assert name in columns(17, table)
        assert name not in columns(18, table)
    without = DOCS[18]["tables"]
    assert without["sale_order"]["fields_without_column"]["amount_to_invoice"] == "Monetary: computed, not stored"
    assert without["account_account"]["fields_without_column"]["code"] == "Char: computed, not stored"
    assert without["account_account"]["fields_without_column"]["company_ids"].startswith("Many2many")
    code_store = columns(18, "account_account")["code_store"]
    assert code_store["company_dependent"] and code_store["type"] == "jsonb"
    assert columns(17, "account_account")["company_id"]["references"]["table"] == "res_company"


# --------------------------------------------------------------------------- what the amount to invoice needs


@pytest.mark.parametrize("version", [17, 18])
def test_products_and_units_of_measure(version):
    template = columns(version, "product_template")
    policy = template["invoice_policy"]
    # a stored (computed, precomputed) Selection that the sale module adds on product.template
    assert policy["type"] == "varchar" and policy["nullable"] and policy["computed_stored"]
    assert policy["origin"] == {"model": "product.template", "module": "sale",
                                "path": "addons/sale/models/product_template.py", "modules": ["sale"]}
    assert template["uom_id"]["references"] == {"model": "uom.uom", "table": "uom_uom", "column": "id",
                                                "ondelete": "restrict"}
    assert template["uom_id"]["nullable"] is False
    assert ("detailed_type" in template) == (version == 17)  # 18 has ``type`` only
    assert columns(version, "product_product")["product_tmpl_id"]["references"]["table"] == "product_template"
    uom = columns(version, "uom_uom")
    for name in ("factor", "rounding"):  # Float(digits=0, required=True): NUMERIC of unlimited precision
        assert uom[name]["type"] == "numeric" and uom[name]["nullable"] is False, name
        assert uom[name]["origin"]["module"] == "uom"
    assert uom["category_id"]["nullable"] is False and uom["uom_type"]["type"] == "varchar"
    assert DOCS[version]["tables"]["uom_uom"]["fields_without_column"]["factor_inv"] == "Float: computed, not stored"
    cons = {c["name"]: c["definition"] for c in DOCS[version]["tables"]["uom_uom"]["constraints"]}
    assert cons["uom_uom_factor_gt_zero"] == "CHECK (factor!=0)"
    assert cons["uom_uom_rounding_gt_zero"] == "CHECK (rounding>0)"
    line = columns(version, "sale_order_line")
    assert line["product_id"]["references"]["table"] == "product_product"
    assert line["product_uom"]["references"]["table"] == "uom_uom"
    for name in ("product_uom_qty", "qty_invoiced", "qty_delivered", "price_unit"):
        assert line[name]["type"] == "numeric", name
