"""SPEC §2: the fixed layout, one-way imports, and generic package names resolving to this repo."""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

PACKAGES = ["validation", "etl", "connectors", "assets", "creditctl"]
ALLOWED = {
    "validation": set(),
    "etl": {"validation"},
    "connectors": {"etl", "validation"},
    "assets": {"etl", "connectors", "validation"},
    "creditctl": {"validation", "etl", "connectors", "assets"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_one_way(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        ours = _imports(path) & set(PACKAGES) - {package}
        bad = ours - ALLOWED[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "imports against SPEC §2: " + "; ".join(offenders)


def test_core_has_no_dagster_and_no_sql() -> None:
    for path in (ROOT / "etl").rglob("*.py"):
        assert "dagster" not in _imports(path), f"{path} imports dagster"
        text = path.read_text(encoding="utf-8")
        for erp_word in ("tabCustomer", "res_partner", "OCRD"):
            assert erp_word not in text, f"{path} names an ERP table ({erp_word})"


@pytest.mark.parametrize("package", PACKAGES)
def test_generic_packages_import_from_this_repo(package: str) -> None:
    module = importlib.import_module(package)
    assert Path(module.__file__).resolve().parent == ROOT / package


def test_rules_folder_holds_yaml_only() -> None:
    files = [p for p in (ROOT / "rules").rglob("*") if p.is_file()]
    assert files, "rules/ is empty"
    assert all(p.suffix in (".yaml", ".yml") for p in files), [str(p) for p in files if p.suffix not in (".yaml", ".yml")]


def test_workspace_has_one_pinned_code_location() -> None:
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    locations = workspace["load_from"]
    assert len(locations) == 1
    assert locations[0]["python_module"]["location_name"] == "creditctl"


def test_one_distribution_with_console_script_and_dev_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "creditctl"
    assert project["scripts"]["creditctl"] == "creditctl.cli:main"
    assert "dev" in project["optional-dependencies"]
    assert all(any(op in dep for op in (">=", "==", "<", "~=")) for dep in project["dependencies"]), \
        "every dependency carries a version range"


def test_only_one_definitions_object() -> None:
    holders = [p for p in ROOT.rglob("*.py")
               if ".venv" not in p.parts and "tests" not in p.parts and "Definitions(" in p.read_text(encoding="utf-8")]
    assert [p.relative_to(ROOT).as_posix() for p in holders] == ["assets/definitions.py"]
