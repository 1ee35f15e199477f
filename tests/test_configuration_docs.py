"""docs/configuration.md is the whole run-config reference: every key of RunConfig / ErpConfig,
every connector's options, every environment variable the code reads; its full example loads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from etl.config import ErpConfig, ErpKind, RunConfig, load_config
from tests.conftest import ROOT

DOC = ROOT / "docs" / "configuration.md"
TEXT = DOC.read_text(encoding="utf-8")
SOURCES = [p for folder in ("assets", "etl", "creditctl", "connectors", "validation")
           for p in (ROOT / folder).rglob("*.py")]


def _section(heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    start = TEXT.index(f"\n{heading}\n") + len(heading) + 2
    following = re.search(rf"\n#{{1,{level}}} ", TEXT[start:])
    return TEXT[start:start + following.start()] if following else TEXT[start:]


def _first_column(section: str) -> list[str]:
    """The `code` names in the first column of a section's table rows."""
    return [m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", section, flags=re.M)]


def _full_example() -> str:
    return re.search(r"<!-- full example -->\n```yaml\n(.*?)```", TEXT, flags=re.S).group(1)


def test_every_key_of_the_config_is_documented_and_nothing_else() -> None:
    documented = _first_column(_section("## Keys"))
    keys = [*RunConfig.model_fields, *(f"erp.{name}" for name in ErpConfig.model_fields)]
    assert sorted(documented) == sorted(keys)


def test_every_erp_kind_is_documented() -> None:
    from connectors import SUPPORTED

    assert set(get_args(ErpKind)) == set(SUPPORTED)
    for kind in SUPPORTED:
        assert f"`{kind}`" in _section("## Keys"), kind
        assert f"\n### {kind}\n" in TEXT, f"no options section for {kind}"


def _code_options() -> dict[str, set[str]]:
    from connectors.canonical import OPTIONS as CANONICAL
    from connectors.demo import DemoConnector
    from connectors.erpnext import OPTIONS as ERPNEXT
    from connectors.odoo import OPTIONS as ODOO
    from connectors.sap_b1 import OPTIONS as SAP_B1

    return {"erpnext": set(ERPNEXT), "demo": set(DemoConnector.extra_options), "odoo": set(ODOO),
            "sap_b1": set(SAP_B1), "canonical": set(CANONICAL), "files": {"path"}}


@pytest.mark.parametrize("kind", ["erpnext", "demo", "odoo", "sap_b1", "canonical", "files"])
def test_every_connector_option_is_documented(kind: str) -> None:
    documented = set(_first_column(_section(f"### {kind}")))
    assert documented == _code_options()[kind]
    if kind == "demo":  # the demo is the ERPNext connector on a file: its options besides path
        assert "every `erpnext` option" in _section("### demo")


def test_the_files_connector_takes_only_a_folder() -> None:
    """files has no option but path: its connector is made from the folder alone."""
    import inspect

    from connectors.files import FilesConnector

    assert list(inspect.signature(FilesConnector.__init__).parameters) == ["self", "folder"]


def test_the_full_example_loads_and_uses_every_key(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "creditctl.yaml"
    path.write_text(_full_example(), encoding="utf-8")
    config = load_config(path)
    assert set(config.model_fields_set) == set(RunConfig.model_fields)
    assert set(config.erp.model_fields_set) == set(ErpConfig.model_fields)
    assert config.rules == [tmp_path / "rules" / "credit_control.yaml"]  # against the file's folder
    # the options are the connector's own: the connector accepts them (nothing connects yet)
    from connectors import make_connector

    monkeypatch.setenv(config.erp.url_env, "mysql+pymysql://creditctl:pw@127.0.0.1:3306/erp")
    connector = make_connector(config.erp)
    assert connector.prepayment_terms == config.erp.options["prepayment_terms"]


def test_the_minimal_example_loads(tmp_path: Path) -> None:
    block = re.search(r"The smallest config.*?```yaml\n(.*?)```", TEXT, flags=re.S).group(1)
    path = tmp_path / "creditctl.yaml"
    path.write_text(block, encoding="utf-8")
    config = load_config(path)
    defaults = {name: field.default for name, field in RunConfig.model_fields.items() if not field.is_required()}
    for name, default in defaults.items():  # the defaults the Keys table states
        assert getattr(config, name) == default
        row = next(line for line in _section("## Keys").splitlines() if line.startswith(f"| `{name}` |"))
        assert (f"`{default}`" in row) if default is not None else ("none" in row), row


def test_the_example_config_in_the_project_loads(monkeypatch) -> None:
    config = load_config(ROOT / "examples" / "creditctl.yaml")
    assert config.erp.kind == "files" and config.data_dir is None
    assert Path(config.erp.options["path"]).is_dir()
    assert all(path.is_file() for path in config.rules)


def test_every_environment_variable_the_code_reads_is_documented() -> None:
    code = "\n".join(p.read_text(encoding="utf-8") for p in SOURCES)
    read = set(re.findall(r"\b(CREDITCTL_[A-Z]+(?:_[A-Z]+)*)\b", code))
    read |= {"DAGSTER_HOME", "DAGSTER_WEBSERVER_URL"}
    read |= set(re.findall(r"env: (\w+)", (ROOT / "docs" / "deploy" / "dagster.yaml").read_text(encoding="utf-8")))
    assert {"CREDITCTL_DATA_DIR", "CREDITCTL_STATE_URL", "CREDITCTL_CONFIG", "CREDITCTL_SMTP_HOST",
            "DAGSTER_PG_URL"} <= read
    table = _section("## Environment variables")
    missing = sorted(v for v in read if f"`{v}`" not in table)
    assert not missing, f"docs/configuration.md does not document {missing}"


def test_the_readme_and_operations_link_here() -> None:
    assert "(docs/configuration.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(configuration.md)" in (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
