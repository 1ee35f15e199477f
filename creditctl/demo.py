"""`creditctl demo`: the embedded demo ERP and its run config."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from connectors.demo import DEMO_COMPANIES, generate_demo_erp
from etl.config import ErpConfig, RunConfig, data_dir, dump_config, project_root

#: the demo keeps its state store apart from a real one configured in CREDITCTL_STATE_URL
DEMO_STATE_ENV = "CREDITCTL_DEMO_STATE_URL"


def demo_dir() -> Path:
    return data_dir() / "demo"


def default_rules() -> Path:
    """The project's policy, found from the installed code, not from the current folder."""
    root = project_root()
    return (root / "rules" / "credit_control.yaml") if root else Path("rules/credit_control.yaml")


def prepare_demo(*, customers: int, as_of: dt.date, rules: Path) -> tuple[Path, bool]:
    """Generate the demo ERP if absent and write its config; (config path, created)."""
    folder = demo_dir()
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "erpnext_demo.sqlite"
    created = not database.is_file()
    if created:
        generate_demo_erp(database, customers=customers, as_of=as_of)
    config = RunConfig(
        erp=ErpConfig(kind="demo", companies=list(DEMO_COMPANIES),
                      options={"path": database.name, "prepayment_terms": "Prepayment"}),
        rules=[rules.resolve()],
        writeback="apply",
        state_url_env=DEMO_STATE_ENV,
        timezone="Europe/Berlin",
        schedule="0 2 * * *",
        # the config's own parent: every command given this config uses this data folder and store
        data_dir=Path(".."),
    )
    path = folder / "creditctl.yaml"
    dump_config(config, path)
    return path, created
