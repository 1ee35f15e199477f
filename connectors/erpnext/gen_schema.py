"""Generate ``schema_v15.json`` (the ERPNext tables creditctl touches) from ERPNext v15's own definitions.

Usage::

    python -m connectors.erpnext.gen_schema SOURCE_ROOT [--commit SHA] [--repository OWNER/NAME]
    python connectors/erpnext/gen_schema.py SOURCE_ROOT ...   # the same, without importing the package

``SOURCE_ROOT`` is a Frappe bench holding ``apps/frappe`` and ``apps/erpnext`` (the pinned one is
github.com/pgborendev/soleappos, see SOURCES.md): a git repository (bare or not; files are read
from ``--commit``, default HEAD) or a plain folder (then ``--commit`` names what it is a copy of).
Nothing of it is copied into this project: the output holds facts only (table, column and index
names, MariaDB column types, defaults) plus the list of every file read, with repository,
commit, version, path and git blob id. CI never runs this script; tests use its output.

What a table looks like is decided the way Frappe 15 decides it when it creates a doctype's
table on MariaDB (``frappe/database/mariadb/schema.py`` ``MariaDBTable.create``,
``frappe/database/schema.py`` ``get_definition`` / ``DbColumn.get_definition``). The procedure
is reimplemented here; its constants — the MariaDB type map, the 140-character varchar, the
standard and optional columns, the fieldtypes without a column, the default decimal width and
precision, the default shortcuts — are read from Frappe's source at generation time, and the
generator refuses to run on other versions of those Frappe files than the ones its rules were
checked against (``RULES_CHECKED_AGAINST``, git blob ids).

* Columns, in this order: ``name varchar(140)`` primary key (``bigint`` for autoincrement
  doctypes), ``creation``/``modified`` ``datetime(6)``, ``modified_by``/``owner``
  ``varchar(140)``, ``docstatus int(1)`` and ``idx int(8)`` (not null default 0); then every
  field of the doctype (in Frappe's field order) whose fieldtype has a MariaDB type, except
  no-value fields (breaks, HTML, buttons, ``Table`` / ``Table MultiSelect``: child tables are
  tables of their own), ``is_virtual`` fields and the standard columns; then for a parent
  doctype ``_user_tags``, ``_comments``, ``_assign``, ``_liked_by`` (and ``_seen`` with
  ``track_seen``) as ``text``; for a child table ``parent``, ``parentfield``, ``parenttype``.
* Types: Frappe's type map; Data/Link/Select… ``varchar(length or 140)``, at least 64;
  Currency/Float/Percent ``decimal(length or 21, precision or 9)``; Int with a length over 11
  ``bigint(20)``, under 11 ``int(length)``.
* Nullability and defaults: Check and Int ``not null default <int(default)>``;
  Currency/Float/Percent ``not null default <float(default)>``; any other column nullable, with
  the doctype's default when it is a constant (not ``Today``, ``now``, ``__user``…, not
  ``:...``).
* ``child_tables``: the doctype's ``Table`` / ``Table MultiSelect`` fields (no column), each the
  ``parentfield`` of its rows in the child doctype's table.
* Select columns also list their ``options`` (the values ERPNext's forms offer; the database
  does not enforce them).
* Indexes: ``modified`` on a parent table, ``parent`` on a child table, one per
  ``search_index`` field (not on text columns, not when unique), ``unique`` fields as a unique
  key named after the column, and the ``frappe.db.add_index`` calls of the controller's
  ``on_doctype_update`` (named ``<fields>_index``), which Frappe runs after creating the table.

Not reflected (site state, not ERPNext's definitions): Custom Fields and Property Setters a
site adds, indexes added by patches of older versions, the ``creation`` index Frappe adds on a
later schema alter of doctypes sorted by ``creation``.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "schema_v15.json"
DEFAULT_SOURCES_MD = HERE / "SOURCES.md"
DEFAULT_REPOSITORY = "pgborendev/soleappos"
#: the ERPNext / Frappe major version the output is for
MAJOR = "15"

#: doctypes whose tables creditctl reads or writes (or its tests' ERPNext stand-in stores into)
DOCTYPES = (
    "Company",
    "Currency Exchange",
    "Customer",
    "Customer Group",
    "Customer Credit Limit",
    "Payment Terms Template",
    "Payment Terms Template Detail",
    "Sales Invoice",
    "Sales Invoice Item",
    "Payment Schedule",
    "Payment Ledger Entry",
    "Dunning",
    "Overdue Payment",
    "Sales Order",
    "Sales Order Item",
    "Delivery Note",
    "Delivery Note Item",
    "Comment",
    "Version",
    "Has Role",
)

#: Frappe's own tables that no doctype JSON defines (single doctypes' values live in tabSingles:
#: Accounts Settings' frozen_accounts_modifier), from its MariaDB framework DDL
FRAMEWORK_SQL = "apps/frappe/frappe/database/mariadb/framework_mariadb.sql"
FRAMEWORK_TABLES = ("tabSingles",)

APPS = ("frappe", "erpnext")

#: Frappe's files whose DDL rules the generator reimplements (it reads their constants)
FRAPPE_FILES = {
    "database": "apps/frappe/frappe/database/database.py",
    "mariadb_database": "apps/frappe/frappe/database/mariadb/database.py",
    "schema": "apps/frappe/frappe/database/schema.py",
    "mariadb_schema": "apps/frappe/frappe/database/mariadb/schema.py",
    "model": "apps/frappe/frappe/model/__init__.py",
    "meta": "apps/frappe/frappe/model/meta.py",
}

#: the versions of Frappe's files the reimplemented rules were checked against (git blob ids, from
#: Frappe 15.103.0): a different file needs a review of this generator before it is trusted
RULES_CHECKED_AGAINST = {
    "database": "48c0723e397bfb5c6d9b40b30d5bd59224c13685",
    "mariadb_database": "7c26d694eb7c43b8bc0feca624bae35aa9a8e462",
    "schema": "9deec37a0a08f0463726296f4924f55acf738e08",
    "mariadb_schema": "9828aa19a66a2b567b38170c13a5482b178d3881",
    "model": "6beff35168ca62116f96f59b4d066763afe70e4a",
    "meta": "56cc79d1ef4b57a4d62355e0b98dd95a8806b639",
}


class GenerationError(Exception):
    """The sources are not what the generator expects (say which, and what to check)."""


# --------------------------------------------------------------------------- reading the sources


def blob_id(data: bytes) -> str:
    """The git blob id of ``data`` (the same in a checkout and in the repository)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's id, not security


