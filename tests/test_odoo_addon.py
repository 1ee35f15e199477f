"""The Odoo addon creditctl_credit_control, checked statically (CI has no Odoo).

What is checked: the manifest is a plain literal with the keys Odoo reads and its data files
exist; the Python compiles for 3.10 and 3.12; the XML views parse and use only the 17+/18 view
syntax; the fields the addon declares on sale.order are exactly the columns the connector writes;
every method it overrides exists with the same signature in Odoo 17.0 and 18.0 (per
``connectors/odoo/addon/ODOO_FACTS.json``, pinned sources), calls ``super()``, and refuses with a
``UserError`` that names creditctl's reason.
"""

from __future__ import annotations

import ast
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from connectors.odoo.tables import HOLD_COLUMNS
from tests.conftest import ROOT

ADDON_ROOT = ROOT / "connectors" / "odoo" / "addon"
ADDON = ADDON_ROOT / "creditctl_credit_control"
FACTS_FILE = ADDON_ROOT / "ODOO_FACTS.json"
WRITE_PY = ROOT / "connectors" / "odoo" / "write.py"
VERSIONS = ("17.0", "18.0")
#: the reason creditctl writes: on the held order, or on the blocked partner
REASON_FIELDS = {"x_credit_hold_reason", "sale_warn_msg"}
PY_FILES = sorted(ADDON.rglob("*.py"))
XML_FILES = sorted(ADDON.rglob("*.xml"))


def _manifest() -> dict:
    return ast.literal_eval((ADDON / "__manifest__.py").read_text(encoding="utf-8"))


def _facts() -> dict:
    return json.loads(FACTS_FILE.read_text(encoding="utf-8"))


def _fact(model: str | None, name: str) -> dict:
    found = [f for f in _facts()["facts"] if f["model"] == model and f["name"] == name]
    assert len(found) == 1, f"ODOO_FACTS.json: expected one fact for {model}.{name}, found {len(found)}"
    return found[0]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _classes() -> list[tuple[Path, ast.ClassDef, str]]:
    """(file, class, inherited model) of every ``_inherit = "<model>"`` class of the addon."""
    found = []
    for path in PY_FILES:
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.ClassDef):
                continue
            for stmt in node.body:
                if (isinstance(stmt, ast.Assign) and any(getattr(t, "id", None) == "_inherit" for t in stmt.targets)
                        and isinstance(stmt.value, ast.Constant)):
                    found.append((path, node, stmt.value.value))
    return found


def _overrides() -> list[tuple[str, ast.FunctionDef]]:
    """(model, method) of every method that overrides an Odoo one (not the addon's own helpers)."""
    return [(model, fn) for _path, cls, model in _classes() for fn in cls.body
            if isinstance(fn, ast.FunctionDef) and not fn.name.startswith("_creditctl")]


def _declared_fields() -> dict[str, dict[str, ast.Call]]:
    """model -> field name -> the ``fields.X(...)`` call the addon declares."""
    out: dict[str, dict[str, ast.Call]] = {}
    for _path, cls, model in _classes():
        for stmt in cls.body:
            if (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)
                    and isinstance(stmt.value.func, ast.Attribute)
                    and getattr(stmt.value.func.value, "id", None) == "fields"):
                for target in stmt.targets:
                    out.setdefault(model, {})[target.id] = stmt.value
    return out


# --- manifest --------------------------------------------------------------------------------


def test_manifest_is_a_literal_with_the_keys_odoo_reads() -> None:
    manifest = _manifest()
    assert isinstance(manifest, dict)
    for key in ("name", "version", "depends", "data", "license", "installable"):
        assert key in manifest, key
    assert manifest["name"] == "creditctl credit control"
    assert manifest["installable"] is True
    assert manifest["license"] == "LGPL-3"
    # no series prefix: Odoo prefixes the running series (17.0.x / 18.0.x), see the fact
    assert re.fullmatch(r"[0-9]+\.[0-9]+(\.[0-9]+)?", manifest["version"]), manifest["version"]
    _fact(None, "adapt_version")
    # sale.order / res.partner.sale_warn / sale_line_ids (sale), account.move (account),
    # stock.picking.sale_id (sale_stock)
    assert {"sale", "account", "sale_stock"} <= set(manifest["depends"])
    assert set(_fact(None, "_DEFAULT_MANIFEST")["sources"]) == set(VERSIONS)


