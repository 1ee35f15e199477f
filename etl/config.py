"""The run configuration file (SPEC §9), pydantic-validated; unknown keys are errors."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ErpKind = Literal["erpnext", "odoo", "sap_b1", "canonical", "files", "demo"]
WritebackMode = Literal["off", "dry-run", "apply"]


class ConfigError(ValueError):
    """A configuration problem: one line per problem, each naming the file (line:column where known)
    and the setting."""


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
    data_dir: Path | None = Field(
        default=None, description="Data folder (state store, run folders, Dagster home); relative to the config file"
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as Europe/Berlin)") from exc
        return value

    def state_url(self, data_dir: Path | None = None) -> str:
        """The state store URL: ``$<state_url_env>`` when set, else ``state.sqlite`` in the data folder.

        ``data_dir`` defaults to this config's (see :func:`data_dir`); it is kept as a parameter
        for callers that already resolved it.
        """
        return state_url(self, data_dir)


#: the variable naming the data folder when a config sets no ``data_dir``
DATA_DIR_ENV = "CREDITCTL_DATA_DIR"
DEFAULT_STATE_ENV = "CREDITCTL_STATE_URL"


def project_root() -> Path | None:
    """The source checkout this code runs from (an editable install), else None."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() and (root / "etl").is_dir() else None


def data_dir(config: RunConfig | None = None) -> Path:
    """The data folder (demo ERP, state store, run folders, Dagster home), always absolute.

    The config's ``data_dir``, else ``$CREDITCTL_DATA_DIR``, else ``<project>/data`` of the
    checkout, else the per-user data folder: never the folder a command is started from.
    """
    if config is not None and config.data_dir is not None:
        return Path(config.data_dir).expanduser().resolve()
    value = os.environ.get(DATA_DIR_ENV)
    if value:
        return Path(value).expanduser().resolve()
    root = project_root()
    if root is not None:
        return root / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir("creditctl", appauthor=False)).resolve()


def state_url(config: RunConfig | None = None, folder: Path | None = None) -> str:
    """The state store URL of a config (``$<state_url_env>``), or without one ``$CREDITCTL_STATE_URL``;
    unset: the SQLite file ``state.sqlite`` in the data folder. A bad URL is a ConfigError naming the
    variable; ``postgres://`` and ``postgresql://`` mean PostgreSQL through psycopg."""
    env = config.state_url_env if config is not None else DEFAULT_STATE_ENV
    value = os.environ.get(env)
    if value:
        return _checked_url(env, value)
    folder = Path(folder).resolve() if folder is not None else data_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'state.sqlite'}"


def _checked_url(env: str, value: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(value.strip())
    except ArgumentError:
        raise ConfigError(f"{env}: not a database URL (expected e.g. postgresql://user@host/db or "
                          f"sqlite:////abs/path/state.sqlite)") from None
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise ConfigError(f"{env}: unknown database kind {url.drivername!r} in {display_url(value)} "
                          f"(use postgresql://... or sqlite:///...)") from None
    return url.render_as_string(hide_password=False)


def display_url(url: str) -> str:
    """A store URL with its password hidden (for summaries and messages)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable URL)"


def new_sqlite_store(url: str) -> Path | None:
    """The file of a SQLite store URL whose file does not exist yet (opening it creates an empty store)."""
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    path = Path(database)
    return None if path.exists() else path


def _resolve(base: Path, value: str | Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a run config; relative paths resolve against the file's folder."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
        try:  # the node tree too: every error is located at file:line:column
            root = loader.get_single_node()
            raw = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with keys erp, rules, writeback, ...")
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:  # every problem, one line each, in file order
        raise ConfigError("\n".join(_located_errors(path, root, exc))) from exc
    base = path.resolve().parent
    options = dict(config.erp.options)
    if "path" in options:
        options["path"] = str(_resolve(base, options["path"]))
    update: dict[str, Any] = {
        "rules": [_resolve(base, r) for r in config.rules],
        "erp": config.erp.model_copy(update={"options": options}),
    }
    if config.data_dir is not None:
        update["data_dir"] = _resolve(base, config.data_dir)
    return config.model_copy(update=update)


#: the model of each nested section, for the allowed keys of an unknown one
_SECTIONS: dict[str, type[BaseModel]] = {"erp": ErpConfig}


def _located_errors(path: Path, root: yaml.Node, exc: ValidationError) -> list[str]:
    """``file:line:column: key.path: message`` for every validation error, sorted by position;
    unknown keys with a did-you-mean (else the allowed keys), Literal fields with their values."""
    from etl.rules.lint import (  # the rule lint's; imported only on errors
        did_you_mean,
        node_position,
    )

    found = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        model = _SECTIONS.get(str(loc[0]), RunConfig) if len(loc) > 1 else RunConfig
        if err["type"] == "extra_forbidden":
            allowed = list(model.model_fields)
            hint = did_you_mean(str(loc[-1]), allowed, f"allowed: {', '.join(allowed)}")
            found.append((node_position(root, loc, want_key=True), f"{where}: unknown key ({hint})"))
            continue
        field = model.model_fields.get(str(loc[-1])) if loc else None
        choices = [str(c) for c in get_args(field.annotation)] \
            if field is not None and get_origin(field.annotation) is Literal else []
        if err["type"] == "literal_error" and choices:
            guess = difflib.get_close_matches(str(err["input"]), choices, n=1, cutoff=0.6)
            hint = f"; did you mean '{guess[0]}'?" if guess else ""
            msg = f"{err['input']!r} is not one of {' | '.join(choices)}{hint}"
        elif err["type"] == "value_error":  # our validators' own sentence, without pydantic's prefix
            msg = str(err.get("ctx", {}).get("error", err["msg"]))
        elif err["type"] == "missing":
            msg = "required key missing"
        else:
            msg = err["msg"]
        found.append((node_position(root, loc), f"{where}: {msg}"))
    return [f"{path}:{line}:{column}: {text}" for (line, column), text in sorted(found)]


def dump_config(config: RunConfig, path: str | Path) -> None:
    """Write a config file (used by `creditctl demo`); an unset ``data_dir`` is left out."""
    data = config.model_dump(mode="json")
    if data.get("data_dir") is None:
        data.pop("data_dir", None)
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def run_dir(run_id: str, config: RunConfig | None = None) -> Path:
    """Where one run's artifacts (quarantine, plan, decisions, report) are written: <data_dir>/runs/<id>."""
    path = data_dir(config) / "runs" / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path