class Source:
    """Files of one bench at one commit: a git repository (read at ``commit``) or a plain folder."""

    def __init__(self, root: Path, commit: str | None, repository: str) -> None:
        self.root = root
        self.repository = repository
        self.read_files: dict[str, dict[str, str]] = {}
        self.git = self._is_git(root)
        if self.git:
            self.commit = self._git("rev-parse", "--verify", f"{commit or 'HEAD'}^{{commit}}").decode().strip()
            listing = self._git("ls-tree", "-r", "--name-only", self.commit, "--", *(f"apps/{a}" for a in APPS))
            self.files = listing.decode().splitlines()
        else:
            if not commit or not re.fullmatch(r"[0-9a-f]{40}", commit):
                raise GenerationError(f"{root} is not a git repository: give --commit (the 40-digit commit "
                                      f"of {repository} it is a copy of)")
            self.commit = commit
            self.files = sorted(str(p.relative_to(root)) for a in APPS for p in (root / "apps" / a).rglob("*")
                                if p.is_file())

    @staticmethod
    def _is_git(root: Path) -> bool:
        """``root`` itself is a git repository (its git dir or its work tree, not a folder inside one)."""
        def ask(*args: str) -> str | None:
            done = subprocess.run(["git", "-C", str(root), "rev-parse", *args], capture_output=True, check=False)
            return done.stdout.decode().strip() if done.returncode == 0 else None

        here = root.resolve()
        if ask("--is-bare-repository") == "true":
            return Path(ask("--absolute-git-dir") or "/").resolve() == here
        return Path(ask("--show-toplevel") or "/").resolve() == here

    def _git(self, *args: str) -> bytes:
        done = subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, check=False)
        if done.returncode != 0:
            raise GenerationError(f"git {' '.join(args)} in {self.root}: {done.stderr.decode().strip()}")
        return done.stdout

    def read(self, path: str, purpose: str) -> str:
        data = self._git("show", f"{self.commit}:{path}") if self.git else (self.root / path).read_bytes()
        self.read_files[path] = {"path": path, "blob": blob_id(data), "read_for": purpose}
        return data.decode("utf-8")


