"""Rule-change simulation (SPEC §8): candidate rules vs the previous ones on current ERP data.

The job ``rule_change_simulation`` reads the ERP through the connector, computes the positions
once and the decisions twice (baseline and candidate rule files, with the state store's active
overrides, exactly as ``creditctl simulate``), and attaches the decision diff (etl.simulate) to
its run: ``simulation_diff.csv`` in the run folder and metadata in the UI. It has no writeback
step and never calls ``connector.apply``: nothing is written to the ERP or the audit trail.

Rule snapshots: the sensor (assets/sensors.py) copies every rule-file set it sees into
``data_dir()/rule_snapshots/<sha256>/`` so that a later change can still be compared with the
files as they were. Both sides of a simulation are read from snapshots, so the run evaluates
exactly the bytes whose hash names it, even when the live files change again meanwhile.
"""


import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from dagster import Config, Failure, MetadataValue, OpExecutionContext, Output, job, op

from assets.provenance import run_provenance
from assets.resources import CreditControlSettings, ErpResource, StateStoreResource
from etl.config import data_dir
from etl.extract import Extract
from etl.rules import RuleLintError, RuleSet, load_ruleset
from etl.simulate import DecisionDiff, simulate_rules

JOB_NAME = "rule_change_simulation"
TAG_FROM = "creditctl/rules_from"
TAG_TO = "creditctl/rules_to"
DIFF_FILE = "simulation_diff.csv"
_MANIFEST = "manifest.json"
_TABLE_ROWS = 100  # customers listed in the UI; the CSV has them all
#: the per-kind counts shown in the UI: kind -> the etl.simulate deltas it covers
COUNTED = {
    "newly_blocked": ("newly_blocked",),
    "newly_held": ("newly_held",),
    "newly_prepayment": ("newly_prepayment",),
    "limit_cut": ("limit_cut",),
    "released": ("released_block", "released_hold", "released_prepayment"),
}


# --- rule snapshots -----------------------------------------------------------------------------
def snapshot_root() -> Path:
    return data_dir() / "rule_snapshots"


@dataclass(frozen=True)
class RuleSnapshot:
    sha256: str
    rules: tuple[Path, ...]  # the snapshot copies of the configured rule files, in config order


def snapshot_rules(ruleset: RuleSet, given: Sequence[Path]) -> RuleSnapshot:
    """Copy a loaded rule set's files (includes too) into ``rule_snapshots/<sha256>/``, once.

    The files keep their layout relative to their common folder, so includes resolve inside the
    snapshot as they did outside.
    """
    existing = read_snapshot(ruleset.sha256)
    if existing is not None:
        return existing
    files = [Path(p).resolve() for p in dict.fromkeys([*map(str, ruleset.paths), *map(str, given)])]
    base = Path(os.path.commonpath([str(f.parent) for f in files]))
    root = snapshot_root()
    root.mkdir(parents=True, exist_ok=True)
    # built aside and renamed into place: a half-written snapshot is never read
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        for f in files:
            target = staging / f.relative_to(base)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
        manifest = {"sha256": ruleset.sha256, "rules": [str(Path(g).resolve().relative_to(base)) for g in given],
                    "source": [str(Path(g).resolve()) for g in given]}
        (staging / _MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        staging.rename(root / ruleset.sha256)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if read_snapshot(ruleset.sha256) is None:  # not a concurrent writer that won the rename
            raise
    snapshot = read_snapshot(ruleset.sha256)
    assert snapshot is not None  # written just above
    return snapshot


def read_snapshot(sha256: str) -> RuleSnapshot | None:
    """The snapshot of a rule set by its hash; None when it was never taken (or was deleted)."""
    folder = snapshot_root() / sha256
    try:
        rules = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))["rules"]
    except (OSError, ValueError, KeyError, TypeError):  # absent or damaged: as if never taken
        return None
    return RuleSnapshot(sha256, tuple(folder / r for r in rules))


# --- the job ------------------------------------------------------------------------------------
class SimulationConfig(Config):
    """Run config the sensor writes: both rule-file sets (snapshot paths) and their hashes."""

    baseline_rules: list[str]
    candidate_rules: list[str]
    baseline_sha256: str
    candidate_sha256: str
    as_of: str = ""  # ISO date; empty = the settings resource's (today in the configured timezone)