def test_manifest_data_files_exist_and_every_view_is_loaded() -> None:
    data = _manifest()["data"]
    for rel in data:
        assert (ADDON / rel).is_file(), rel
    loaded = {ADDON / rel for rel in data}
    for path in XML_FILES:
        assert path in loaded, f"{path.relative_to(ADDON)} is not in the manifest's data"
    csv = ADDON / "security" / "ir.model.access.csv"
    # the addon defines no new model, so no access rules
    assert not any(isinstance(n, ast.ClassDef) and any(
        isinstance(s, ast.Assign) and any(getattr(t, "id", None) == "_name" for t in s.targets) for s in n.body)
        for p in PY_FILES for n in ast.walk(_tree(p)))
    assert not csv.exists() or "security/ir.model.access.csv" in data


# --- Python ----------------------------------------------------------------------------------


@pytest.mark.parametrize("feature_version", [(3, 10), (3, 12)])
def test_python_parses_and_compiles(feature_version: tuple[int, int]) -> None:
    assert PY_FILES
    for path in PY_FILES:
        source = path.read_text(encoding="utf-8")
        ast.parse(source, filename=str(path), feature_version=feature_version)
        compile(source, str(path), "exec")


def test_every_model_file_is_imported() -> None:
    imported = set()
    for init in (ADDON / "__init__.py", ADDON / "models" / "__init__.py"):
        for node in ast.walk(_tree(init)):
            if isinstance(node, ast.ImportFrom):
                imported.update((init.parent / a.name) for a in node.names)
    assert ADDON / "models" in imported
    for path in (ADDON / "models").glob("*.py"):
        if path.name != "__init__.py":
            assert path.with_suffix("") in imported, path.name


def test_user_error_comes_from_odoo_exceptions() -> None:
    assert set(_fact(None, "odoo.exceptions.UserError")["sources"]) == set(VERSIONS)
    for path in (ADDON / "models").glob("*.py"):
        names = {(n.module, a.name) for n in ast.walk(_tree(path)) if isinstance(n, ast.ImportFrom) for a in n.names}
        if any(isinstance(n, ast.Raise) for n in ast.walk(_tree(path))):
            assert ("odoo.exceptions", "UserError") in names, path.name


# --- fields ----------------------------------------------------------------------------------


def _connector_hold_columns() -> set[str]:
    """The sale_order columns the connector writes: keyword arguments of its UPDATE ``.values()``."""
    tree = _tree(WRITE_PY)
    written = {kw.arg for node in ast.walk(tree) if isinstance(node, ast.Call)
               and isinstance(node.func, ast.Attribute) and node.func.attr == "values"
               for kw in node.keywords if kw.arg}
    mentioned = set(re.findall(r"\bx_credit_hold\w*", WRITE_PY.read_text(encoding="utf-8")))
    return {c for c in written if c.startswith("x_")} | mentioned


def test_declared_fields_are_the_columns_the_connector_writes() -> None:
    declared = _declared_fields()
    columns = _connector_hold_columns()
    assert columns == {"x_credit_hold", "x_credit_hold_reason"}
    assert set(declared) == {"sale.order"}
    assert set(declared["sale.order"]) == columns
    hold = declared["sale.order"]["x_credit_hold"]
    reason = declared["sale.order"]["x_credit_hold_reason"]
    assert hold.func.attr == "Boolean" and reason.func.attr == "Text"
    # the columns the connector's tables add to the generated sale_order, as Odoo's ORM makes them
    assert HOLD_COLUMNS == {"x_credit_hold": "bool", "x_credit_hold_reason": "text"}
    kw = {k.arg: ast.literal_eval(k.value) for k in hold.keywords if k.arg in ("default", "copy", "tracking")}
    assert kw == {"default": False, "copy": False, "tracking": True}
    _fact("sale.order", "_inherit")  # tracking needs mail.thread on sale.order