# --------------------------------------------------------------------------- Frappe's constants


def _literal(node: ast.AST, names: dict[str, Any]) -> Any:
    """A literal from Frappe's source; ``self.X`` / ``X`` resolve through ``names``."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return names[node.attr]
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.Tuple):
        return tuple(_literal(e, names) for e in node.elts)
    if isinstance(node, ast.List):
        return [_literal(e, names) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_literal(k, names): _literal(v, names) for k, v in zip(node.keys, node.values, strict=True)}
    return ast.literal_eval(node)


def _assignments(tree: ast.AST, wanted: set[str], names: dict[str, Any] | None = None) -> dict[str, Any]:
    """``NAME = <literal>`` and ``self.NAME = <literal>`` assignments anywhere in ``tree``."""
    names = dict(names or {})
    found: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            name = target.id if isinstance(target, ast.Name) else (
                target.attr if isinstance(target, ast.Attribute) else None)
            if name in wanted:
                try:
                    found[name] = _literal(node.value, {**names, **found})
                except (ValueError, KeyError):
                    continue
    return found


@dataclass(frozen=True)
class FrappeRules:
    type_map: dict[str, tuple[str, str]]
    varchar_len: int
    default_columns: tuple[str, ...]
    child_table_columns: tuple[str, ...]
    optional_columns: tuple[str, ...]
    default_shortcuts: tuple[str, ...]
    no_value_fields: tuple[str, ...]
    table_fields: tuple[str, ...]
    configurable_decimal_types: tuple[str, ...]
    default_decimal_length: int
    default_decimal_precision: int


def frappe_rules(src: Source) -> FrappeRules:
    texts = {key: src.read(path, "Frappe's MariaDB DDL rules") for key, path in FRAPPE_FILES.items()}
    for key, path in FRAPPE_FILES.items():
        blob = src.read_files[path]["blob"]
        if blob != RULES_CHECKED_AGAINST[key]:
            raise GenerationError(f"{path} at {src.commit} is blob {blob[:12]}, not the "
                                  f"{RULES_CHECKED_AGAINST[key][:12]} the generator's rules were checked against: "
                                  "review connectors/erpnext/gen_schema.py against it, then update "
                                  "RULES_CHECKED_AGAINST")
    db = _assignments(ast.parse(texts["database"]), {
        "VARCHAR_LEN", "DEFAULT_COLUMNS", "CHILD_TABLE_COLUMNS", "OPTIONAL_COLUMNS", "DEFAULT_SHORTCUTS"})
    type_map = _assignments(ast.parse(texts["mariadb_database"]), {"type_map"},
                            {"VARCHAR_LEN": db["VARCHAR_LEN"]})["type_map"]
    schema = _assignments(ast.parse(texts["schema"]), {
        "CONFIGURABLE_DECIMAL_TYPES", "DEFAULT_DECIMAL_LENGTH", "DEFAULT_DECIMAL_PRECISION"})
    model = _assignments(ast.parse(texts["model"]), {"no_value_fields", "table_fields"})
    if not set(model["table_fields"]) <= set(model["no_value_fields"]):
        raise GenerationError("frappe.model: table_fields are no longer no_value_fields; review the generator")
    return FrappeRules(
        type_map={k: (v[0], str(v[1])) for k, v in type_map.items()},
        varchar_len=int(db["VARCHAR_LEN"]),
        default_columns=tuple(db["DEFAULT_COLUMNS"]),
        child_table_columns=tuple(db["CHILD_TABLE_COLUMNS"]),
        optional_columns=tuple(db["OPTIONAL_COLUMNS"]),
        default_shortcuts=tuple(db["DEFAULT_SHORTCUTS"]),
        no_value_fields=tuple(model["no_value_fields"]),
        table_fields=tuple(model["table_fields"]),
        configurable_decimal_types=tuple(schema["CONFIGURABLE_DECIMAL_TYPES"]),
        default_decimal_length=int(schema["DEFAULT_DECIMAL_LENGTH"]),
        default_decimal_precision=int(schema["DEFAULT_DECIMAL_PRECISION"]),
    )


def app_version(src: Source, app: str) -> str:
    path = f"apps/{app}/{app}/__init__.py"
    found = re.search(r'^__version__\s*=\s*"([^"]+)"', src.read(path, f"{app} version"), re.M)
    if not found:
        raise GenerationError(f"no __version__ in {path}")
    version = found.group(1)
    if version.split(".")[0] != MAJOR:
        raise GenerationError(f"{app} is {version} in {src.repository}@{src.commit}: the schema is pinned to v{MAJOR}")
    return version


# --------------------------------------------------------------------------- Frappe's value helpers


def cint(value: Any) -> int:
    """frappe.utils.cint: int of a number or numeric text, 0 otherwise."""
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def flt(value: Any) -> float:
    """frappe.utils.flt: float of a number or numeric text, 0.0 otherwise."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def scrub(name: str) -> str:
    """frappe.scrub: the folder and file name of a doctype."""
    return name.replace(" ", "_").replace("-", "_").lower()


