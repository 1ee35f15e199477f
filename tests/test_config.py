"""The run config (SPEC §9): pydantic-validated, unknown keys are errors, paths resolve."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config import ConfigError, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "creditctl.yaml"
    path.write_text(text)
    return path


def test_the_spec_example_loads_and_paths_resolve(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, """
erp:
  kind: erpnext
  url_env: ERP_DATABASE_URL
  companies: [DE01, US01]
  options: {prepayment_terms: Prepayment}
rules: [rules/credit_control.yaml]
writeback: dry-run
state_url_env: CREDITCTL_STATE_URL
timezone: Europe/Berlin
schedule: "0 2 * * *"
"""))
    assert config.erp.companies == ["DE01", "US01"]
    assert config.rules == [tmp_path / "rules" / "credit_control.yaml"]
    assert config.timezone == "Europe/Berlin"


def test_url_only_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    config = load_config(_write(tmp_path, "erp: {kind: erpnext, url_env: MY_ERP_URL, companies: [A]}\nrules: [r.yaml]\n"))
    with pytest.raises(ConfigError, match="MY_ERP_URL"):
        config.erp.url()
    monkeypatch.setenv("MY_ERP_URL", "sqlite://")
    assert config.erp.url() == "sqlite://"


@pytest.mark.parametrize(("text", "message"), [
    ("erp: {kind: sap, companies: [A]}\nrules: [r.yaml]\n", "erp.kind"),
    ("erp: {kind: demo, companies: []}\nrules: [r.yaml]\n", "erp.companies"),
    ("erp: {kind: demo, companies: [A]}\nrules: [r.yaml]\nwriteback: yes-please\n", "writeback"),
    ("erp: {kind: demo, companies: [A]}\nrules: [r.yaml]\ntimezone: Mars/Olympus\n", "timezone"),
    ("erp: {kind: demo, companies: [A], secret: x}\nrules: [r.yaml]\n", "erp.secret: unknown key"),
    ("erp: [\n", "not valid YAML"),
])
def test_bad_configs_name_the_setting(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")) as info:
        load_config(_write(tmp_path, text))
    assert "\n" not in str(info.value)
