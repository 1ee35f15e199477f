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


BROKEN = """\
erp:
  kind: erpnxt
  option: {prepayment_terms: Prepayment}
rules: []
writebak: apply
writeback: dryrun
timezone: Mars/Olympus
"""


def test_every_config_error_at_once_located_with_did_you_mean_and_allowed_values(tmp_path: Path) -> None:
    path = _write(tmp_path, BROKEN)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).splitlines() == [
        f"{path}:2:3: erp.companies: required key missing",
        f"{path}:2:9: erp.kind: 'erpnxt' is not one of erpnext | odoo | sap_b1 | canonical | files | demo; "
        "did you mean 'erpnext'?",
        f"{path}:3:3: erp.option: unknown key (did you mean 'options'?)",
        f"{path}:4:8: rules: List should have at least 1 item after validation, not 0",
        f"{path}:5:1: writebak: unknown key (did you mean 'writeback'?)",
        f"{path}:6:12: writeback: 'dryrun' is not one of off | dry-run | apply; did you mean 'dry-run'?",
        f"{path}:7:11: timezone: unknown timezone 'Mars/Olympus' (use an IANA name such as Europe/Berlin)",
    ]


def test_an_unknown_key_nothing_like_an_allowed_one_lists_the_allowed_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, "erp: {kind: demo, companies: [A], zzz: 1}\nrules: [r.yaml]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:1:35: erp.zzz: unknown key (allowed: kind, url_env, companies, options)"


def test_the_cli_prints_each_config_error_on_its_own_line_with_exit_2(tmp_path: Path, capsys, monkeypatch) -> None:
    from tests.cli_helpers import run_cli

    path = _write(tmp_path, BROKEN)
    result = run_cli(capsys, monkeypatch, "run", "--config", str(path))
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 7 and all(line.startswith(f"error: {path}:") for line in lines), result.err
    assert f"error: {path}:5:1: writebak: unknown key (did you mean 'writeback'?)" in lines