# --------------------------------------------------------------------------- one doctype -> one table


def column_type(rules: FrappeRules, fieldtype: str, precision: Any, length: Any) -> str | None:
    """The MariaDB column type of a field (``get_definition``); None: no column."""
    mapped = rules.type_map.get(fieldtype)
    if not mapped:
        return None
    if fieldtype == "Int" and length and cint(length) > 11:
        mapped = rules.type_map["Long Int"]
    coltype, size = mapped[0], (mapped[1] or None)
    if size:
        if fieldtype in rules.configurable_decimal_types:
            width = length if length else rules.default_decimal_length
            precision = precision if precision not in (None, "") else rules.default_decimal_precision
            if cint(precision) > cint(width):
                precision = width
            size = f"{cint(width)},{cint(precision)}"
        if length:
            if coltype == "varchar":
                size = str(max(cint(length), 64))
            elif coltype == "int" and cint(length) < 11:
                size = str(cint(length))
    return f"{coltype}({size})" if size is not None else coltype


def _number(value: float) -> str:
    """How Frappe writes a float default into the DDL (``flt(default) or 0``)."""
    return "0" if not value else repr(value)


def column(rules: FrappeRules, field: dict[str, Any]) -> dict[str, Any] | None:
    """One field's column (``DbColumn.get_definition``), or None when it makes no column."""
    fieldtype = field["fieldtype"]
    sqltype = column_type(rules, fieldtype, field.get("precision"), field.get("length"))
    if sqltype is None:
        return None
    default = field.get("default")
    if fieldtype in ("Check", "Int"):
        nullable, server_default = False, str(cint(default) or 0)
    elif fieldtype in ("Currency", "Float", "Percent"):
        nullable, server_default = False, _number(flt(default))
    else:
        nullable = True
        constant = default not in (None, "", 0, False) and default not in rules.default_shortcuts \
            and not str(default).startswith(":")
        server_default = str(default) if constant else None
    # Frappe appends "unique" unless the whole definition so far is a bare text/longtext
    bare = sqltype in ("text", "longtext") and nullable and server_default is None
    col = {
        "name": field["fieldname"], "fieldtype": fieldtype, "type": sqltype, "nullable": nullable,
        "default": server_default, "unique": bool(cint(field.get("unique"))) and not bare,
    }
    if fieldtype == "Select":
        # the values ERPNext's forms offer (not enforced by the database; '' = may stay empty)
        col["options"] = str(field.get("options") or "").split("\n")
    return col