def test_odoo_fields_the_addon_reads_are_facts() -> None:
    used = {n.attr for p in PY_FILES for n in ast.walk(_tree(p)) if isinstance(n, ast.Attribute)}
    needed = {("res.partner", "sale_warn"), ("res.partner", "sale_warn_msg"),
              ("res.partner", "commercial_partner_id"), ("stock.picking", "sale_id"),
              ("stock.picking", "picking_type_code"), ("stock.picking", "state"),
              ("account.move", "move_type"), ("account.move", "invoice_line_ids"),
              ("account.move.line", "sale_line_ids"), ("sale.order.line", "order_id"),
              ("sale.order", "partner_id"), ("account.move", "partner_id")}
    for model, name in needed:
        assert name in used, f"{name} no longer used: update this list"
        assert set(_fact(model, name)["sources"]) == set(VERSIONS), (model, name)
    assert _fact("res.partner", "sale_warn")["values"] == ["no-message", "warning", "block"]
    text = "\n".join(p.read_text(encoding="utf-8") for p in PY_FILES)
    assert re.search(r"sale_warn\s*==\s*[\"']block[\"']", text)


# --- methods ---------------------------------------------------------------------------------


def test_overrides_exist_in_both_versions_with_the_same_signature() -> None:
    overrides = _overrides()
    assert {(m, f.name) for m, f in overrides} == {
        ("sale.order", "action_confirm"), ("sale.order", "_create_invoices"),
        ("stock.picking", "button_validate"), ("account.move", "_post")}
    for model, fn in overrides:
        fact = _fact(model, fn.name)
        assert fact["kind"] == "method"
        assert set(fact["sources"]) == set(VERSIONS), (model, fn.name)
        assert fact["signature"] == ast.unparse(fn.args), (model, fn.name, ast.unparse(fn.args))


def test_action_post_goes_through_the_overridden_post() -> None:
    fact = _fact("account.move", "action_post")
    assert fact["calls"] == "_post(soft=False)" and set(fact["sources"]) == set(VERSIONS)


def _super_calls(fn: ast.FunctionDef) -> list[ast.Call]:
    return [n for n in ast.walk(fn) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and isinstance(n.func.value, ast.Call) and getattr(n.func.value.func, "id", None) == "super"]


def test_each_override_calls_super_with_all_its_arguments() -> None:
    for model, fn in _overrides():
        calls = [c for c in _super_calls(fn) if c.func.attr == fn.name]
        assert len(calls) == 1, (model, fn.name)
        # the super call is what the method returns
        assert any(isinstance(s, ast.Return) and s.value is calls[0] for s in fn.body), (model, fn.name)
        params = [a.arg for a in fn.args.args[1:]]
        passed = [getattr(a, "id", None) for a in calls[0].args] + [k.arg for k in calls[0].keywords]
        assert sorted(passed) == sorted(params), (model, fn.name)


def _raises(fn: ast.FunctionDef) -> list[ast.Raise]:
    return [n for n in ast.walk(fn) if isinstance(n, ast.Raise)]


def test_each_refusal_is_a_user_error_naming_the_reason() -> None:
    for model, fn in _overrides():
        raises = _raises(fn)
        assert raises, (model, fn.name)
        for r in raises:
            assert isinstance(r.exc, ast.Call) and getattr(r.exc.func, "id", None) == "UserError", (model, fn.name)
            named = {n.attr for n in ast.walk(r.exc) if isinstance(n, ast.Attribute)}
            assert named & REASON_FIELDS, (model, fn.name, ast.unparse(r.exc))
        # refuses before anything is done: every raise comes before the super call
        first_super = min(c.lineno for c in _super_calls(fn))
        assert all(r.lineno < first_super for r in raises), (model, fn.name)