def _load(paths: list[str], expected: str, side: str) -> RuleSet:
    try:
        ruleset = load_ruleset(paths)
    except RuleLintError as exc:
        raise Failure(description=f"{side} rules: {exc}") from exc
    if ruleset.sha256 != expected:  # a snapshot edited by hand would compare the wrong policy
        raise Failure(description=f"{side} rules {paths[0]}: sha256 {ruleset.sha256[:12]} is not the expected "
                                  f"{expected[:12]}; delete {snapshot_root()} and let the sensor start over")
    return ruleset


def diff_metadata(diff: DecisionDiff) -> dict[str, object]:
    """Counts per kind, exposure and the customers as a markdown table, for the Dagster UI."""
    rows = diff.rows
    changes = rows["changes"].astype("string")  # an empty diff has no string column
    meta: dict[str, object] = {"affected_customers": len(rows)}
    for name, deltas in COUNTED.items():  # customers with any of the kind's deltas
        meta[name] = int(changes.str.contains(rf"(?:^|;)(?:{'|'.join(deltas)})(?:;|$)").sum())
    meta["exposure_affected"] = round(float(rows["exposure"].sum()), 2)
    by_company = rows.groupby("company")["exposure"].sum().round(2)
    meta["exposure_affected_by_company"] = MetadataValue.json({str(k): float(v) for k, v in by_company.items()})
    # DecisionDiff.summary() cannot split the changes of an empty diff
    meta["summary"] = MetadataValue.md(diff.summary().to_markdown(index=False, floatfmt=",.2f") if len(rows) else
                                       "no customer is decided differently")
    meta["customers"] = MetadataValue.md(_customer_table(rows))
    return meta


def _customer_table(rows: pd.DataFrame) -> str:
    if rows.empty:
        return "no customer is decided differently"
    top = rows.sort_values("exposure", ascending=False, kind="stable").head(_TABLE_ROWS)
    table = pd.DataFrame({
        "company": top["company"], "customer": top["customer_id"],
        "action": top["baseline_action"].fillna("none") + " → " + top["candidate_action"].fillna("none"),
        "exposure": top["exposure"].map(lambda v: f"{v:,.2f}"),
        "changes": top["changes"].str.replace(";", ", "),
    }).to_markdown(index=False)
    more = len(rows) - len(top)
    return table + (f"\n\n… and {more} more (by exposure); all in {DIFF_FILE}" if more else "")


@op(description="Baseline vs candidate rules on the ERP's current data; writes the diff to the run folder. "
                "Reads only: no ERP write, no audit row.")
def simulate_rule_change(
    context: OpExecutionContext, config: SimulationConfig, settings: CreditControlSettings,
    erp: ErpResource, state_store: StateStoreResource,
) -> Output[pd.DataFrame]:
    baseline = _load(config.baseline_rules, config.baseline_sha256, "baseline")
    candidate = _load(config.candidate_rules, config.candidate_sha256, "candidate")
    as_of = dt.date.fromisoformat(config.as_of) if config.as_of else settings.as_of_date()
    companies = settings.companies()
    connector = erp.connector()
    extract = Extract(**{e: getattr(connector, f"read_{e}")(companies) for e in Extract.entities()})
    store = state_store.store()
    owned = run_provenance(context.log, store, connector, companies, apply_mode=False).owned
    overrides = store.overrides(companies=companies, active_on=as_of)
    _, diff = simulate_rules(extract, baseline, candidate, as_of, owned, overrides)
    path = settings.run_dir(context.run_id) / DIFF_FILE
    diff.rows.to_csv(path, index=False)
    context.log.info(f"{len(diff.rows)} customer(s) decided differently by rules {config.candidate_sha256[:12]} "
                     f"than by {config.baseline_sha256[:12]}, as of {as_of}; nothing was written to the ERP")
    return Output(diff.rows, metadata={
        **diff_metadata(diff),
        "baseline_sha256": config.baseline_sha256,
        "candidate_sha256": config.candidate_sha256,
        "as_of": as_of.isoformat(),
        "diff_csv": MetadataValue.path(str(path.resolve())),
    })


@job(name=JOB_NAME, tags={"creditctl/kind": "simulation"},
     description="Rule-change simulation: the decisions the changed rule files would make on the ERP's current "
                 "data, diffed against the previous rule files. Writes nothing to the ERP.")
def rule_change_simulation() -> None:
    simulate_rule_change()