def _standard_columns(rules: FrappeRules, autoincrement: bool) -> list[dict[str, Any]]:
    varchar = f"varchar({rules.varchar_len})"
    spec = {
        "name": ("bigint" if autoincrement else varchar, False, None),
        "creation": ("datetime(6)", True, None),
        "modified": ("datetime(6)", True, None),
        "modified_by": (varchar, True, None),
        "owner": (varchar, True, None),
        "docstatus": ("int(1)", False, "0"),
        "idx": ("int(8)", False, "0"),
    }
    if tuple(spec) != rules.default_columns:
        raise GenerationError(f"Frappe's DEFAULT_COLUMNS are {rules.default_columns}, the generator knows "
                              f"{tuple(spec)}; review the generator")
    cols = [{"name": n, "fieldtype": None, "type": t, "nullable": nn, "default": d, "unique": False}
            for n, (t, nn, d) in spec.items()]
    cols[0]["primary_key"] = True
    return cols


def field_order(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The doctype's fields in Frappe's order (``Meta.sort_fields`` for a doctype without
    custom fields): ``field_order``, and a field missing from it right after its predecessor in
    ``fields``."""
    fields = doc.get("fields") or []
    by_name = {f["fieldname"]: f for f in fields}
    order = [n for n in doc.get("field_order") or [] if n in by_name]
    if not order or fields[0]["fieldname"] not in order:
        return fields
    placed = set(order)
    for index, field in enumerate(fields):
        if field["fieldname"] not in placed:
            after = order.index(fields[index - 1]["fieldname"]) if index else -1
            order.insert(after + 1, field["fieldname"])
            placed.add(field["fieldname"])
    return [by_name[n] for n in order]


def _string_args(call: ast.Call, where: str) -> tuple[str, list[str], str | None]:
    try:
        doctype = ast.literal_eval(call.args[0])
        fields = ast.literal_eval(call.args[1])
        named = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        name = ast.literal_eval(call.args[2]) if len(call.args) > 2 else named.get(
            "index_name", named.get("constraint_name"))
    except (ValueError, IndexError) as exc:
        raise GenerationError(f"{where}: an index call the generator cannot read statically") from exc
    return doctype, [fields] if isinstance(fields, str) else list(fields), name


def doctype_update_indexes(controller: str, doctype: str, where: str) -> list[dict[str, Any]]:
    """``frappe.db.add_index`` / ``add_unique`` calls of the controller's ``on_doctype_update``."""
    tree = ast.parse(controller)
    hooks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "on_doctype_update"]
    out = []
    for hook in hooks:
        for node in ast.walk(hook):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and ast.unparse(node.func) in ("frappe.db.add_index", "frappe.db.add_unique")):
                continue
            target, fields, name = _string_args(node, where)
            if target != doctype:
                raise GenerationError(f"{where}: on_doctype_update indexes another doctype ({target})")
            unique = node.func.attr == "add_unique"
            columns = [re.sub(r"\(\d+\)$", "", f) for f in fields]
            if not name:
                name = ("unique_" + "_".join(fields)) if unique else re.sub(
                    r"\(\d+\)", "", "_".join(fields) + "_index")
            out.append({"name": name, "columns": columns, "unique": unique, "origin": "on_doctype_update"})
    return out


