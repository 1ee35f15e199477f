"""The run configuration file (SPEC §9), pydantic-validated; unknown keys are errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ErpKind = Literal["erpnext", "odoo", "sap_b1", "canonical", "files", "demo"]
WritebackMode = Literal["off", "dry-run", "apply"]


class ConfigError(ValueError):
    """A configuration problem, phrased as one line naming the file and the setting."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErpConfig(_Model):
    kind: ErpKind
    url_env: str | None = Field(
        default=None, description="Environment variable holding the SQLAlchemy URL (never the URL itself)"
    )
    companies: list[str] = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict, description="Per-connector options")

    def url(self) -> str:
        """The ERP's SQLAlchemy URL, read from the environment at call time."""
        if not self.url_env:
            raise ConfigError(f"erp.url_env: the {self.kind} connector needs url_env naming an environment variable")
        value = os.environ.get(self.url_env)
        if not value:
            raise ConfigError(f"environment variable {self.url_env} (erp.url_env) is not set: export the ERP's SQLAlchemy URL in it")
        return value


class RunConfig(_Model):
    erp: ErpConfig
    rules: list[Path] = Field(min_length=1)
    writeback: WritebackMode = "dry-run"
    state_url_env: str = "CREDITCTL_STATE_URL"
    timezone: str = "UTC"
    schedule: str = "0 2 * * *"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as Europe/Berlin)") from exc
        return value

    def state_url(self, data_dir: Path) -> str:
        """The state store URL: from ``state_url_env`` when set, else a SQLite file in data_dir."""
        value = os.environ.get(self.state_url_env)
        if value:
            return value
        data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(data_dir / 'state.sqlite').resolve()}"


def data_dir() -> Path:
    """The project's data directory (demo ERP, state store, reports): $CREDITCTL_DATA_DIR or ./data."""
    return Path(os.environ.get("CREDITCTL_DATA_DIR", "data"))


def _resolve(base: Path, value: str | Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a run config; relative paths resolve against the file's folder."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with keys erp, rules, writeback, ...")
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{path}: {loc}: {msg}{more}") from exc
    base = path.resolve().parent
    options = dict(config.erp.options)
    if "path" in options:
        options["path"] = str(_resolve(base, options["path"]))
    return config.model_copy(
        update={
            "rules": [_resolve(base, r) for r in config.rules],
            "erp": config.erp.model_copy(update={"options": options}),
        }
    )


def dump_config(config: RunConfig, path: str | Path) -> None:
    """Write a config file (used by `creditctl demo`)."""
    data = config.model_dump(mode="json")
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def run_dir(run_id: str) -> Path:
    """Where one run's artifacts (quarantine, plan, decisions, report) are written."""
    path = data_dir() / "runs" / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path