def test_confirmation_refuses_both_held_orders_and_blocked_partners() -> None:
    fn = next(f for m, f in _overrides() if (m, f.name) == ("sale.order", "action_confirm"))
    named = [{n.attr for n in ast.walk(r.exc) if isinstance(n, ast.Attribute)} for r in _raises(fn)]
    assert any("x_credit_hold_reason" in n for n in named)
    assert any("sale_warn_msg" in n for n in named)


def test_posting_refuses_invoices_of_held_orders_and_of_blocked_partners() -> None:
    fn = next(f for m, f in _overrides() if (m, f.name) == ("account.move", "_post"))
    named = [{n.attr for n in ast.walk(r.exc) if isinstance(n, ast.Attribute)} for r in _raises(fn)]
    assert any("x_credit_hold_reason" in n for n in named)
    assert any("sale_warn_msg" in n for n in named)


def test_held_checks_read_the_hold_flag() -> None:
    for model, fn in _overrides():
        text = ast.unparse(fn)
        assert "x_credit_hold" in re.sub(r"x_credit_hold_reason", "", text) or "_creditctl_blocking_partner" in text, (
            model, fn.name)


# --- views -----------------------------------------------------------------------------------


def test_views_parse_and_use_the_17_18_syntax() -> None:
    assert XML_FILES
    declared = set(_declared_fields()["sale.order"])
    for path in XML_FILES:
        root = ET.parse(path).getroot()
        assert root.tag == "odoo"
        for el in root.iter():
            assert "attrs" not in el.attrib and "states" not in el.attrib, (path.name, el.tag)
        for record in root.iter("record"):
            assert record.get("model") == "ir.ui.view"
            fields = {f.get("name"): f for f in record.findall("field")}
            assert fields["model"].text == "sale.order"
            assert fields["inherit_id"].get("ref") == "sale.view_order_form"
            arch = fields["arch"]
            shown = {f.get("name") for f in arch.iter("field") if f is not arch}
            assert shown == declared, shown
            for el in arch.iter():
                for attr in ("invisible", "readonly", "required"):
                    expr = el.get(attr)
                    if expr is not None:
                        ast.parse(expr, mode="eval")  # a Python expression, as 17/18 evaluate it
                        names = {n.id for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Name)}
                        assert names <= declared, (attr, expr)
            banner = [d for d in arch.iter("div") if "alert" in (d.get("class") or "")]
            assert banner and banner[0].get("invisible") == "not x_credit_hold"
            assert any(f.get("name") == "x_credit_hold_reason" for f in banner[0].iter("field"))
            assert arch.findall(".//group/field[@name='x_credit_hold']")
            xpaths = {x.get("expr") for x in arch.iter("xpath")}
            assert xpaths == {"//sheet", "//page[@name='other_information']"}
    _fact("sale.order", "sale.view_order_form")
    _fact("sale.order", "page other_information")


# --- the facts file --------------------------------------------------------------------------


def test_facts_are_pinned_per_version() -> None:
    facts = _facts()
    for version in VERSIONS:
        prov = facts["provenance"][version]
        assert re.fullmatch(r"[0-9a-f]{40}", prov["commit"])
        assert f"({version.split('.')[0]}, 0, 0, FINAL" in prov["version_evidence"]
    release = _fact(None, "version_info")["sources"]
    for f in facts["facts"]:
        assert set(f["sources"]) == set(VERSIONS), f["id"]
        for version, src in f["sources"].items():
            assert src["version"] == version
            assert re.fullmatch(r"[0-9a-f]{40}", src["commit"]), f["id"]
            # the file was read at the commit whose odoo/release.py gives the version
            assert (src["repository"], src["commit"]) == (release[version]["repository"], release[version]["commit"])
            assert src["path"] and isinstance(src["line"], int) and src["line"] > 0 and src["definition"]