def table(rules: FrappeRules, doc: dict[str, Any], controller: str | None, where: str) -> dict[str, Any]:
    doctype = doc["name"]
    if cint(doc.get("issingle")) or cint(doc.get("is_virtual")):
        raise GenerationError(f"{where}: {doctype} is a single or virtual doctype: it has no table")
    istable = bool(cint(doc.get("istable")))
    columns = _standard_columns(rules, doc.get("autoname") == "autoincrement")
    fields = [f for f in field_order(doc)
              if f["fieldtype"] not in rules.no_value_fields and not cint(f.get("is_virtual"))]
    if not istable:
        fields += [{"fieldname": n, "fieldtype": "Text"} for n in rules.optional_columns]
        if cint(doc.get("track_seen")):
            fields.append({"fieldname": "_seen", "fieldtype": "Text"})
    seen = {c["name"] for c in columns}
    field_columns: dict[str, dict[str, Any]] = {}
    for field in fields:
        col = column(rules, field)
        if col is not None and col["name"] not in seen:
            field_columns[col["name"]] = col  # a later field of the same name replaces it (a dict in Frappe)
    columns += field_columns.values()
    indexes = []
    for field in fields:
        col = field_columns.get(field["fieldname"])
        base = rules.type_map.get(field["fieldtype"], ("",))[0]
        if col is not None and cint(field.get("search_index")) and not cint(field.get("unique")) \
                and base not in ("text", "longtext") and col["name"] not in {i["name"] for i in indexes}:
            indexes.append({"name": col["name"], "columns": [col["name"]], "unique": False, "origin": "search_index"})
    if istable:
        varchar = f"varchar({rules.varchar_len})"
        for name in ("parent", "parentfield", "parenttype"):
            columns.append({"name": name, "fieldtype": None, "type": varchar, "nullable": True, "default": None,
                            "unique": False})
        if set(rules.child_table_columns) != {"parent", "parentfield", "parenttype"}:
            raise GenerationError(f"Frappe's CHILD_TABLE_COLUMNS are {rules.child_table_columns}; review the generator")
        indexes.append({"name": "parent", "columns": ["parent"], "unique": False, "origin": "standard"})
    else:
        indexes.append({"name": "modified", "columns": ["modified"], "unique": False, "origin": "standard"})
    for col in columns:
        if col["unique"]:
            indexes.append({"name": col["name"], "columns": [col["name"]], "unique": True, "origin": "unique"})
    if controller is not None:
        indexes += doctype_update_indexes(controller, doctype, where)
    names = [i["name"] for i in indexes]
    if len(names) != len(set(names)):
        raise GenerationError(f"{where}: two indexes of one name: {names}")
    # Table fields make no column: each is a child table whose rows carry parentfield = fieldname
    children = {f["fieldname"]: f.get("options") for f in field_order(doc) if f["fieldtype"] in rules.table_fields}
    return {
        "doctype": doctype,
        "istable": istable,
        "child_tables": children,
        "engine": doc.get("engine") or "InnoDB",
        "row_format": (doc.get("row_format") or "Dynamic").upper(),
        "charset": "utf8mb4",
        "collation": "utf8mb4_unicode_ci",
        "columns": columns,
        "indexes": indexes,
    }


# --------------------------------------------------------------------------- the whole file


_CREATE = re.compile(r"CREATE TABLE `(?P<name>[^`]+)` \((?P<body>.*?)\n\)(?P<options>[^;]*);", re.S)
_COLUMN = re.compile(r"^`(?P<name>[^`]+)` (?P<type>[a-z]+(?:\([\d,]+\))?)(?P<rest>.*)$")
_KEY = re.compile(r"^(?P<unique>UNIQUE )?KEY `(?P<name>[^`]+)` \((?P<columns>[^)]*)\)$")


def framework_table(sql: str, name: str) -> dict[str, Any]:
    """One ``CREATE TABLE`` of Frappe's framework DDL as a table spec (columns, keys, options)."""
    found = next((m for m in _CREATE.finditer(sql) if m["name"] == name), None)
    if found is None:
        raise GenerationError(f"{FRAMEWORK_SQL}: no CREATE TABLE `{name}`")
    columns: list[dict[str, Any]] = []
    indexes: list[dict[str, Any]] = []
    for line in (x.strip().rstrip(",") for x in found["body"].splitlines()):
        if column := _COLUMN.match(line):
            rest = column["rest"]
            default = re.search(r"DEFAULT ('(?P<text>[^']*)'|(?P<bare>[\w.]+))", rest)
            value = None if default is None or default["bare"] == "NULL" else (default["text"] or default["bare"])
            columns.append({"name": column["name"], "fieldtype": None, "type": column["type"],
                            "nullable": "NOT NULL" not in rest, "default": value, "unique": False})
        elif key := _KEY.match(line):
            indexes.append({"name": key["name"], "columns": [c.strip(" `") for c in key["columns"].split(",")],
                            "unique": bool(key["unique"]), "origin": "framework"})
        elif line:
            raise GenerationError(f"{FRAMEWORK_SQL}: `{name}`: a line the generator does not know: {line!r}")
    options = found["options"]

    def option(pattern: str) -> str:
        match = re.search(pattern + r"=(\w+)", options)
        if match is None:
            raise GenerationError(f"{FRAMEWORK_SQL}: `{name}` has no {pattern}")
        return match[1]

    return {"doctype": name[len("tab"):], "istable": False, "child_tables": {}, "engine": option("ENGINE"),
            "row_format": option("ROW_FORMAT"), "charset": option("CHARACTER SET"), "collation": option("COLLATE"),
            "columns": columns, "indexes": indexes}


def _app(path: str) -> str:
    return path.split("/")[1]


def find_doctype(src: Source, doctype: str) -> str:
    """The path of the doctype's JSON: the one ``apps/<app>/<app>/<module>/doctype/<name>/<name>.json``."""
    name = scrub(doctype)
    suffix = f"/doctype/{name}/{name}.json"
    found = [p for p in src.files if p.endswith(suffix) and _app(p) in APPS]
    if len(found) != 1:
        raise GenerationError(f"doctype {doctype!r}: {len(found)} files *{suffix} in apps/{{{','.join(APPS)}}}")
    return found[0]


def generate(root: Path, commit: str | None = None, repository: str = DEFAULT_REPOSITORY) -> dict[str, Any]:
    src = Source(root, commit, repository)
    versions = {app: app_version(src, app) for app in APPS}
    rules = frappe_rules(src)
    tables: dict[str, Any] = {}
    for doctype in DOCTYPES:
        path = find_doctype(src, doctype)
        doc = json.loads(src.read(path, f"doctype {doctype}"))
        if doc.get("name") != doctype:
            raise GenerationError(f"{path} defines {doc.get('name')!r}, not {doctype!r}")
        controller_path = path[:-len(".json")] + ".py"
        controller = src.read(controller_path, f"doctype {doctype}: on_doctype_update indexes") \
            if controller_path in src.files else None
        tables[f"tab{doctype}"] = {**table(rules, doc, controller, path), "source": path}
    framework = src.read(FRAMEWORK_SQL, "Frappe's framework tables: " + ", ".join(FRAMEWORK_TABLES))
    for name in FRAMEWORK_TABLES:
        tables[name] = {**framework_table(framework, name), "source": FRAMEWORK_SQL}
    sources = [{"repository": f"GitHub {repository}", "commit": src.commit, "app": _app(p),
                "version": versions[_app(p)], **entry}
               for p, entry in sorted(src.read_files.items())]
    return {
        "generated_by": "python -m connectors.erpnext.gen_schema SOURCE_ROOT (connectors/erpnext/gen_schema.py)",
        "repository": f"GitHub {repository}",
        "commit": src.commit,
        "versions": versions,
        "note": "Facts about ERPNext v15's MariaDB tables, generated from the sources below; do not edit by hand.",
        "sources": sources,
        "tables": dict(sorted(tables.items())),
    }


def dumps(doc: dict[str, Any]) -> str:
    """Stable JSON, one column / index / source per line (readable diffs)."""
    def line(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    out = ["{"]
    head = [k for k in doc if k not in ("sources", "tables")]
    for key in head:
        out.append(f"  {line(key)}: {line(doc[key])},")
    out.append('  "sources": [')
    out.append(",\n".join(f"    {line(s)}" for s in doc["sources"]))
    out.append("  ],")
    out.append('  "tables": {')
    blocks = []
    for name, spec in doc["tables"].items():
        lines = [f"    {line(name)}: {{"]
        for key, value in spec.items():
            if key in ("columns", "indexes"):
                continue
            lines.append(f"      {line(key)}: {line(value)},")
        lines.append('      "columns": [')
        lines.append(",\n".join(f"        {line(c)}" for c in spec["columns"]))
        lines.append("      ],")
        lines.append('      "indexes": [')
        lines.append(",\n".join(f"        {line(i)}" for i in spec["indexes"]))
        lines.append("      ]")
        lines.append("    }")
        blocks.append("\n".join(lines))
    out.append(",\n".join(blocks))
    out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


def sources_md(doc: dict[str, Any]) -> str:
    v = doc["versions"]
    lines = [
        "# Sources of the ERPNext schema",
        "",
        "`schema_v15.json` is generated by `gen_schema.py` from ERPNext v15's own definitions:",
        "",
        f"- repository: {doc['repository']} (a vendored Frappe bench)",
        f"- commit: `{doc['commit']}`",
        f"- versions: Frappe {v['frappe']} (`apps/frappe/frappe/__init__.py`), "
        f"ERPNext {v['erpnext']} (`apps/erpnext/erpnext/__init__.py`)",
        "",
        "Regenerate (never in CI: it needs the sources, which are not part of this project):",
        "",
        "```",
        "# SOURCE_ROOT: a git copy of the public GitHub repository pgborendev/soleappos",
        "python -m connectors.erpnext.gen_schema SOURCE_ROOT --commit " + doc["commit"],
        "```",
        "",
        "Nothing of these sources is copied into the project: the generated file holds table, column",
        "and index names, MariaDB column types and defaults (facts), and the list below. The Frappe",
        "files are read for the constants of its MariaDB DDL (type map, varchar length, standard and",
        "optional columns, fieldtypes without a column, default shortcuts); the generator refuses",
        "other versions of them than the ones its reimplemented rules were checked against",
        "(`RULES_CHECKED_AGAINST`). See the docstring of `gen_schema.py` for the rules.",
        "",
        "Every file read (path in the repository at the commit above, git blob id):",
        "",
        "| app | version | path | blob | read for |",
        "|---|---|---|---|---|",
    ]
    for s in doc["sources"]:
        lines.append(f"| {s['app']} | {s['version']} | `{s['path']}` | `{s['blob'][:12]}` | {s['read_for']} |")
    lines += [
        "",
        "Tables (columns / indexes):",
        "",
    ]
    for name, spec in doc["tables"].items():
        lines.append(f"- `{name}`: {len(spec['columns'])} / {len(spec['indexes'])}, from `{spec['source']}`")
    lines += [
        "",
        "Not reflected (site state, not ERPNext's definitions): Custom Fields and Property Setters a",
        "site adds, indexes added by patches of older versions, and the `creation` index Frappe adds",
        "on a later schema alter of doctypes sorted by `creation`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m connectors.erpnext.gen_schema", description=__doc__.split("\n\n")[0])
    parser.add_argument("source_root", type=Path, help="the bench: a git repository or folder with apps/frappe, apps/erpnext")
    parser.add_argument("--commit", help="commit to read (git) or that the folder is a copy of (default HEAD)")
    parser.add_argument("--repository", default=DEFAULT_REPOSITORY, help=f"owner/name on GitHub (default {DEFAULT_REPOSITORY})")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--sources-md", type=Path, default=DEFAULT_SOURCES_MD)
    args = parser.parse_args(argv)
    try:
        doc = generate(args.source_root, args.commit, args.repository)
    except GenerationError as exc:
        print(f"gen_schema: {exc}", file=sys.stderr)
        return 1
    args.output.write_text(dumps(doc), encoding="utf-8")
    args.sources_md.write_text(sources_md(doc), encoding="utf-8")
    n = sum(len(t["columns"]) for t in doc["tables"].values())
    print(f"{args.output}: {len(doc['tables'])} tables, {n} columns from {doc['repository']}@{doc['commit'][:12]} "
          f"(Frappe {doc['versions']['frappe']}, ERPNext {doc['versions']['erpnext']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
